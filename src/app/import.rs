//! Import orchestration: what happens to each record of an import file (modes, outcomes, the
//! loop over the file), and export. The file format itself is [`crate::transfer`]'s, which
//! only converts between JSON and domain values and knows nothing of the store.

use super::{Agenda, fill_times, now, unknown_person};
use crate::domain::{Person, Session};
use crate::error::Error;
use crate::store::{Expect, StoreError};
use crate::transfer::{self, FileError};

/// Why an import stopped: the file (nothing was written), or a write.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Agenda(#[from] Error),
}

/// What an import does with a record whose id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Leave stored records exactly as they are; create only the new ones.
    #[default]
    SkipExisting,
    /// Replace stored records by the file's, as an edit would: sequence numbers go past the
    /// stored ones, slots the file lacks are shown cancelled; identical records are left alone.
    Replace,
}

/// What importing one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The id was new.
    Created,
    /// The stored record was replaced by the file's (replace mode).
    Replaced,
    /// The stored record already held what the file holds (replace mode).
    Unchanged,
    /// The stored record was left as it is (skip-existing mode).
    Skipped,
}

/// How many records of one kind each outcome had.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

impl ImportCounts {
    fn add(&mut self, outcome: ImportOutcome) {
        *match outcome {
            ImportOutcome::Created => &mut self.created,
            ImportOutcome::Replaced => &mut self.replaced,
            ImportOutcome::Unchanged => &mut self.unchanged,
            ImportOutcome::Skipped => &mut self.skipped,
        } += 1;
    }
}

impl std::fmt::Display for ImportCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { created, replaced, unchanged, skipped } = self;
        write!(f, "{created} created, {replaced} replaced, {unchanged} unchanged, {skipped} skipped")
    }
}

/// What an import did, per kind of record; shown as one line
/// (`sessions: 1 created, 0 replaced, 0 unchanged, 0 skipped; people: ...`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub sessions: ImportCounts,
    pub people: ImportCounts,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sessions: {}; people: {}", self.sessions, self.people)
    }
}

/// Imports a file: people first (sessions name them), then sessions. The whole file is
/// checked before anything is written.
pub async fn import(agenda: &Agenda, json: &str, mode: ImportMode) -> Result<ImportSummary, ImportError> {
    let (people, sessions) = transfer::parse(json)?;
    let mut summary = ImportSummary::default();
    for p in people {
        summary.people.add(agenda.import_person(p, mode).await?);
    }
    for s in sessions {
        summary.sessions.add(agenda.import_session(s, mode).await?);
    }
    Ok(summary)
}

/// Exports every person and session, as one consistent snapshot.
pub async fn export(agenda: &Agenda) -> Result<String, Error> {
    let (people, sessions, _) = agenda.snapshot().await?;
    Ok(transfer::render(&people, &sessions))
}

impl Agenda {
    /// Writes a session as loaded from an import file. A new id is created as given (times,
    /// sequence numbers; times missing from the file are now). A stored one is left exactly
    /// as it is with [`ImportMode::SkipExisting`]; with [`ImportMode::Replace`] it is replaced
    /// as an edit would be ([`Session::replace_over`]: sequences only go up, slots the file
    /// lacks become removed slots), or left alone when the file holds the same session.
    pub async fn import_session(&self, mut s: Session, mode: ImportMode) -> Result<ImportOutcome, Error> {
        s.validate(&self.limits)?;
        s.sort_slots();
        let current = self.store.get_session(&s.id).await?;
        let (expect, outcome) = match (&current, mode) {
            (None, _) => {
                fill_times(&mut s.meta);
                (Expect::Absent, ImportOutcome::Created)
            }
            (Some(_), ImportMode::SkipExisting) => return Ok(ImportOutcome::Skipped),
            (Some(old), ImportMode::Replace) => {
                if !s.replace_over(old, now()) {
                    return Ok(ImportOutcome::Unchanged);
                }
                (Expect::Revision(old.meta.revision), ImportOutcome::Replaced)
            }
        };
        let rev = self.write(|st| st.put_session(&s, expect)).await.map_err(|e| match e {
            StoreError::UnknownPerson(p) => unknown_person(&s, &p),
            e => e.into(),
        })?;
        self.committed(rev);
        Ok(outcome)
    }

    /// Writes a person as loaded from an import file, by the same rules as
    /// [`Agenda::import_session`]: a replaced person keeps its creation time and is updated now.
    pub async fn import_person(&self, mut p: Person, mode: ImportMode) -> Result<ImportOutcome, Error> {
        p.validate()?;
        let current = self.store.get_person(&p.id).await?;
        let (expect, outcome) = match (&current, mode) {
            (None, _) => {
                fill_times(&mut p.meta);
                (Expect::Absent, ImportOutcome::Created)
            }
            (Some(_), ImportMode::SkipExisting) => return Ok(ImportOutcome::Skipped),
            (Some(old), ImportMode::Replace) => {
                p.meta = old.meta;
                if p == *old {
                    return Ok(ImportOutcome::Unchanged);
                }
                p.meta.update_time = now();
                (Expect::Revision(old.meta.revision), ImportOutcome::Replaced)
            }
        };
        let r = self.write(|st| st.put_person(&p, expect)).await.map_err(Error::from);
        self.counted(&p.id, r).map(|_| outcome)
    }
}
