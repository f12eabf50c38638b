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
//! Written by hand over `tonic::server::Grpc` with prost's codec and prost's well-known wrapper
//! types, as tonic's generated servers are: no .proto, no descriptor in reflection, nothing a
//! client of the real API could discover.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::store::{SledStore, StoreError};

/// The one method of the floor service.
pub const PATH: &str = "/agenda.bench.v1.Floor/Write";

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
}

impl FloorServer {
    /// The service when [`ENV`] asks for it, else `None`.
    pub fn from_env(store: &Arc<SledStore>, max_message_bytes: usize) -> Option<Self> {
        (std::env::var(ENV).as_deref() == Ok("1")).then(|| {
            let start = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            tracing::warn!(method = PATH, "the benchmarks' write floor is on (bench-floor)");
            Self { store: Arc::clone(store), next: Arc::new(AtomicU64::new(start)), max_message_bytes }
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
