//! The envelope of a written value: the request id that lets a retried write recognise its
//! own first attempt (see "Failover" in the module documentation).

/// The first byte of an enveloped value. Records are postcard structs that open with their
/// id's length, never 0 (ids are not empty), so a bare record from before the envelope never
/// starts with it.
const ENVELOPE: u8 = 0;

/// Bytes of a write's request id.
const REQUEST_ID_LEN: usize = 16;

/// The random id of one write call, kept with what it writes so that a retry after an
/// ambiguous failure can tell whether the first attempt applied.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct RequestId([u8; REQUEST_ID_LEN]);

impl RequestId {
    pub(super) fn new() -> Self {
        let mut bytes = [0; REQUEST_ID_LEN];
        getrandom::fill(&mut bytes).expect("the OS random generator is available");
        Self(bytes)
    }

    /// `record` in its envelope: [`ENVELOPE`], this id, the record.
    pub(super) fn wrap(self, record: Vec<u8>) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + REQUEST_ID_LEN + record.len());
        v.push(ENVELOPE);
        v.extend_from_slice(&self.0);
        v.extend(record);
        v
    }

    /// Whether `value` (an enveloped record, or `m/rev`'s value) was written by this request.
    pub(super) fn wrote(self, value: &[u8]) -> bool {
        value.get(1..=REQUEST_ID_LEN) == Some(&self.0[..]) && value.first() == Some(&ENVELOPE)
    }

    /// The value of `m/rev` a write puts: the envelope with no record.
    pub(super) fn marker(self) -> Vec<u8> {
        self.wrap(Vec::new())
    }
}

/// The record inside a stored value, with or without its envelope.
pub(super) fn record(value: &[u8]) -> &[u8] {
    match value.first() {
        Some(&ENVELOPE) => value.get(1 + REQUEST_ID_LEN..).unwrap_or_default(),
        _ => value,
    }
}
