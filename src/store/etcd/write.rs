//! Writes: one Txn each, whose compares carry the contract (see "Mapping" in the module
//! documentation) and whose `else` branch reads what explains a refusal. Each `try_*` is one
//! attempt, which the adapter repeats with failover; a retry recognises its own first attempt
//! by the request id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use etcd_client::{Compare, CompareOp, GetOptions, KeyValue, Txn, TxnOp, TxnOpResponse, TxnResponse};

use super::envelope::{RequestId, record};
use super::failover::attempt;
use super::layout::end_of;
use super::leader::{fenced, still_held};
use super::{EtcdStore, header_revision, rev, wire};
use crate::domain::{Attempt, InviteRecord, PersonId, Session, SessionId};
use crate::store::records::{
    KEPT_FEED_TOKEN, KEPT_PERSON, KEPT_SESSION, decode_sent_invite, decode_session, encode_sent_invite, encode_session,
};
use crate::store::{Expect, Fence, Once, StoreError, check_delete};

/// The compare that holds when `key` is as it was read: absent, or at that mod revision.
fn unchanged(key: &[u8], read: Option<&KeyValue>) -> Compare {
    match read {
        Some(kv) => Compare::mod_revision(key.to_vec(), CompareOp::Equal, kv.mod_revision()),
        None => Compare::create_revision(key.to_vec(), CompareOp::Equal, 0),
    }
}

/// The compare of an [`Expect`] on `key`.
fn expected(key: &[u8], expect: Expect) -> Compare {
    match expect {
        Expect::Absent => Compare::create_revision(key.to_vec(), CompareOp::Equal, 0),
        Expect::Revision(r) => Compare::mod_revision(key.to_vec(), CompareOp::Equal, wire(r)),
    }
}

/// The key-values the `i`-th operation of a Txn branch read.
fn read_of(resp: &TxnResponse, i: usize) -> Vec<KeyValue> {
    match resp.op_responses().into_iter().nth(i) {
        Some(TxnOpResponse::Get(mut g)) => g.take_kvs(),
        _ => Vec::new(),
    }
}

/// The count the `i`-th operation of a Txn branch read.
fn count_of(resp: &TxnResponse, i: usize) -> u64 {
    match resp.op_responses().into_iter().nth(i) {
        Some(TxnOpResponse::Get(g)) => rev(g.count()),
        _ => 0,
    }
}

impl EtcdStore {
    /// One attempt at a Txn: the caller retries, checking its request id first.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        attempt(self.kv().txn(txn)).await
    }

    /// Whether `m/rev` holds `request`'s marker: the last session or person write was this
    /// request's, so its first, ambiguous attempt applied.
    async fn applied(&self, request: RequestId) -> Result<Option<u64>, StoreError> {
        let now = self.get(self.keys.revision()).await?;
        Ok(now.filter(|kv| request.wrote(kv.value())).map(|kv| rev(kv.mod_revision())))
    }

    /// Refuses a Txn of `ops` operations or compares that the cluster would refuse.
    fn fits(&self, ops: usize) -> Result<(), StoreError> {
        if ops > self.max_txn_ops {
            return Err(StoreError::Backend(format!(
                "the write needs {ops} etcd txn operations, over the {} configured: raise etcd's --max-txn-ops \
                 and agenda's etcd max_txn_ops",
                self.max_txn_ops
            )));
        }
        Ok(())
    }

    /// One attempt at a session write; `Ok(None)` when the record changed since it was read
    /// (the caller reads again).
    pub(super) async fn try_put_session(
        &self,
        s: &Session,
        expect: Expect,
        request: RequestId,
        once: Option<&Once>,
    ) -> Result<Option<u64>, StoreError> {
        let key = self.keys.session(&s.id);
        let old = self.get(key.clone()).await?;
        if let Some(ours) = old.as_ref().filter(|kv| request.wrote(kv.value())) {
            // An earlier attempt of this call applied (its answer was lost): that is the answer.
            return Ok(Some(rev(ours.mod_revision())));
        }
        let encoded = encode_session(s);
        let keeping = match once {
            Some(o) => Some(self.keeping(o, KEPT_SESSION, &encoded).await?),
            None => None,
        };
        expect.check(old.as_ref().map(|kv| rev(kv.mod_revision())))?;
        let before = match &old {
            Some(kv) => decode_session(record(kv.value()))?.referenced_people(),
            None => BTreeSet::new(),
        };
        let named = s.referenced_people();
        let added: Vec<&PersonId> = named.difference(&before).collect();
        let removed: Vec<&PersonId> = before.difference(&named).collect();
        let kept_ops = keeping.as_ref().map_or(0, |k| k.ops.len());
        self.fits(1 + named.len() + usize::from(keeping.is_some()))?;
        self.fits(2 + added.len() + removed.len() + kept_ops)?;

        let mut compares = vec![unchanged(&key, old.as_ref())];
        compares.extend(named.iter().map(|p| Compare::version(self.keys.person(p), CompareOp::Greater, 0)));
        let mut ops = vec![
            TxnOp::put(key.clone(), request.wrap(encoded), None),
            TxnOp::put(self.keys.revision(), request.marker(), None),
        ];
        ops.extend(added.iter().map(|p| TxnOp::put(self.keys.reference(p, &s.id), [], None)));
        ops.extend(removed.iter().map(|p| TxnOp::delete(self.keys.reference(p, &s.id), None)));
        // Why it failed: the record as it is now, and which named people exist (and the kept
        // request id, last).
        let mut reads = vec![TxnOp::get(key, None)];
        reads.extend(named.iter().map(|p| TxnOp::get(self.keys.person(p), Some(GetOptions::new().with_count_only()))));
        if let Some(k) = keeping {
            compares.push(k.compare);
            ops.extend(k.ops);
            reads.push(TxnOp::get(k.key, None));
        }
        let resp = self.txn(Txn::new().when(compares).and_then(ops).or_else(reads)).await?;
        if resp.succeeded() {
            return Ok(Some(header_revision(resp.header())));
        }
        let now = read_of(&resp, 0).into_iter().next();
        if let Some(ours) = now.as_ref().filter(|kv| request.wrote(kv.value())) {
            return Ok(Some(rev(ours.mod_revision())));
        }
        if now.as_ref().map(KeyValue::mod_revision) != old.as_ref().map(KeyValue::mod_revision) {
            return Ok(None);
        }
        if once.is_some_and(|o| Self::taken(read_of(&resp, 1 + named.len()).first(), o)) {
            return Err(StoreError::RequestKept);
        }
        match named.iter().enumerate().find(|(i, _)| count_of(&resp, i + 1) == 0) {
            Some((_, missing)) => Err(StoreError::UnknownPerson(missing.clone())),
            None => Ok(None),
        }
    }

    /// One attempt at a session delete; `Ok(None)` when the record changed since it was read.
    pub(super) async fn try_delete_session(
        &self,
        id: &SessionId,
        expect: Option<u64>,
        request: RequestId,
    ) -> Result<Option<u64>, StoreError> {
        let key = self.keys.session(id);
        let Some(old) = self.get(key.clone()).await? else {
            // Gone: perhaps by an earlier attempt of this call whose answer was lost.
            return match self.applied(request).await? {
                Some(revision) => Ok(Some(revision)),
                None => Err(StoreError::NotFound),
            };
        };
        check_delete(expect, rev(old.mod_revision()))?;
        let named = decode_session(record(old.value()))?.referenced_people();
        self.fits(2 + named.len())?;
        let mut ops = vec![TxnOp::delete(key.clone(), None), TxnOp::put(self.keys.revision(), request.marker(), None)];
        ops.extend(named.iter().map(|p| TxnOp::delete(self.keys.reference(p, id), None)));
        let txn = Txn::new().when([unchanged(&key, Some(&old))]).and_then(ops).or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        Ok(resp.succeeded().then(|| header_revision(resp.header())))
    }

    /// One attempt at a person write of `value` (the enveloped record).
    pub(super) async fn try_put_person(
        &self,
        id: &PersonId,
        value: &[u8],
        expect: Expect,
        request: RequestId,
        once: Option<&Once>,
    ) -> Result<u64, StoreError> {
        let key = self.keys.person(id);
        let mut compares = vec![expected(&key, expect)];
        let mut ops =
            vec![TxnOp::put(key.clone(), value, None), TxnOp::put(self.keys.revision(), request.marker(), None)];
        let mut reads = vec![TxnOp::get(key.clone(), None)];
        if let Some(o) = once {
            if let Some(ours) = self.get(key).await?.filter(|kv| request.wrote(kv.value())) {
                return Ok(rev(ours.mod_revision())); // Applied by an earlier attempt of this call.
            }
            let k = self.keeping(o, KEPT_PERSON, record(value)).await?;
            compares.push(k.compare);
            ops.extend(k.ops);
            reads.push(TxnOp::get(k.key, None));
        }
        let resp = self.txn(Txn::new().when(compares).and_then(ops).or_else(reads)).await?;
        if resp.succeeded() {
            return Ok(header_revision(resp.header()));
        }
        let current = read_of(&resp, 0).into_iter().next();
        if let Some(ours) = current.as_ref().filter(|kv| request.wrote(kv.value())) {
            // An earlier attempt of this call applied (its answer was lost).
            return Ok(rev(ours.mod_revision()));
        }
        if once.is_some_and(|o| Self::taken(read_of(&resp, 1).first(), o)) {
            return Err(StoreError::RequestKept);
        }
        expect.check(current.map(|kv| rev(kv.mod_revision())))?;
        Err(StoreError::Backend("etcd refused a compare that holds".into()))
    }

    /// One attempt at a person delete; a retry that finds the person gone by this request's
    /// earlier attempt succeeds.
    pub(super) async fn try_delete_person(
        &self,
        id: &PersonId,
        expect: Option<u64>,
        request: RequestId,
    ) -> Result<(), StoreError> {
        let key = self.keys.person(id);
        let refs = self.keys.references_of(id);
        let exists = match expect {
            Some(r) => Compare::mod_revision(key.clone(), CompareOp::Equal, wire(r)),
            None => Compare::version(key.clone(), CompareOp::Greater, 0),
        };
        // An empty range compares as a zero key-value: version 0 holds iff no reference exists.
        let unused = Compare::version(refs.clone(), CompareOp::Equal, 0).with_range(end_of(&refs));
        let txn = Txn::new()
            .when([exists, unused])
            .and_then([TxnOp::delete(key.clone(), None), TxnOp::put(self.keys.revision(), request.marker(), None)])
            .or_else([
                TxnOp::get(key, None),
                TxnOp::get(refs.clone(), Some(GetOptions::new().with_range(end_of(&refs)).with_count_only())),
            ]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            return Ok(());
        }
        let Some(current) = read_of(&resp, 0).first().map(|kv| rev(kv.mod_revision())) else {
            return match self.applied(request).await? {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound),
            };
        };
        check_delete(expect, current)?;
        Err(StoreError::PersonInUse { sessions: count_of(&resp, 1) })
    }

    /// One attempt at storing a new feed token, `value` (enveloped) under `token`.
    pub(super) async fn try_put_feed_token(
        &self,
        token: &str,
        value: &[u8],
        request: RequestId,
        once: Option<&Once>,
    ) -> Result<(), StoreError> {
        let key = self.keys.token(token);
        let mut compares = vec![expected(&key, Expect::Absent)];
        let mut ops = vec![TxnOp::put(key.clone(), value, None)];
        let mut reads = vec![TxnOp::get(key.clone(), None)];
        if let Some(o) = once {
            if self.get(key).await?.is_some_and(|kv| request.wrote(kv.value())) {
                return Ok(()); // Stored by an earlier attempt of this call.
            }
            let k = self.keeping(o, KEPT_FEED_TOKEN, record(value)).await?;
            compares.push(k.compare);
            ops.extend(k.ops);
            reads.push(TxnOp::get(k.key, None));
        }
        let resp = self.txn(Txn::new().when(compares).and_then(ops).or_else(reads)).await?;
        // Taken by this call's own earlier attempt (its answer lost) is not taken.
        let ours = read_of(&resp, 0).first().is_some_and(|kv| request.wrote(kv.value()));
        if resp.succeeded() || ours {
            return Ok(());
        }
        if once.is_some_and(|o| Self::taken(read_of(&resp, 1).first(), o)) {
            return Err(StoreError::RequestKept);
        }
        Err(StoreError::Exists)
    }

    /// One attempt at revoking a token. `ambiguous` says whether an earlier attempt of this
    /// call failed without an answer (it may have deleted the token), and is set when this
    /// one does.
    pub(super) async fn try_delete_feed_token(&self, token: &str, ambiguous: &AtomicBool) -> Result<(), StoreError> {
        let deleted = match attempt(self.kv().delete(self.keys.token(token), None)).await {
            Ok(resp) => resp.deleted(),
            Err(e) => {
                ambiguous.store(true, Ordering::Relaxed);
                return Err(e);
            }
        };
        if deleted == 0 && !ambiguous.load(Ordering::Relaxed) { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// One attempt at recording invite attempts: `by_key` holds a batch's attempts per key,
    /// in the order given. With a `fence`, the Txn also compares the role's key with it, so a
    /// sender that lost its role cannot mark anything ([`StoreError::Deposed`]).
    pub(super) async fn try_record_invites(
        &self,
        by_key: &BTreeMap<Vec<u8>, Vec<&Attempt>>,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        loop {
            let mut compares = Vec::new();
            let mut ops = Vec::new();
            for (key, attempts) in by_key {
                let stored = self.get(key.clone()).await?;
                let before = stored.as_ref().map(|kv| decode_sent_invite(kv.value())).transpose()?;
                let after = attempts.iter().fold(before.clone(), |r, a| InviteRecord::apply(r.as_ref(), a).or(r));
                let Some(record) = after.filter(|r| Some(r) != before.as_ref()) else {
                    continue;
                };
                compares.push(unchanged(key, stored.as_ref()));
                ops.push(TxnOp::put(key.clone(), encode_sent_invite(&record), None));
            }
            if ops.is_empty() {
                return Ok(());
            }
            // The else branch reads the role's key (or `m/rev`): a Txn whose answer matters
            // carries an operation, so a lagging member cannot answer it.
            let explain = match fence {
                Some(f) => {
                    compares.push(fenced(self.keys.leader(&f.role), f));
                    self.keys.leader(&f.role)
                }
                None => self.keys.revision(),
            };
            self.fits(compares.len())?;
            let resp = self.txn(Txn::new().when(compares).and_then(ops).or_else([TxnOp::get(explain, None)])).await?;
            if resp.succeeded() {
                return Ok(());
            }
            if let Some(f) = fence.filter(|f| !still_held(read_of(&resp, 0).first(), f)) {
                return Err(StoreError::Deposed { role: f.role.clone() });
            }
            // Another writer marked one of them in between: read them again.
        }
    }
}
