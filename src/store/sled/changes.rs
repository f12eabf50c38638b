//! The change log as watchers read it (the session entries of the `changes` tree), and its
//! pruning, which never leaves a watcher a silent gap.

use super::{K_CHANGES_FROM, K_REVISION, SledStore, revision_key, u64_of};
use crate::domain::Change;
use crate::store::StoreError;
use crate::store::records::decode_change;

impl SledStore {
    pub(super) fn changes(&self, after: u64, upto: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.check_resume(after)?;
        // Once stopped, entries after the last good flush are of unknown outcome: not shown.
        let upto = self.readable_upto(upto);
        if upto <= after {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for item in self.changes.range((after + 1).to_be_bytes()..=upto.to_be_bytes()) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            // People's entries are the log's too (it commits every write); watchers see sessions.
            out.extend(decode_change(revision_key(&k)?, &v)?);
        }
        // Pruning moves `changes_from` before it deletes: checked again, so a prune that ran
        // during the read shows as a refusal, never as a silent gap.
        self.check_resume(after)?;
        Ok(out)
    }

    /// Refuses a resume point whose following entries were pruned.
    fn check_resume(&self, after: u64) -> Result<(), StoreError> {
        let oldest = self.changes_from()?;
        if after.saturating_add(1) < oldest {
            return Err(StoreError::Compacted { after, oldest });
        }
        Ok(())
    }

    pub(super) fn changes_from(&self) -> Result<u64, StoreError> {
        Ok(u64_of(self.meta.get(K_CHANGES_FROM)?).max(1))
    }

    pub(super) fn prune_changes(&self, keep: u64) -> Result<(), StoreError> {
        let applied = self.revision()?;
        let cut = applied.saturating_sub(keep);
        if cut < self.changes_from()? {
            return Ok(());
        }
        // Watchers are told first, then the entries go: a watcher never reads a silent gap.
        // The watermark goes first of all: recovery never needs an entry at or before it.
        self.meta.insert(K_REVISION, &applied.to_be_bytes())?;
        self.meta.insert(K_CHANGES_FROM, &(cut + 1).to_be_bytes())?;
        for key in self.changes.range(..=cut.to_be_bytes()).keys() {
            self.changes.remove(key?)?;
        }
        Ok(())
    }
}
