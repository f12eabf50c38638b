//! The stored form of a person (the `people` tree; etcd's `p/` keys).

use serde::{Deserialize, Serialize};

use super::{MetaRecord, StoreError, Unrevisioned, corrupt, encode, meta_of, meta_record};
use crate::domain::{Email, LanguageTag, Person, PersonId, TimeZoneName};

#[derive(Serialize, Deserialize)]
struct PersonRecord {
    id: String,
    name: String,
    honorific: String,
    position: String,
    affiliation: String,
    email: Option<String>,
    meta: MetaRecord,
}

/// What a person record holds beyond `PersonRecord`, encoded after it. A record written
/// before it existed ends at `PersonRecord` and reads as no time zone (postcard's
/// `take_from_bytes` returns the bytes left over), so adding it needed no format bump; older
/// binaries ignore it (`from_bytes` ignores trailing bytes). A later field goes in a further
/// tail after this one, never inside it.
#[derive(Serialize, Deserialize, Default)]
struct PersonTail {
    time_zone: Option<String>,
}

/// Encoded after a [`PersonTail`]: the language the person reads (BCP 47), for their
/// e-mails. Absent in older records: no language.
#[derive(Serialize, Deserialize, Default)]
struct LanguageTail {
    language: Option<String>,
}

/// A person for the `people` tree, its revision left to fill in (`meta.revision` is the last
/// field of `PersonRecord`; the tail follows it).
pub fn unrevisioned_person(p: &Person) -> Unrevisioned {
    let tail = person_tail(p);
    let mut bytes = encode(&person_record(p, 0));
    bytes.extend_from_slice(&tail);
    Unrevisioned::cut(bytes, tail.len())
}

/// Encodes a person at its own revision (the sled engine encodes through [`Unrevisioned`];
/// the etcd engine stores records as they are).
#[cfg(any(test, feature = "etcd"))]
pub fn encode_person(p: &Person) -> Vec<u8> {
    let mut bytes = encode(&person_record(p, p.meta.revision));
    bytes.extend_from_slice(&person_tail(p));
    bytes
}

fn person_tail(p: &Person) -> Vec<u8> {
    let tail = PersonTail { time_zone: p.time_zone.as_ref().map(|z| z.as_str().to_owned()) };
    let mut bytes = encode(&tail);
    bytes.extend(encode(&LanguageTail { language: p.language.as_ref().map(|l| l.as_str().to_owned()) }));
    bytes
}

fn person_record(p: &Person, revision: u64) -> PersonRecord {
    PersonRecord {
        id: p.id.as_str().to_owned(),
        name: p.name.clone(),
        honorific: p.honorific.clone(),
        position: p.position.clone(),
        affiliation: p.affiliation.clone(),
        email: p.email.as_ref().map(|e| e.as_str().to_owned()),
        meta: meta_record(&p.meta, revision),
    }
}

/// Decodes a record of the `people` tree.
pub fn decode_person(bytes: &[u8]) -> Result<Person, StoreError> {
    let (r, rest): (PersonRecord, &[u8]) = postcard::take_from_bytes(bytes).map_err(corrupt)?;
    let (tail, rest): (PersonTail, &[u8]) = if rest.is_empty() {
        (PersonTail::default(), rest)
    } else {
        postcard::take_from_bytes(rest).map_err(corrupt)?
    };
    let language: LanguageTail =
        if rest.is_empty() { LanguageTail::default() } else { postcard::from_bytes(rest).map_err(corrupt)? };
    Ok(Person {
        id: PersonId::try_from(r.id).map_err(corrupt)?,
        name: r.name,
        honorific: r.honorific,
        position: r.position,
        affiliation: r.affiliation,
        email: r.email.map(|e| Email::try_from(e).map_err(corrupt)).transpose()?,
        time_zone: tail.time_zone.map(|z| TimeZoneName::try_from(z).map_err(corrupt)).transpose()?,
        language: language.language.map(|l| LanguageTag::try_from(l).map_err(corrupt)).transpose()?,
        meta: meta_of(r.meta)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_spliced_at_a_revision_is_the_person_encoded_at_it() {
        let mut p = super::super::demo().0.into_iter().next().unwrap();
        p.meta.revision = 300;
        assert_eq!(unrevisioned_person(&p).at(300), encode_person(&p));
        p.time_zone = Some(TimeZoneName::parse("America/New_York").unwrap());
        assert_eq!(unrevisioned_person(&p).at(300), encode_person(&p));
    }

    /// The time zone is a tail after the original record: a record written before it existed
    /// reads as no time zone, and one written with it reads back whole.
    #[test]
    fn a_person_record_without_the_time_zone_tail_reads_as_no_time_zone() {
        let mut p = super::super::demo().0.into_iter().next().unwrap();
        p.meta.revision = 7;
        let old = postcard::to_stdvec(&person_record(&p, 7)).unwrap();
        assert_eq!(decode_person(&old).unwrap(), p);
        p.time_zone = Some(TimeZoneName::parse("Asia/Kolkata").unwrap());
        assert_eq!(decode_person(&encode_person(&p)).unwrap(), p);
        let mut unknown_zone = old.clone();
        unknown_zone.extend(postcard::to_stdvec(&PersonTail { time_zone: Some("Mars/Olympus".into()) }).unwrap());
        assert!(matches!(decode_person(&unknown_zone), Err(StoreError::Corrupt(_))));
    }

    /// The language is a tail after the time zone's: a record with the time zone alone (as
    /// written before languages) reads as no language; one with both reads back whole.
    #[test]
    fn a_person_record_without_the_language_tail_reads_as_no_language() {
        let mut p = super::super::demo().0.into_iter().next().unwrap();
        p.meta.revision = 9;
        p.time_zone = Some(TimeZoneName::parse("Asia/Kolkata").unwrap());
        let mut old = postcard::to_stdvec(&person_record(&p, 9)).unwrap();
        old.extend(postcard::to_stdvec(&PersonTail { time_zone: Some("Asia/Kolkata".into()) }).unwrap());
        assert_eq!(decode_person(&old).unwrap(), p);
        p.language = Some(LanguageTag::parse("fr-CH").unwrap());
        assert_eq!(decode_person(&encode_person(&p)).unwrap(), p);
        assert_eq!(unrevisioned_person(&p).at(9), encode_person(&p));
    }
}
