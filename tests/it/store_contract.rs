//! The store contract (`agenda::store`'s module documentation), checked against every engine.
//!
//! Each check is a plain `async fn` over a fresh, empty `Arc<dyn Store>`; `contract_suite!`
//! runs all of them as separate tests for each engine listed at the bottom (a module per
//! engine: `store_contract::sled::...`). A new engine passes when it is added to that list and
//! every check passes; no check knows which engine it runs against.

use std::sync::Arc;

use agenda::domain::{
    Attempt, AttemptResult, ChangeKind, Delivery, Failure, FeedScope, FeedToken, Format, InviteMessage, InviteMethod,
    InviteRecord, LanguageTag, Organizer, PeopleQuery, Person, PersonCursor, PersonId, PersonSlotCursor,
    PersonSlotQuery, RecordMeta, RemovedSlot, Role, Session, SessionCursor, SessionFilter, SessionId, SessionQuery,
    SessionStatus, Slot, SlotId, SlotKind, SlotStatus, TimeZoneName, Timestamp, Visibility,
};
use agenda::store::{Expect, Kept, KeptResult, Once, SledStore, Store, StoreError};

/// A fresh, empty store of one engine, and whatever keeps it alive (sled: its directory).
struct Fresh {
    store: Arc<dyn Store>,
    _keep: Box<dyn Send>,
}

/// The sled engine, in a temporary directory.
async fn sled() -> Fresh {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(SledStore::open(dir.path()).expect("opening a sled store")).shared();
    Fresh { store, _keep: Box::new(dir) }
}

/// The etcd engine, on a three-member cluster of its own (`etcd_cluster`), under a prefix.
#[cfg(feature = "etcd")]
async fn etcd() -> Fresh {
    let cluster = crate::etcd_cluster::EtcdCluster::start().await;
    let store = cluster.store("contract/").await.shared();
    Fresh { store, _keep: Box::new(cluster) }
}

/// Every check, as one test per engine: `contract_suite!(engine, ...)`, where `engine()`
/// makes a [`Fresh`] store.
macro_rules! contract_suite {
    ($($engine:ident),+ $(,)?) => {$(
        contract_suite!(@engine $engine:
            a_written_record_reads_back_at_its_revision,
            creating_an_existing_id_is_refused_and_changes_nothing,
            a_stale_revision_is_refused_with_the_current_one,
            revisions_strictly_increase_across_sessions_and_people,
            the_change_log_holds_every_session_write_in_order_from_any_revision,
            a_pruned_resume_point_is_refused_as_compacted,
            a_session_naming_a_missing_person_is_refused_and_nothing_is_written,
            a_person_named_by_a_session_cannot_be_deleted,
            sessions_list_in_start_order_by_window_and_filter_and_page_by_cursor,
            people_list_in_name_order_and_by_text,
            person_slots_list_a_persons_slots_in_time_order,
            feed_tokens_round_trip_and_are_revoked,
            invite_records_keep_the_latest_message_and_its_failure,
            of_racing_writers_expecting_one_revision_exactly_one_wins,
            a_write_made_once_keeps_its_first_result_and_its_id_writes_nothing_more,
            of_racing_writers_with_one_request_id_exactly_one_writes,
            kept_results_past_their_window_are_swept_and_their_id_can_be_used_again,
            an_update_over_the_record_read_moves_its_index_entries_and_a_stale_read_is_refused,
        );
    )+};
    (@engine $engine:ident: $($check:ident),+ $(,)?) => {
        mod $engine {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let fresh = super::$engine().await;
                    super::$check(Arc::clone(&fresh.store)).await;
                }
            )+
            use std::sync::Arc;
        }
    };
}

contract_suite!(sled);
#[cfg(feature = "etcd")]
contract_suite!(etcd);

// ----- records -----

fn at(hour: i64) -> Timestamp {
    let base: Timestamp = "2026-03-20T00:00:00Z".parse().unwrap();
    Timestamp::from_second(base.as_second() + hour * 3600).unwrap()
}

fn pid(id: &str) -> PersonId {
    PersonId::parse(id).unwrap()
}

fn sid(id: &str) -> SessionId {
    SessionId::parse(id).unwrap()
}

pub(crate) fn person(id: &str, name: &str, affiliation: &str) -> Person {
    Person {
        id: pid(id),
        name: name.to_owned(),
        honorific: String::new(),
        position: String::new(),
        affiliation: affiliation.to_owned(),
        email: None,
        time_zone: None,
        language: Some(LanguageTag::parse("fr-CH").unwrap()),
        meta: RecordMeta::default(),
    }
}

fn slot(id: &str, from: i64, to: i64, speakers: &[&str], moderators: &[&str]) -> Slot {
    Slot {
        id: SlotId::parse(id).unwrap(),
        start: at(from),
        end: at(to),
        title: format!("slot {id}"),
        kind: SlotKind::Presentation,
        description: String::new(),
        speakers: speakers.iter().map(|p| pid(p)).collect(),
        moderators: moderators.iter().map(|p| pid(p)).collect(),
        materials: Vec::new(),
        allow_overlap: false,
        status: SlotStatus::Scheduled,
        sequence: 0,
        answers: Vec::new(),
    }
}

/// A session over [from, to) hours with one slot spanning it, on which `speakers` speak.
pub(crate) fn session(id: &str, from: i64, to: i64, speakers: &[&str]) -> Session {
    Session {
        id: sid(id),
        title: format!("session {id}"),
        description: String::new(),
        organizer: Organizer { name: "Friends of Multilateralism Group".into(), short_name: "FMG".into(), email: None },
        format: Format::Online,
        location: String::new(),
        join_url: None,
        time_zone: TimeZoneName::parse("UTC").unwrap(),
        start: at(from),
        end: at(to),
        status: SessionStatus::Scheduled,
        tags: Vec::new(),
        recording_url: None,
        materials: Vec::new(),
        expected_attendance: None,
        actual_attendance: None,
        visibility: Visibility::Public,
        slots: if speakers.is_empty() { Vec::new() } else { vec![slot("s1", from, to, speakers, &[])] },
        participants: Vec::new(),
        // Stored in a tail of its own (records before it lack it): kept by every engine.
        invite_participants: true,
        language: Some(LanguageTag::parse("es").unwrap()),
        removed_slots: Vec::new(),
        meta: RecordMeta::default(),
        sequence: 0,
    }
}

/// `record` as the store returns it after writing it at `revision`.
fn stored<T: Clone>(record: &T, revision: u64, meta: impl FnOnce(&mut T) -> &mut RecordMeta) -> T {
    let mut out = record.clone();
    meta(&mut out).revision = revision;
    out
}

fn ids(sessions: &[Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

// ----- the checks -----

async fn a_written_record_reads_back_at_its_revision(st: Arc<dyn Store>) {
    let p = person("ana", "Ana", "Norway");
    let p_rev = st.put_person(&p, Expect::Absent).await.unwrap();
    let s = session("one", 0, 2, &["ana"]);
    let s_rev = st.put_session(&s, Expect::Absent).await.unwrap();

    assert_eq!(st.get_person(&p.id).await.unwrap(), Some(stored(&p, p_rev, |p| &mut p.meta)));
    assert_eq!(st.get_session(&s.id).await.unwrap(), Some(stored(&s, s_rev, |s| &mut s.meta)));
    assert_eq!(st.get_session(&sid("other")).await.unwrap(), None);
    assert_eq!(st.get_person(&pid("other")).await.unwrap(), None);
    assert_eq!(st.revision().await.unwrap(), s_rev);
}

async fn creating_an_existing_id_is_refused_and_changes_nothing(st: Arc<dyn Store>) {
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    let rev = st.put_session(&session("one", 0, 2, &[]), Expect::Absent).await.unwrap();

    let again = session("one", 5, 6, &[]);
    assert!(matches!(st.put_session(&again, Expect::Absent).await, Err(StoreError::Exists)));
    let renamed = person("ana", "Someone else", "");
    assert!(matches!(st.put_person(&renamed, Expect::Absent).await, Err(StoreError::Exists)));

    assert_eq!(st.get_session(&sid("one")).await.unwrap().unwrap().start, at(0));
    assert_eq!(st.get_person(&pid("ana")).await.unwrap().unwrap().name, "Ana");
    assert_eq!(st.revision().await.unwrap(), rev);
}

async fn a_stale_revision_is_refused_with_the_current_one(st: Arc<dyn Store>) {
    let s = session("one", 0, 2, &[]);
    let first = st.put_session(&s, Expect::Absent).await.unwrap();
    let mut moved = session("one", 1, 3, &[]);
    let second = st.put_session(&moved, Expect::Revision(first)).await.unwrap();

    moved.title = "lost update".into();
    let refused = st.put_session(&moved, Expect::Revision(first)).await;
    assert!(matches!(refused, Err(StoreError::RevisionMismatch { current }) if current == second), "{refused:?}");
    let refused = st.delete_session(&s.id, Some(first)).await;
    assert!(matches!(refused, Err(StoreError::RevisionMismatch { current }) if current == second), "{refused:?}");
    let missing = st.put_session(&session("none", 0, 1, &[]), Expect::Revision(first)).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(st.get_session(&s.id).await.unwrap().unwrap().title, "session one");

    let p = person("ana", "Ana", "");
    let p_first = st.put_person(&p, Expect::Absent).await.unwrap();
    let p_second = st.put_person(&p, Expect::Revision(p_first)).await.unwrap();
    let refused = st.put_person(&p, Expect::Revision(p_first)).await;
    assert!(matches!(refused, Err(StoreError::RevisionMismatch { current }) if current == p_second), "{refused:?}");
    let refused = st.delete_person(&p.id, Some(p_first)).await;
    assert!(matches!(refused, Err(StoreError::RevisionMismatch { current }) if current == p_second), "{refused:?}");

    let deleted = st.delete_session(&s.id, Some(second)).await.unwrap();
    assert!(deleted > p_second);
    assert_eq!(st.get_session(&s.id).await.unwrap(), None);
}

async fn revisions_strictly_increase_across_sessions_and_people(st: Arc<dyn Store>) {
    assert_eq!(st.revision().await.unwrap(), 0, "an empty store is at revision 0");
    let mut revisions = vec![st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap()];
    revisions.push(st.put_session(&session("one", 0, 1, &["ana"]), Expect::Absent).await.unwrap());
    revisions.push(st.put_person(&person("bo", "Bo", ""), Expect::Absent).await.unwrap());
    let last = *revisions.last().unwrap();
    revisions.push(st.put_person(&person("bo", "Bo B.", ""), Expect::Revision(last)).await.unwrap());
    revisions.push(st.put_session(&session("two", 0, 1, &["bo"]), Expect::Absent).await.unwrap());
    revisions.push(st.delete_session(&sid("one"), None).await.unwrap());
    st.delete_person(&pid("ana"), None).await.unwrap();
    revisions.push(st.revision().await.unwrap());

    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    assert!(revisions[0] > 0);
    let two = st.get_session(&sid("two")).await.unwrap().unwrap();
    assert_eq!(two.meta.revision, revisions[4], "a record's revision is the one its write returned");
}

async fn the_change_log_holds_every_session_write_in_order_from_any_revision(st: Arc<dyn Store>) {
    let created = st.put_session(&session("one", 0, 1, &[]), Expect::Absent).await.unwrap();
    // A person write takes a revision but has no entry.
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    let other = st.put_session(&session("two", 0, 1, &[]), Expect::Absent).await.unwrap();
    let updated = st.put_session(&session("one", 2, 3, &["ana"]), Expect::Revision(created)).await.unwrap();
    let deleted = st.delete_session(&sid("one"), Some(updated)).await.unwrap();

    let upto = st.revision().await.unwrap();
    let all = st.changes(0, upto, 100).await.unwrap();
    let seen: Vec<(u64, ChangeKind, &str)> = all.iter().map(|c| (c.revision, c.kind, c.session.id.as_str())).collect();
    assert_eq!(
        seen,
        [
            (created, ChangeKind::Created, "one"),
            (other, ChangeKind::Created, "two"),
            (updated, ChangeKind::Updated, "one"),
            (deleted, ChangeKind::Deleted, "one"),
        ]
    );
    assert_eq!(all[2].session.start, at(2), "an entry holds the session as written");
    assert_eq!(all[3].session.start, at(2), "a deletion holds the last state");
    for after in 0..=upto {
        let tail: Vec<_> = all.iter().filter(|c| c.revision > after).cloned().collect();
        assert_eq!(st.changes(after, upto, 100).await.unwrap(), tail, "after {after}");
    }
    assert_eq!(st.changes(0, upto, 2).await.unwrap(), all[..2], "at most `limit`");
    assert_eq!(st.changes(0, other, 100).await.unwrap(), all[..2], "none past `upto`");
}

async fn a_pruned_resume_point_is_refused_as_compacted(st: Arc<dyn Store>) {
    let mut rev = st.put_session(&session("one", 0, 1, &[]), Expect::Absent).await.unwrap();
    for hour in 1..10 {
        rev = st.put_session(&session("one", hour, hour + 1, &[]), Expect::Revision(rev)).await.unwrap();
    }
    assert_eq!(st.changes_from().await.unwrap(), 1, "nothing pruned yet");
    st.prune_changes(3).await.unwrap();

    let from = st.changes_from().await.unwrap();
    assert_eq!(from, rev - 2, "the last 3 revisions are kept");
    let kept = st.changes(from - 1, rev, 100).await.unwrap();
    assert_eq!(kept.iter().map(|c| c.revision).collect::<Vec<_>>(), [rev - 2, rev - 1, rev]);
    for after in [0, from - 2] {
        let refused = st.changes(after, rev, 100).await;
        assert!(
            matches!(refused, Err(StoreError::Compacted { after: a, oldest }) if a == after && oldest == from),
            "after {after}: {refused:?}"
        );
    }
}

async fn a_session_naming_a_missing_person_is_refused_and_nothing_is_written(st: Arc<dyn Store>) {
    let rev = st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    let s = session("one", 0, 1, &["ana", "ghost"]);
    let refused = st.put_session(&s, Expect::Absent).await;
    assert!(matches!(&refused, Err(StoreError::UnknownPerson(p)) if p.as_str() == "ghost"), "{refused:?}");

    assert_eq!(st.get_session(&s.id).await.unwrap(), None);
    assert_eq!(st.revision().await.unwrap(), rev);
    assert_eq!(st.changes(0, u64::MAX, 10).await.unwrap(), []);
    assert_eq!(st.list_sessions(&SessionQuery::default(), 10).await.unwrap(), []);
    // Nothing counts "ana" as named: she can go.
    st.delete_person(&pid("ana"), None).await.unwrap();
}

async fn a_person_named_by_a_session_cannot_be_deleted(st: Arc<dyn Store>) {
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    st.put_session(&session("one", 0, 1, &["ana"]), Expect::Absent).await.unwrap();
    st.put_session(&session("two", 0, 1, &["ana"]), Expect::Absent).await.unwrap();
    let rev = st.revision().await.unwrap();

    let refused = st.delete_person(&pid("ana"), None).await;
    assert!(matches!(refused, Err(StoreError::PersonInUse { sessions: 2 })), "{refused:?}");
    assert!(st.get_person(&pid("ana")).await.unwrap().is_some());
    assert_eq!(st.revision().await.unwrap(), rev);

    st.delete_session(&sid("one"), None).await.unwrap();
    let two = st.get_session(&sid("two")).await.unwrap().unwrap();
    st.put_session(&session("two", 0, 1, &[]), Expect::Revision(two.meta.revision)).await.unwrap();
    st.delete_person(&pid("ana"), None).await.unwrap();
    assert_eq!(st.get_person(&pid("ana")).await.unwrap(), None);
}

async fn sessions_list_in_start_order_by_window_and_filter_and_page_by_cursor(st: Arc<dyn Store>) {
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    // "long" starts first and runs across the window [10, 12); "b" and "a" start together.
    let mut long = session("long", 0, 11, &[]);
    long.tags = vec!["Trade".into()];
    for s in [session("late", 20, 21, &["ana"]), session("b", 5, 6, &[]), session("a", 5, 6, &["ana"]), long] {
        st.put_session(&s, Expect::Absent).await.unwrap();
    }
    st.put_session(&session("in", 10, 11, &[]), Expect::Absent).await.unwrap();
    let list =
        async |filter: SessionFilter| st.list_sessions(&SessionQuery { filter, after: None }, 100).await.unwrap();

    assert_eq!(ids(&list(SessionFilter::default()).await), ["long", "a", "b", "in", "late"], "(start, id) order");
    let window = SessionFilter { from: Some(at(10)), to: Some(at(12)), ..SessionFilter::default() };
    assert_eq!(ids(&list(window).await), ["long", "in"], "sessions overlapping [from, to)");
    let person = SessionFilter { person: Some(pid("ana")), ..SessionFilter::default() };
    assert_eq!(ids(&list(person).await), ["a", "late"]);
    let tag = SessionFilter { tag: Some("trade".into()), ..SessionFilter::default() };
    assert_eq!(ids(&list(tag).await), ["long"]);

    let all = list(SessionFilter::default()).await;
    let mut paged = Vec::new();
    let mut after: Option<SessionCursor> = None;
    loop {
        let page = st
            .list_sessions(&SessionQuery { filter: SessionFilter::default(), after: after.clone() }, 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(SessionCursor { start: last.start, id: last.id.clone() });
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages strictly after the cursor, nothing missed or repeated");
}

async fn people_list_in_name_order_and_by_text(st: Arc<dyn Store>) {
    for p in
        [person("p3", "carla", "Chile"), person("p2", "Bo", "Norway"), person("p1", "Bo", ""), person("p4", "Ana", "")]
    {
        st.put_person(&p, Expect::Absent).await.unwrap();
    }
    let names = |people: Vec<Person>| people.into_iter().map(|p| p.id.to_string()).collect::<Vec<_>>();

    let all = st.list_people(&PeopleQuery::default(), 100).await.unwrap();
    assert_eq!(names(all), ["p4", "p1", "p2", "p3"], "(lower-case name, id) order");
    assert_eq!(names(st.list_people(&people_matching("nor"), 100).await.unwrap()), ["p2"], "text in the affiliation");
    assert_eq!(names(st.list_people(&people_matching("arl"), 100).await.unwrap()), ["p3"], "text in the name");
    let after = PersonCursor { name: "bo".into(), id: pid("p1") };
    assert_eq!(
        names(st.list_people(&PeopleQuery { text: String::new(), after: Some(after.clone()) }, 1).await.unwrap()),
        ["p2"],
        "after the cursor, at most `limit`"
    );
}

async fn person_slots_list_a_persons_slots_in_time_order(st: Arc<dyn Store>) {
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    st.put_person(&person("bo", "Bo", ""), Expect::Absent).await.unwrap();
    let mut s = session("one", 0, 4, &[]);
    s.slots =
        vec![slot("s1", 0, 1, &["ana"], &[]), slot("s2", 1, 2, &["bo"], &["ana"]), slot("s3", 2, 3, &["bo"], &[])];
    let mut cancelled = slot("s0", 3, 4, &["ana"], &[]);
    cancelled.status = SlotStatus::Cancelled;
    s.removed_slots = vec![RemovedSlot { slot: cancelled, removed_at: at(0) }];
    st.put_session(&s, Expect::Absent).await.unwrap();
    st.put_session(&session("two", -5, -4, &["ana"]), Expect::Absent).await.unwrap();

    let ana = pid("ana");
    let slots = async |from, to, after: Option<&PersonSlotCursor>, limit, removed| {
        let query = PersonSlotQuery { person: ana.clone(), from, to, after: after.cloned(), include_removed: removed };
        let found = st.person_slots(&query, limit).await.unwrap();
        found
            .into_iter()
            .map(|p| (p.session_id.to_string(), p.slot.id.to_string(), p.roles, p.removed))
            .collect::<Vec<_>>()
    };
    let row = |s: &str, slot: &str, roles: &[Role], removed| (s.to_owned(), slot.to_owned(), roles.to_vec(), removed);
    assert_eq!(
        slots(None, None, None, 100, false).await,
        [
            row("two", "s1", &[Role::Speaker], false),
            row("one", "s1", &[Role::Speaker], false),
            row("one", "s2", &[Role::Moderator], false)
        ]
    );
    assert_eq!(
        slots(Some(at(0)), Some(at(5)), None, 100, true).await,
        [
            row("one", "s1", &[Role::Speaker], false),
            row("one", "s2", &[Role::Moderator], false),
            row("one", "s0", &[Role::Speaker], true)
        ],
        "a window, removed slots included"
    );
    let after = PersonSlotCursor { start: at(0), session: sid("one"), slot: SlotId::parse("s1").unwrap() };
    assert_eq!(slots(None, None, Some(&after), 1, false).await, [row("one", "s2", &[Role::Moderator], false)]);
}

/// `put_session_over` (an update that hands the store the record it read): the old record's
/// index entries go whether the engine takes them from the caller's copy or reads them; a copy
/// no longer stored is refused as a stale revision, and one older than `expect` names is not
/// taken for the stored record.
async fn an_update_over_the_record_read_moves_its_index_entries_and_a_stale_read_is_refused(st: Arc<dyn Store>) {
    st.put_person(&person("ana", "Ana", ""), Expect::Absent).await.unwrap();
    st.put_person(&person("bo", "Bo", ""), Expect::Absent).await.unwrap();
    st.put_session(&session("one", 0, 2, &["ana"]), Expect::Absent).await.unwrap();
    let slots_of = async |who: &str| {
        let query = PersonSlotQuery { person: pid(who), from: None, to: None, after: None, include_removed: false };
        st.person_slots(&query, 10).await.unwrap().into_iter().map(|p| p.session_id.to_string()).collect::<Vec<_>>()
    };
    let first = st.get_session(&sid("one")).await.unwrap().unwrap();
    let mut to_bo = first.clone();
    to_bo.slots[0].speakers = vec![pid("bo")];
    let second = st.put_session_over(&to_bo, &first, Expect::Revision(first.meta.revision), None).await.unwrap();
    assert_eq!((slots_of("ana").await, slots_of("bo").await), (vec![], vec!["one".to_owned()]));

    let refused = st.put_session_over(&first, &first, Expect::Revision(first.meta.revision), None).await;
    assert!(matches!(refused, Err(StoreError::RevisionMismatch { current }) if current == second), "{refused:?}");
    assert_eq!((slots_of("ana").await, slots_of("bo").await), (vec![], vec!["one".to_owned()]));

    // The caller's copy is older than the revision it expects: the stored record's entries go.
    let third = st.put_session_over(&first, &first, Expect::Revision(second), None).await.unwrap();
    assert_eq!((slots_of("ana").await, slots_of("bo").await), (vec!["one".to_owned()], vec![]));
    assert_eq!(st.get_session(&sid("one")).await.unwrap().unwrap().meta.revision, third);
}

async fn feed_tokens_round_trip_and_are_revoked(st: Arc<dyn Store>) {
    let token = |scope| FeedToken {
        token: FeedToken::generate_secret(),
        scope,
        description: "for the tests".into(),
        create_time: at(0),
    };
    let mut tokens = vec![
        token(FeedScope::AllSessions),
        token(FeedScope::Session(sid("one"))),
        token(FeedScope::Person(pid("ana"))),
    ];
    for t in &tokens {
        st.put_feed_token(t).await.unwrap();
    }
    assert!(matches!(st.put_feed_token(&tokens[0]).await, Err(StoreError::Exists)));
    assert_eq!(st.get_feed_token(&tokens[1].token).await.unwrap().as_ref(), Some(&tokens[1]));

    tokens.sort_by(|a, b| a.token.cmp(&b.token));
    assert_eq!(st.list_feed_tokens(None, 100).await.unwrap(), tokens, "token order");
    assert_eq!(st.list_feed_tokens(Some(&tokens[0].token), 1).await.unwrap(), tokens[1..2]);

    st.delete_feed_token(&tokens[0].token).await.unwrap();
    assert_eq!(st.get_feed_token(&tokens[0].token).await.unwrap(), None);
    assert!(matches!(st.delete_feed_token(&tokens[0].token).await, Err(StoreError::NotFound)));
}

async fn invite_records_keep_the_latest_message_and_its_failure(st: Arc<dyn Store>) {
    let message = |slot: &str, person: &str, sequence| InviteMessage {
        session: sid("one"),
        // "": a participant's invite to the whole session.
        slot: (!slot.is_empty()).then(|| SlotId::parse(slot).unwrap()),
        person: pid(person),
        method: InviteMethod::Request,
        sequence,
    };
    let attempt = |slot: &str, person: &str, sequence, result| Attempt {
        message: message(slot, person, sequence),
        session_created: at(0),
        time: at(5),
        result,
    };
    let sent =
        |slot, person, sequence| attempt(slot, person, sequence, AttemptResult::Sent { role: Some(Role::Moderator) });
    let failed = |slot, person, sequence| {
        attempt(slot, person, sequence, AttemptResult::Failed { reason: "550 mailbox unavailable".into() })
    };
    st.record_invites(&[sent("s2", "ana", 1), sent("s1", "bo", 0), sent("s1", "ana", 2)], None).await.unwrap();
    st.record_invites(&[sent("s1", "ana", 1), sent("s2", "ana", 3), failed("s1", "bo", 1)], None).await.unwrap();
    // Twice, and a failure of a message already sent: nothing changes.
    st.record_invites(&[sent("s2", "ana", 3), failed("s2", "ana", 3)], None).await.unwrap();
    // A participant's invite, about no slot, beside the slots' (and listed before them).
    st.record_invites(&[sent("", "cy", 0), sent("", "cy", 1)], None).await.unwrap();

    let delivered = |sequence| {
        Some(Delivery { method: InviteMethod::Request, sequence, time: Some(at(5)), role: Some(Role::Moderator) })
    };
    let record = |slot: &str, person: &str, sent, failed| InviteRecord {
        session: sid("one"),
        // "": a participant's invite to the whole session.
        slot: (!slot.is_empty()).then(|| SlotId::parse(slot).unwrap()),
        person: pid(person),
        session_created: at(0),
        sent,
        failed,
    };
    let bo_failed =
        Failure { method: InviteMethod::Request, sequence: 1, time: at(5), reason: "550 mailbox unavailable".into() };
    assert_eq!(
        st.invite_records(&sid("one")).await.unwrap(),
        [
            record("", "cy", delivered(1), None),
            record("s1", "ana", delivered(2), None),
            record("s1", "bo", delivered(0), Some(bo_failed)),
            record("s2", "ana", delivered(3), None)
        ],
        "(slot, person) order; an older message does not replace a newer one; a failure is kept beside what was sent"
    );
    assert_eq!(st.invite_records(&sid("other")).await.unwrap(), []);
}

async fn of_racing_writers_expecting_one_revision_exactly_one_wins(st: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    let base = st.put_session(&session("one", 0, 1, &[]), Expect::Absent).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let racers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (st, barrier) = (Arc::clone(&st), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut s = session("one", 0, 1, &[]);
                s.title = format!("writer {i}");
                barrier.wait().await;
                (i, st.put_session(&s, Expect::Revision(base)).await)
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut lost = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            (i, Ok(rev)) => won.push((i, rev)),
            (_, Err(StoreError::RevisionMismatch { current })) => lost.push(current),
            (_, Err(e)) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one writer wins: {won:?}");
    let (winner, rev) = won[0];
    assert!(lost.iter().all(|&current| current == rev), "losers see the winner's revision: {lost:?} vs {rev}");
    let now = st.get_session(&sid("one")).await.unwrap().unwrap();
    assert_eq!((now.title, now.meta.revision), (format!("writer {winner}"), rev));
}

// ----- request ids (AIP-155) -----

/// A request id made at `hour`, whose results are kept for a day.
fn once(id: u8, fingerprint: &str, hour: i64) -> Once {
    let at = at(hour);
    Once {
        id: [id; 16],
        fingerprint: fingerprint.as_bytes().to_vec(),
        at,
        note: format!("note {id}"),
        forget_before: Timestamp::from_second(at.as_second() - 24 * 3600).unwrap(),
    }
}

fn kept_session(k: Option<Kept>) -> Session {
    match k.expect("a kept result").result {
        KeptResult::Session(s) => s,
        other => panic!("a session was kept, not {other:?}"),
    }
}

async fn a_write_made_once_keeps_its_first_result_and_its_id_writes_nothing_more(st: Arc<dyn Store>) {
    let first = once(1, "create one", 0);
    let s = session("one", 0, 2, &[]);
    let rev = st.put_session_once(&s, Expect::Absent, &first).await.unwrap();
    let kept = st.kept(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.fingerprint.as_slice(), kept.at, kept.note.as_str()),
        (b"create one".as_slice(), first.at, "note 1")
    );
    assert_eq!(kept_session(Some(kept)), stored(&s, rev, |s| &mut s.meta), "the record at the write's revision");

    // The same id again, even for another record, writes nothing.
    let again = st.put_session_once(&session("two", 0, 2, &[]), Expect::Absent, &first).await;
    assert!(matches!(again, Err(StoreError::RequestKept)), "{again:?}");
    assert_eq!(st.get_session(&sid("two")).await.unwrap(), None);
    assert_eq!(st.revision().await.unwrap(), rev, "no revision used up");

    // An update kept under another id keeps the record as that write left it.
    let mut renamed = s.clone();
    renamed.title = "renamed".into();
    let update = once(2, "rename one", 1);
    let rev2 = st.put_session_once(&renamed, Expect::Revision(rev), &update).await.unwrap();
    st.put_session(&session("one", 0, 2, &[]), Expect::Revision(rev2)).await.unwrap();
    assert_eq!(kept_session(st.kept(&update.id).await.unwrap()), stored(&renamed, rev2, |s| &mut s.meta));

    // People and feed tokens too.
    let p = person("ana", "Ana", "");
    let p_once = once(3, "create ana", 2);
    let p_rev = st.put_person_once(&p, Expect::Absent, &p_once).await.unwrap();
    match st.kept(&p_once.id).await.unwrap().unwrap().result {
        KeptResult::Person(got) => assert_eq!(got, stored(&p, p_rev, |p| &mut p.meta)),
        other => panic!("{other:?}"),
    }
    let again = st.put_person_once(&person("ben", "Ben", ""), Expect::Absent, &p_once).await;
    assert!(matches!(again, Err(StoreError::RequestKept)), "{again:?}");
    assert_eq!(st.get_person(&pid("ben")).await.unwrap(), None);
    let token = FeedToken {
        token: FeedToken::generate_secret(),
        scope: FeedScope::AllSessions,
        description: String::new(),
        create_time: at(0),
    };
    let t_once = once(4, "token", 3);
    st.put_feed_token_once(&token, &t_once).await.unwrap();
    let mut other = token.clone();
    other.token = FeedToken::generate_secret();
    assert!(matches!(st.put_feed_token_once(&other, &t_once).await, Err(StoreError::RequestKept)));
    assert_eq!(st.get_feed_token(&other.token).await.unwrap(), None);
    assert_eq!(st.kept(&t_once.id).await.unwrap().unwrap().result, KeptResult::FeedToken(token));
    assert_eq!(st.kept(&[9; 16]).await.unwrap(), None, "an id never used");
}

async fn of_racing_writers_with_one_request_id_exactly_one_writes(st: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let racers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (st, barrier) = (Arc::clone(&st), Arc::clone(&barrier));
            tokio::spawn(async move {
                // Each attempt of one request generates its own id, as CreateSession does.
                let s = session(&format!("attempt-{i}"), 0, 1, &[]);
                barrier.wait().await;
                (i, st.put_session_once(&s, Expect::Absent, &once(7, "create", 0)).await)
            })
        })
        .collect();
    let mut won = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            (i, Ok(rev)) => won.push((i, rev)),
            (_, Err(StoreError::RequestKept)) => {}
            (_, Err(e)) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one attempt writes: {won:?}");
    let all = st.list_sessions(&SessionQuery::default(), 100).await.unwrap();
    assert_eq!(ids(&all), [format!("attempt-{}", won[0].0)], "one session");
    assert_eq!(kept_session(st.kept(&[7; 16]).await.unwrap()).meta.revision, won[0].1);
}

async fn kept_results_past_their_window_are_swept_and_their_id_can_be_used_again(st: Arc<dyn Store>) {
    let old = once(5, "old", 0);
    st.put_session_once(&session("one", 0, 1, &[]), Expect::Absent, &old).await.unwrap();
    let recent = once(6, "recent", 30);
    st.put_session_once(&session("two", 0, 1, &[]), Expect::Absent, &recent).await.unwrap();

    // A day and more later, the same id is a new request: the expired result is replaced.
    let reused = once(5, "reused", 25);
    st.put_session_once(&session("three", 0, 1, &[]), Expect::Absent, &reused).await.unwrap();
    assert_eq!(kept_session(st.kept(&reused.id).await.unwrap()).id, sid("three"));

    // The sweep forgets what was kept before its bound, oldest first, at most `limit`.
    assert_eq!(st.sweep_kept(at(26), 100).await.unwrap(), 1, "only the reused id's result was before hour 26");
    assert_eq!(st.kept(&reused.id).await.unwrap(), None);
    assert!(st.kept(&recent.id).await.unwrap().is_some(), "a result within the window stays");
    assert_eq!(st.sweep_kept(at(31), 100).await.unwrap(), 1);
    assert_eq!(st.kept(&recent.id).await.unwrap(), None);
    assert_eq!(st.sweep_kept(at(100), 100).await.unwrap(), 0, "nothing left");
    // The records themselves stay: only the request ids go.
    assert_eq!(st.list_sessions(&SessionQuery::default(), 100).await.unwrap().len(), 3);
}

/// The people listing's query for `text`, from the first page.
fn people_matching(text: &str) -> PeopleQuery {
    PeopleQuery { text: text.to_owned(), after: None }
}
