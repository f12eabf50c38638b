//! The names of the response headers both listeners set: a leaf, so the gRPC side
//! ([`crate::server`]'s guard) and the HTTP side ([`crate::http`]) share them without either
//! depending on the other.

/// Set to `true` on every answer (HTTP header, gRPC metadata) while the store's reads may lag
/// behind its committed writes (an etcd cluster without quorum).
pub const STALE: &str = "agenda-stale";

/// Names the reason of a refused HTTP request (`SESSION_NOT_FOUND`, `CONCURRENCY_LIMIT`, ...),
/// from the one table in `error/reason.rs`; gRPC carries it in the ErrorInfo instead.
pub const ERROR_REASON: &str = "agenda-error-reason";
