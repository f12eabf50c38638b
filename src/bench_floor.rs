//! The gRPC write floor of the benchmarks (issue 12), compiled only with the cargo feature
//! `bench-floor` and served only when [`ENV`] is `1` as well: never part of the production API.
//!
//! `/agenda.bench.v1.Floor/Write` takes a `google.protobuf.BytesValue`, stores its bytes under
//! a new key in a tree of its own ([`SledStore::floor_insert`]: one plain insert) and answers
//! `google.protobuf.Empty` once a group-commit flush covers the insert. It is served by the
//! same tonic server as the real services, behind the same guard (auth with the write scope,
//! the concurrency limit, metrics), with the same limits and TCP_NODELAY, and it waits for
//! durability on the blocking pool as `Agenda`'s writes do. So a write RPC cannot beat it:
//! what CreateSession and UpdateSlot cost above it is their own work (BENCHMARKS.md).
//!
//! `/agenda.bench.v1.Floor/GetBytes` is the read floor (issue 15): it takes a
//! `google.protobuf.UInt32Value` n and answers a constant `google.protobuf.BytesValue` whose
//! encoding is n bytes long, encoded once per size and sent through the read cache's codec
//! (`api::EncodedCodec`). It reads nothing: what GetSession or ListSessions cost above the
//! floor of their answer's size is their own work, not the server stack's or the bytes'.
//!
//! `GET /bench/floor/{file}` is the HTTP floor (issue 22), on the HTTP listener: it answers
//! every request with a constant `304 Not Modified` carrying the headers a feed's 304 carries
//! (Cache-Control, ETag, Vary, Last-Modified; values of the same lengths), through the same
//! router, path-parameter extraction and middleware (limits, timeout, metrics) as the feed
//! routes, and looks at nothing of the request. What the feed's 304 costs above it is the feed
//! handler's own work (the cache lookup, the ETag comparison, the header map), not hyper's or
//! axum's (BENCHMARKS.md).
//!
//! Written by hand over `tonic::server::Grpc` with prost's codec and prost's well-known wrapper
//! types, as tonic's generated servers are: no .proto, no descriptor in reflection, nothing a
//! client of the real API could discover.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use crate::api::{Encoded, EncodedCodec};
use crate::error::Error;
use crate::store::{SledStore, StoreError};

/// The write floor's method.
pub const PATH: &str = "/agenda.bench.v1.Floor/Write";

/// The read floor's method (a `Get`: the read scope, as GetSession).
pub const READ_PATH: &str = "/agenda.bench.v1.Floor/GetBytes";

/// The HTTP floor's route (a path parameter, as the feed routes have).
pub const HTTP_PATH: &str = "/bench/floor/{file}";

/// The environment switch `scripts/bench` sets (`AGENDA_BENCH_FLOOR=1`) on a build with the
/// feature. An environment variable rather than a configuration key: the configuration (and
/// its documentation) stays the same with and without the feature.
pub const ENV: &str = "AGENDA_BENCH_FLOOR";

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The floor service, cheap to clone (tonic clones a service per connection).
#[derive(Clone)]
pub struct FloorServer {
    store: Arc<SledStore>,
    /// The next key. Started from the clock, so a second server on the same store does not
    /// overwrite the first one's keys (an overwrite is a different write from an insert).
    next: Arc<AtomicU64>,
    /// The same limit on a request's size as every other service.
    max_message_bytes: usize,
    /// The read floor's answers by size, each encoded once.
    answers: Arc<Mutex<HashMap<u32, Encoded>>>,
}

impl FloorServer {
    /// The service when [`ENV`] asks for it, else `None`.
    pub fn from_env(store: &Arc<SledStore>, max_message_bytes: usize) -> Option<Self> {
        (std::env::var(ENV).as_deref() == Ok("1")).then(|| {
            let start = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            tracing::warn!(method = PATH, "the benchmarks' write floor is on (bench-floor)");
            Self {
                store: Arc::clone(store),
                next: Arc::new(AtomicU64::new(start)),
                max_message_bytes,
                answers: Arc::default(),
            }
        })
    }
}

impl NamedService for FloorServer {
    const NAME: &'static str = "agenda.bench.v1.Floor";
}

impl tower::Service<http::Request<Body>> for FloorServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() == READ_PATH {
            let read = Read(self.clone());
            let max = self.max_message_bytes;
            return Box::pin(async move {
                let mut grpc = Grpc::new(EncodedCodec::<u32>::default()).apply_max_message_size_config(Some(max), None);
                Ok(grpc.unary(read, req).await)
            });
        }
        if req.uri().path() != PATH {
            let status = Status::unimplemented(format!("no method {} in the floor service", req.uri().path()));
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        let write = Write(self.clone());
        let max = self.max_message_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(tonic_prost::ProstCodec::<(), Vec<u8>>::default())
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(write, req).await)
        })
    }
}

/// `Write`: the insert and the wait for its flush, on the blocking pool.
struct Write(FloorServer);

impl UnaryService<Vec<u8>> for Write {
    type Response = ();
    type Future = BoxFuture<Response<()>, Status>;

    fn call(&mut self, request: Request<Vec<u8>>) -> Self::Future {
        let store = Arc::clone(&self.0.store);
        let key = self.0.next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        let value = request.into_inner();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.floor_insert(&key, &value))
                .await
                .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))
                .and_then(|r| r)
                .map_err(|e| Status::from(Error::Store(e)))?;
            Ok(Response::new(()))
        })
    }
}

/// `GetBytes`: the constant answer of the asked size, encoded once per size.
struct Read(FloorServer);

impl UnaryService<u32> for Read {
    type Response = Encoded;
    type Future = BoxFuture<Response<Encoded>, Status>;

    fn call(&mut self, request: Request<u32>) -> Self::Future {
        let size = request.into_inner();
        let answer = if size as usize > self.0.max_message_bytes {
            Err(Status::out_of_range(format!("{size} bytes is more than the largest message")))
        } else {
            let mut answers = self.0.answers.lock().expect("floor answers lock");
            Ok(answers.entry(size).or_insert_with(|| Encoded(bytes_value_of_size(size as usize).into())).clone())
        };
        Box::pin(std::future::ready(answer.map(Response::new)))
    }
}

/// The HTTP floor's route when [`ENV`] asks for it, else `None`: to be merged into the HTTP
/// router inside its middleware.
pub fn http_routes() -> Option<axum::Router> {
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
    if std::env::var(ENV).as_deref() != Ok("1") {
        return None;
    }
    tracing::warn!(route = HTTP_PATH, "the benchmarks' HTTP floor is on (bench-floor)");
    // A feed's 304 headers, as `http::cache::Rendered::respond_with` and the feed routes set
    // them (the default refresh of one hour; an FNV-64 ETag; an HTTP date).
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::ETAG, HeaderValue::from_static("\"0123456789abcdef\""));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(header::LAST_MODIFIED, HeaderValue::from_static("Thu, 17 Nov 2022 10:00:00 GMT"));
    let headers = Arc::new(headers);
    let answer = move |axum::extract::Path(_file): axum::extract::Path<String>| {
        let headers = Arc::clone(&headers);
        async move {
            let mut response = axum::response::Response::new(axum::body::Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = (*headers).clone();
            response
        }
    };
    Some(axum::Router::new().route(HTTP_PATH, axum::routing::get(answer)))
}

/// The encoding of a `BytesValue` exactly `size` bytes long: its field once with the bytes,
/// after one empty occurrence of the field when lengths alone cannot hit the size (a repeated
/// singular field is valid protobuf: the last one wins). Sizes under 2 give the empty message.
fn bytes_value_of_size(size: usize) -> Vec<u8> {
    let field = |n: usize| 1 + prost::encoding::encoded_len_varint(n as u64) + n;
    let fits = |room: usize| (0..=room).rev().find(|&n| field(n) == room);
    let (prefix, n) = match (fits(size), size.checked_sub(2).and_then(fits)) {
        (Some(n), _) => (&[][..], n),
        (None, Some(n)) => (&[0x0a, 0][..], n),
        (None, None) => return Vec::new(),
    };
    let mut out = prefix.to_vec();
    out.push(0x0a); // field 1, length-delimited
    prost::encoding::encode_varint(n as u64, &mut out);
    out.resize(out.len() + n, 0x5a);
    out
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::bytes_value_of_size;

    #[test]
    fn the_read_floors_answer_has_the_asked_size_and_decodes() {
        for size in (2..20_000).chain([97_998, 1 << 20]) {
            let bytes = bytes_value_of_size(size);
            assert_eq!(bytes.len(), size, "{size}");
            Vec::<u8>::decode(bytes.as_slice()).expect("a BytesValue");
        }
    }
}
