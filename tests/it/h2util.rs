//! A raw HTTP/2 gRPC request that the test keeps open (its body unfinished), to observe what
//! the server does meanwhile: shut down, refuse others at its concurrency limit, time out.

use std::net::SocketAddr;

use bytes::Bytes;
use tokio::net::TcpStream;

pub struct HeldRequest {
    send: h2::SendStream<Bytes>,
    /// PINGs on the request's connection: the answer comes after the server read every frame
    /// sent before it.
    ping_pong: h2::PingPong,
    response: h2::client::ResponseFuture,
    _connection: tokio::task::JoinHandle<()>,
}

impl HeldRequest {
    /// Opens a unary call to `path` and sends the first byte of its message frame only.
    pub async fn open(addr: SocketAddr, path: &str) -> Self {
        Self::open_inner(addr, path, None).await
    }

    /// The same, with a `grpc-timeout` header (e.g. `300m`).
    pub async fn open_with_timeout(addr: SocketAddr, path: &str, timeout: &str) -> Self {
        Self::open_inner(addr, path, Some(timeout)).await
    }

    async fn open_inner(addr: SocketAddr, path: &str, timeout: Option<&str>) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (client, mut connection) = h2::client::handshake(tcp).await.unwrap();
        let ping_pong = connection.ping_pong().expect("the first call takes it");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.unwrap();
        let mut req = http::Request::builder()
            .method("POST")
            .uri(format!("http://{addr}{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(t) = timeout {
            req = req.header("grpc-timeout", t);
        }
        let (response, mut send) = client.send_request(req.body(()).unwrap(), false).unwrap();
        // The compression flag of the length-prefixed message; the rest comes later.
        send.send_data(Bytes::from_static(&[0]), false).unwrap();
        HeldRequest { send, ping_pong, response, _connection: connection }
    }

    /// Returns once the server has read the request's headers and first byte (a PING sent
    /// after them has been answered), so a signal sent now finds the request in flight.
    pub async fn reached_server(&mut self) {
        self.ping_pong.ping(h2::Ping::opaque()).await.expect("PING answered");
    }

    /// Sends the rest of the message and returns the grpc-status and the response body.
    pub async fn finish(mut self, message: &[u8]) -> (String, Bytes) {
        let mut rest = (message.len() as u32).to_be_bytes().to_vec();
        rest.extend_from_slice(message);
        self.send.send_data(Bytes::from(rest), true).unwrap();
        self.wait_response().await
    }

    /// Waits for the response without sending more.
    pub async fn wait_response(self) -> (String, Bytes) {
        let response = self.response.await.unwrap();
        let header_status = response.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
        let mut body = response.into_body();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        let trailer_status =
            body.trailers().await.unwrap().and_then(|t| t.get("grpc-status").map(|v| v.to_str().unwrap().to_owned()));
        (header_status.or(trailer_status).unwrap_or_default(), Bytes::from(data))
    }
}
