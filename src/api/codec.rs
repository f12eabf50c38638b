//! Answers sent as protobuf bytes encoded beforehand (the read cache's, `cache.rs`), through
//! the generated servers' own stack.
//!
//! Why this shape: tonic 0.14's generated server fixes its codec (prost) per service, and a
//! handler can only return the decoded message, which tonic then encodes. The least intrusive
//! way to send bytes we already have is a thin wrapper around the generated server
//! ([`Intercept`]) that takes over one method's path and hands it to `tonic::server::Grpc`
//! with [`EncodedCodec`] — the very call the generated code makes, with another codec — and
//! passes every other path to the generated server unchanged. The request is decoded by
//! prost's decoder as before; the answer's frame carries the cached bytes verbatim, so the
//! wire is byte for byte what the generated server would send and clients stay the generated
//! ones. The generated trait method stays implemented (the same answer, decoded) for any
//! caller that mounts the generated server alone. The bench floor (`bench_floor.rs`) is
//! written the same way.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes};
use tonic::body::Body;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

/// A protobuf message already encoded: what an intercepted method answers.
#[derive(Clone, Debug)]
pub struct Encoded(pub Bytes);

impl Encoded {
    /// The encoding of `message`, exactly as prost writes it on the wire.
    pub fn of(message: &impl prost::Message) -> Self {
        Self(Bytes::from(message.encode_to_vec()))
    }
}

/// A codec for methods that take a prost message `Req` and answer [`Encoded`] bytes.
pub struct EncodedCodec<Req>(PhantomData<fn() -> Req>);

impl<Req> Default for EncodedCodec<Req> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req: prost::Message + Default + Send + 'static> Codec for EncodedCodec<Req> {
    type Encode = Encoded;
    type Decode = Req;
    type Encoder = EncodedWriter;
    type Decoder = tonic_prost::ProstDecoder<Req>;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedWriter
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

/// Copies the encoded bytes into tonic's frame buffer.
pub struct EncodedWriter;

impl Encoder for EncodedWriter {
    type Item = Encoded;
    type Error = Status;

    fn encode(&mut self, item: Encoded, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item.0);
        Ok(())
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What an [`EncodedMethod`] returns.
pub type Answer = BoxFuture<Result<Encoded, Status>>;

/// A method answered in encoded bytes: its handler, called with the decoded request.
pub trait EncodedMethod<Req>: Clone + Send + Sync + 'static {
    fn answer(&self, request: Request<Req>) -> Answer;
}

/// The generated server `S` with the method at `path` answered by `M` in encoded bytes.
#[derive(Clone)]
pub struct Intercept<S, M, Req> {
    inner: S,
    path: &'static str,
    method: M,
    /// The same limit on a request's size as the generated server's.
    max_message_bytes: usize,
    _req: PhantomData<fn() -> Req>,
}

impl<S, M, Req> Intercept<S, M, Req> {
    pub fn new(inner: S, path: &'static str, method: M, max_message_bytes: usize) -> Self {
        Self { inner, path, method, max_message_bytes, _req: PhantomData }
    }
}

impl<S: NamedService, M, Req> NamedService for Intercept<S, M, Req> {
    const NAME: &'static str = S::NAME;
}

/// Adapts an [`EncodedMethod`] to what `Grpc::unary` calls.
struct Call<M>(M);

impl<Req, M: EncodedMethod<Req>> UnaryService<Req> for Call<M> {
    type Response = Encoded;
    type Future = BoxFuture<Result<Response<Encoded>, Status>>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let answer = self.0.answer(request);
        Box::pin(async move { answer.await.map(Response::new) })
    }
}

impl<S, M, Req> tower::Service<http::Request<Body>> for Intercept<S, M, Req>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
    M: EncodedMethod<Req>,
    Req: prost::Message + Default + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() != self.path {
            return Box::pin(self.inner.call(req));
        }
        let call = Call(self.method.clone());
        let max = self.max_message_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(EncodedCodec::<Req>::default()).apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(call, req).await)
        })
    }
}
