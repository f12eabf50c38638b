//! People: speakers, moderators and participants, shared across sessions.

use super::{Email, LanguageTag, PersonId, RecordMeta, TimeZoneName, Violations, check_text};

/// Someone who speaks, moderates or takes part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    /// Short title such as "Amb." or "Dr".
    pub honorific: String,
    /// Position such as "Ambassador", "DPR", "Counsellor", "Economist".
    pub position: String,
    /// Organization or delegation, e.g. "Norway" for a WTO mission.
    pub affiliation: String,
    /// Needed for invites; optional otherwise.
    pub email: Option<Email>,
    /// Where the person lives (an IANA name), if known: their invite e-mails then give the
    /// times in their zone beside the session's.
    pub time_zone: Option<TimeZoneName>,
    /// The language they read (BCP 47), if known: their invite e-mails are written in it
    /// when agenda writes it, else in the session's or the server's.
    pub language: Option<LanguageTag>,
    pub meta: RecordMeta,
}

impl Person {
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new("");
        check_text(&mut v, "name", &self.name, 200, true, false);
        check_text(&mut v, "honorific", &self.honorific, 50, false, false);
        check_text(&mut v, "position", &self.position, 300, false, false);
        check_text(&mut v, "affiliation", &self.affiliation, 200, false, false);
        v.into_result()
    }

    /// "Amb. José Luís Cancela": the name as shown in agendas.
    pub fn display_name(&self) -> String {
        if self.honorific.is_empty() { self.name.clone() } else { format!("{} {}", self.honorific, self.name) }
    }

    /// Whether `needle` (already lower case) occurs in the name or the affiliation.
    pub fn matches_text(&self, needle: &str) -> bool {
        self.name.to_lowercase().contains(needle) || self.affiliation.to_lowercase().contains(needle)
    }
}

/// A change to some of a person's writable fields.
#[derive(Debug, Clone, Default)]
pub struct PersonPatch {
    pub name: Option<String>,
    pub honorific: Option<String>,
    pub position: Option<String>,
    pub affiliation: Option<String>,
    pub email: Option<Option<Email>>,
    pub time_zone: Option<Option<TimeZoneName>>,
    pub language: Option<Option<LanguageTag>>,
}

impl PersonPatch {
    pub fn apply(self, p: &mut Person) {
        if let Some(v) = self.name {
            p.name = v;
        }
        if let Some(v) = self.honorific {
            p.honorific = v;
        }
        if let Some(v) = self.position {
            p.position = v;
        }
        if let Some(v) = self.affiliation {
            p.affiliation = v;
        }
        if let Some(v) = self.email {
            p.email = v;
        }
        if let Some(v) = self.time_zone {
            p.time_zone = v;
        }
        if let Some(v) = self.language {
            p.language = v;
        }
    }
}
