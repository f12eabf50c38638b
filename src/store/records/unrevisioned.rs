//! [`Unrevisioned`]: a record encoded before its revision is known, spliced at it later.

/// A record encoded before its revision is known: the bytes before and after the revision.
///
/// Why: the sled engine takes a write's revision under the lock that orders writes, and
/// encoding a session there would hold every other writer for its duration. A postcard
/// struct is its fields' encodings end to end, so the record at revision `r` is the bytes
/// before the revision, `r` as a varint, and the bytes after it (`unrevisioned_*` encode with
/// revision 0, one byte, and cut it out).
pub struct Unrevisioned {
    pre: Vec<u8>,
    post: Vec<u8>,
}

impl Unrevisioned {
    /// Cuts the revision out of `bytes`, a record encoded at revision 0 whose revision is
    /// followed by `post_len` bytes.
    pub(super) fn cut(bytes: Vec<u8>, post_len: usize) -> Self {
        let at = bytes.len() - post_len - 1;
        debug_assert_eq!(bytes[at], 0, "revision 0 encodes as one zero byte");
        Unrevisioned { pre: bytes[..at].to_vec(), post: bytes[at + 1..].to_vec() }
    }

    /// The record at `revision` (the tests' view; the sequencer writes [`Self::after`]).
    #[cfg(test)]
    pub fn at(&self, revision: u64) -> Vec<u8> {
        self.after(&[], revision)
    }

    /// `prefix`, then the record at `revision`, in one buffer: a change-log entry whose
    /// record part is also what the record's own tree stores, so the sequencer builds one
    /// buffer per write instead of two (issue 22).
    pub(super) fn after(&self, prefix: &[u8], revision: u64) -> Vec<u8> {
        let mut rev = [0u8; 10];
        let rev = postcard::to_slice(&revision, &mut rev).expect("a u64 varint fits 10 bytes");
        let mut out = Vec::with_capacity(prefix.len() + self.pre.len() + rev.len() + self.post.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(&self.pre);
        out.extend_from_slice(rev);
        out.extend_from_slice(&self.post);
        out
    }
}
