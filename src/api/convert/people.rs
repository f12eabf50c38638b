//! People: protobuf to domain through one field table, and back.

use prost_types::FieldMask;

use super::scalars::{
    Field, add_rules, copied, feed_urls, masked, optional_email, optional_language, patch, role, status, timestamp,
};
use super::sessions::slot_out;
use crate::domain::{Person, PersonId, PersonPatch, PersonSlot, RecordMeta, TimeZoneName, Violations};
use crate::links::FeedLinks;
use crate::pb;

/// The writable fields of a person (id, etag and the output-only fields are not).
pub(super) const PERSON_FIELDS: &[Field<pb::Person, PersonPatch>] = &[
    copied!("name", name => name),
    copied!("honorific", honorific => honorific),
    copied!("position", position => position),
    copied!("affiliation", affiliation => affiliation),
    Field {
        name: "email",
        is_set: |p| !p.email.is_empty(),
        apply: |v, f, p, out| out.email = optional_email(v, f, &p.email),
    },
    Field {
        name: "time_zone",
        is_set: |p| !p.time_zone.is_empty(),
        apply: |v, f, p, out| out.time_zone = optional_time_zone(v, f, &p.time_zone),
    },
    Field {
        name: "language",
        is_set: |p| !p.language.is_empty(),
        apply: |v, f, p, out| out.language = optional_language(v, f, &p.language),
    },
];

/// An optional IANA name, validated as a session's is; a malformed one is recorded and read as
/// absent (as `scalars::optional_email` does).
fn optional_time_zone(v: &mut Violations, field: &str, s: &str) -> Option<Option<TimeZoneName>> {
    if s.is_empty() { Some(None) } else { Some(v.check(field, TimeZoneName::parse(s))) }
}

/// The person fields an UpdatePerson applies, parsed; `field` is the message's path ("person").
pub fn person_patch(v: &mut Violations, field: &str, p: &pb::Person, mask: Option<&FieldMask>) -> PersonPatch {
    let fields = masked(v, PERSON_FIELDS, p, mask);
    patch(v, field, p, fields)
}

/// A whole new person, as CreatePerson takes it: parse errors and the domain's rules in one
/// answer (a malformed field holds a placeholder while the rules are checked).
pub fn new_person(v: &mut Violations, field: &str, id: Option<PersonId>, p: &pb::Person) -> Person {
    let mut out = Person {
        id: id.unwrap_or_else(PersonId::generate),
        name: String::new(),
        honorific: String::new(),
        position: String::new(),
        affiliation: String::new(),
        email: None,
        time_zone: None,
        language: None,
        meta: RecordMeta::default(),
    };
    patch(v, field, p, PERSON_FIELDS).apply(&mut out);
    if !v.is_empty() {
        add_rules(v, field, out.validate());
    }
    out
}

pub fn person_out(p: &Person, links: &FeedLinks) -> pb::Person {
    pb::Person {
        id: p.id.to_string(),
        name: p.name.clone(),
        honorific: p.honorific.clone(),
        position: p.position.clone(),
        affiliation: p.affiliation.clone(),
        email: p.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        time_zone: p.time_zone.as_ref().map(|z| z.to_string()).unwrap_or_default(),
        language: p.language.as_ref().map(|l| l.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(p.meta.create_time)),
        update_time: Some(timestamp(p.meta.update_time)),
        etag: p.meta.etag(),
        feed_urls: Some(feed_urls(links.person(p.id.as_str()))),
    }
}

pub fn person_slot_out(p: &PersonSlot) -> pb::PersonSlot {
    pb::PersonSlot {
        session_id: p.session_id.to_string(),
        session_title: p.session_title.clone(),
        time_zone: p.time_zone.to_string(),
        session_status: status(p.session_status),
        slot: Some(slot_out(&p.slot)),
        roles: p.roles.iter().map(|r| role(*r)).collect(),
    }
}
