//! Protobuf <-> domain conversion, at the edge.
//!
//! Incoming messages are parsed field by field into domain values; every problem is recorded
//! as a field violation with the path a client sent (`session.slots[1].start_time`). Each
//! message's writable fields are one table (`scalars::Field`): a row holds the field's mask
//! name, whether a request sets it, and how it is parsed. Writes with a field mask parse only
//! the named fields, so an unrelated malformed field cannot block them; creates parse every
//! field and check the domain's rules as well, so one answer lists every problem.
//!
//! `report` is how a field that must hold a value says it failed (`Reported`, made only by
//! recording why); `scalars` holds ids, timestamps, enums and the field-table machinery;
//! `sessions` the session, slot, participant, material and organizer messages; `people` the
//! person. Whole requests are put together from these in `requests`.

mod people;
mod report;
mod scalars;
mod schedule;
mod sessions;

pub use people::{new_person, person_out, person_patch, person_slot_out};
pub use report::{Report, Reported, each, request};
pub use scalars::{
    etag, feed_urls, id, optional_id, parse_optional_time, partstat, person_id, person_ids, session_id, slot_id,
    status_filter, timestamp,
};
pub use schedule::{busy_out, conflict_out, created_out, describe as describe_conflict};
pub use sessions::{
    ParticipantPatch, View, new_session, new_slot, participant, participant_patch, session_out, session_patch,
    session_view, session_view_out, slot_out, slot_patch,
};

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::scalars::Field;
    use super::{people, sessions};
    use crate::pb;

    /// The field names of `agenda.v1.<message>`, from the descriptor set the server serves.
    fn proto_fields(message: &str) -> Vec<String> {
        let set = FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
        let m = set
            .file
            .iter()
            .filter(|f| f.package() == "agenda.v1")
            .flat_map(|f| &f.message_type)
            .find(|m| m.name() == message)
            .unwrap_or_else(|| panic!("no message {message}"));
        m.field.iter().map(|f| f.name().to_owned()).collect()
    }

    /// Every field of the message is in the table or named as not writable, once, and an
    /// empty message sets none of them.
    fn check<M: Default, P>(message: &str, table: &[Field<M, P>], not_writable: &[&str]) {
        let mut names: Vec<&str> = table.iter().map(|f| f.name).chain(not_writable.iter().copied()).collect();
        names.sort();
        let mut want = proto_fields(message);
        want.sort();
        assert_eq!(names, want, "{message}: each field once, writable or not");
        let empty = M::default();
        let set: Vec<&str> = table.iter().filter(|f| (f.is_set)(&empty)).map(|f| f.name).collect();
        assert!(set.is_empty(), "{message}: an empty message sets {set:?}");
    }

    #[test]
    fn each_writable_field_has_one_row_and_every_other_field_is_output_only() {
        let output_only = ["create_time", "update_time", "etag", "sequence", "feed_urls"];
        check::<pb::Session, _>("Session", sessions::SESSION_FIELDS, &[&["id"][..], &output_only].concat());
        check::<pb::Slot, _>("Slot", sessions::SLOT_FIELDS, &["id", "sequence", "answers"]);
        check::<pb::Participant, _>("Participant", sessions::PARTICIPANT_FIELDS, &["person_id"]);
        check::<pb::Person, _>(
            "Person",
            people::PERSON_FIELDS,
            &["id", "create_time", "update_time", "etag", "feed_urls"],
        );
    }
}
