//! Running the service: both listeners, one shutdown signal.

use std::future::Future;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::api::{FeedApi, InviteApi, PersonApi, SessionApi};
use crate::app::Agenda;
use crate::config::FeedConfig;
use crate::pb::feed_service_server::FeedServiceServer;
use crate::pb::invite_service_server::InviteServiceServer;
use crate::pb::person_service_server::PersonServiceServer;
use crate::pb::session_service_server::SessionServiceServer;

/// Serves gRPC on `grpc` and HTTP on `http` until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish and returns. Listeners are bound by the caller, so tests
/// can bind port 0 and production can log the real addresses.
pub async fn run(
    agenda: Agenda,
    feeds: FeedConfig,
    grpc: TcpListener,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let grpc_server = Server::builder()
        .add_service(SessionServiceServer::new(SessionApi::new(agenda.clone(), feeds.links.clone())))
        .add_service(PersonServiceServer::new(PersonApi::new(agenda.clone(), feeds.links.clone())))
        .add_service(FeedServiceServer::new(FeedApi::new(agenda.clone(), feeds.links.clone())))
        .add_service(InviteServiceServer::new(InviteApi::new(
            agenda.clone(),
            feeds.settings.clone(),
            feeds.links.clone(),
        )))
        .serve_with_incoming_shutdown(TcpIncoming::from(grpc), stopped(stop_rx.clone()));
    let mut grpc_task = tokio::spawn(grpc_server);

    let http_server = axum::serve(http, crate::http::router(agenda, feeds)).with_graceful_shutdown(stopped(stop_rx));
    let mut http_task = tokio::spawn(async move { http_server.await });

    tokio::select! {
        () = shutdown => tracing::info!("shutting down"),
        r = &mut grpc_task => {
            r.context("gRPC server task")?.context("gRPC server")?;
            anyhow::bail!("gRPC server stopped unexpectedly");
        }
        r = &mut http_task => {
            r.context("HTTP server task")?.context("HTTP server")?;
            anyhow::bail!("HTTP server stopped unexpectedly");
        }
    }
    let _ = stop_tx.send(true);
    grpc_task.await.context("gRPC server task")?.context("gRPC server")?;
    http_task.await.context("HTTP server task")?.context("HTTP server")?;
    Ok(())
}
