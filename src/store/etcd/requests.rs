//! Request ids (AIP-155) on etcd: a write given a [`Once`] keeps the id with its first result
//! in the same Txn as the write (`q/<id>`, compared absent, or at the expired result's mod
//! revision, which it replaces), so the check is atomic with the write on every replica: of
//! two attempts with one id, through any replicas, exactly one writes. `qt/<time><id>`
//! orders the kept results for the sweep.

use etcd_client::{Compare, CompareOp, KeyValue, Txn, TxnOp};

use super::failover::with_failover;
use super::{EtcdStore, rev};
use crate::domain::Timestamp;
use crate::store::records::{decode_kept, encode_kept};
use crate::store::{Kept, Once, StoreError};

/// The compare and operations that keep a request id with a write.
pub(super) struct Keeping {
    pub(super) compare: Compare,
    pub(super) ops: Vec<TxnOp>,
    /// The kept key, which a refused Txn reads to tell a used id from another refusal.
    pub(super) key: Vec<u8>,
}

impl EtcdStore {
    /// Reads `once`'s key: refused with [`StoreError::RequestKept`] when a result under it is
    /// still in its window; else what the Txn keeping `kind`'s `record` compares and writes.
    pub(super) async fn keeping(&self, once: &Once, kind: u8, record: &[u8]) -> Result<Keeping, StoreError> {
        let key = self.keys.kept(&once.id);
        let old = self.get(key.clone()).await?;
        let mut ops = vec![
            TxnOp::put(key.clone(), encode_kept(once, kind, record, 0), None),
            TxnOp::put(self.keys.kept_time(once.at, &once.id), [], None),
        ];
        let compare = match &old {
            None => Compare::create_revision(key.clone(), CompareOp::Equal, 0),
            Some(kv) => {
                let at = decode_kept(kv.value())?.at;
                if at >= once.forget_before {
                    return Err(StoreError::RequestKept);
                }
                ops.push(TxnOp::delete(self.keys.kept_time(at, &once.id), None));
                Compare::mod_revision(key.clone(), CompareOp::Equal, kv.mod_revision())
            }
        };
        Ok(Keeping { compare, ops, key })
    }

    /// Whether a refused Txn's read of the kept key (`read`) shows the id used (and not
    /// expired) by another write meanwhile.
    pub(super) fn taken(read: Option<&KeyValue>, once: &Once) -> bool {
        read.and_then(|kv| decode_kept(kv.value()).ok()).is_some_and(|k| k.at >= once.forget_before)
    }

    /// The first result of request `id`: a linearizable read, so the write that kept it is
    /// acknowledged by the quorum. A session's or person's revision is the key's mod revision
    /// (written in the write's own Txn).
    pub(super) async fn kept(&self, id: &[u8; 16]) -> Result<Option<Kept>, StoreError> {
        let Some(kv) = self.get(self.keys.kept(id)).await? else { return Ok(None) };
        Kept::decode(kv.value(), Some(rev(kv.mod_revision()))).map(Some)
    }

    /// Forgets up to `limit` results kept before `before`, oldest first, one Txn each (the
    /// result only if still the one the time key names: an id used again keeps its new one).
    pub(super) async fn sweep_kept(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let end = self.keys.kept_time(before, &[0; 16]);
        let times = self.scan(&self.keys.kept_times(), None, limit).await?;
        let mut swept = 0;
        for tk in times.iter().take_while(|kv| kv.key() < end.as_slice()) {
            let id: [u8; 16] = tk.key()[tk.key().len() - 16..].try_into().expect("16 bytes");
            let key = self.keys.kept(&id);
            let mut ops = vec![TxnOp::delete(tk.key().to_vec(), None)];
            let mut compares = Vec::new();
            if let Some(kv) = self.get(key.clone()).await?
                && self.keys.kept_time(decode_kept(kv.value())?.at, &id) == tk.key()
            {
                compares.push(Compare::mod_revision(key.clone(), CompareOp::Equal, kv.mod_revision()));
                ops.push(TxnOp::delete(key, None));
            }
            let txn = Txn::new().when(compares).and_then(ops);
            with_failover(|| async { super::failover::attempt(self.kv().txn(txn.clone())).await }).await?;
            swept += 1;
        }
        Ok(swept)
    }
}
