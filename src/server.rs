//! Running the service: [`build`] turns a [`Config`] into a ready [`Service`] (tokens, TLS,
//! the store, the demo), and [`Service::run`] serves both listeners (the gRPC middleware for
//! auth, the concurrency limit and metrics; health and reflection) until one shutdown signal.
//! `main` and the integration tests both go through `build`, so the tests exercise the
//! production wiring; only binding the listeners and the signal are the caller's.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Status};

use crate::api::{AdminApi, FeedApi, InviteApi, PersonApi, ReadCache, ScheduleApi, SessionApi};
use crate::app::Agenda;
use crate::auth::Auth;
use crate::config::{Config, LimitsConfig, StoreChoice};
use crate::http::{HttpLimits, SiteSettings};
use crate::mail::mailbox::Poller;
use crate::mail::smtp::Sender;
use crate::metrics::Metrics;
use crate::pb::admin_service_server::AdminServiceServer;
use crate::pb::feed_service_server::FeedServiceServer;
use crate::pb::invite_service_server::InviteServiceServer;
use crate::pb::person_service_server::PersonServiceServer;
use crate::pb::schedule_service_server::ScheduleServiceServer;
use crate::pb::session_service_server::SessionServiceServer;
use crate::store::{SledStore, Store};

/// The gRPC services whose health is reported, by the names tonic's generated servers route
/// on: one list for SERVING and for NOT_SERVING (the production tests check it against every
/// service of the descriptor set).
const HEALTH_REPORTED: [&str; 6] = [
    <SessionServiceServer<SessionApi> as NamedService>::NAME,
    <PersonServiceServer<PersonApi> as NamedService>::NAME,
    <FeedServiceServer<FeedApi> as NamedService>::NAME,
    <InviteServiceServer<InviteApi> as NamedService>::NAME,
    <AdminServiceServer<AdminApi> as NamedService>::NAME,
    <ScheduleServiceServer<ScheduleApi> as NamedService>::NAME,
];

/// The health service name that says whether writes are taken: NOT_SERVING while the store's
/// reads are stale (an etcd cluster without quorum refuses writes) or once a flush failed
/// (the store stopped taking writes), when the services above stay SERVING because reads
/// still are. A load balancer that routes writes checks this one.
pub const WRITES_HEALTH: &str = "agenda.v1.Writes";

/// How often the store is probed for staleness when no client reads.
const STALE_PROBE_EVERY: Duration = Duration::from_secs(1);

/// Keeps [`WRITES_HEALTH`] in step with the store: probes it each [`STALE_PROBE_EVERY`] (a
/// read, so an engine notices quorum loss or its return without a client's read).
async fn report_writes(agenda: Agenda, health: tonic_health::server::HealthReporter) {
    let mut serving = None;
    loop {
        let probed = agenda.probe_store().await;
        let now = probed.is_ok() && agenda.stale_since().is_none() && agenda.writes_stopped().is_none();
        if serving != Some(now) {
            let status =
                if now { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
            health.set_service_status(WRITES_HEALTH, status).await;
            serving = Some(now);
        }
        tokio::time::sleep(STALE_PROBE_EVERY).await;
    }
}

/// A service built from its configuration: the store is open (and the demo loaded), tokens
/// and TLS are read. Only the listeners and the shutdown signal are missing.
pub struct Service {
    agenda: Agenda,
    /// A sled store is flushed after serving, then handed back: the binary reopens it once
    /// (checkpoint). An etcd store has nothing to flush: every write was acknowledged by a quorum.
    store: Option<Arc<SledStore>>,
    /// Where the store lives, for the "serving" log line.
    data: String,
    options: ServerOptions,
}

/// Everything `serve` needs besides the data and the listeners.
struct ServerOptions {
    /// What the feeds, the pages and the API's links and invites are rendered with.
    site: SiteSettings,
    auth: Auth,
    /// TLS (and mutual TLS when it has a client CA) for the gRPC port.
    tls: Option<ServerTlsConfig>,
    /// The gRPC port's bounds.
    limits: LimitsConfig,
    http_limits: HttpLimits,
    /// Bounds of the read cache (GetSession, GetPerson).
    read_cache: crate::api::Bounds,
    /// How long in-flight requests get to finish after the shutdown signal.
    grace: Duration,
    metrics: Arc<Metrics>,
    /// The built-in SMTP sender, when `smtp.url` is configured (src/mail/smtp/).
    smtp: Option<Sender>,
    /// The benchmarks' write floor, when built with `bench-floor` and switched on.
    #[cfg(feature = "bench-floor")]
    floor: Option<crate::bench_floor::FloorServer>,
    /// Reads replies from the organizer's mailbox, when `reply_mailbox.url` is set.
    reply_mailbox: Option<Poller>,
}

/// Opens the store the configuration names: sled in its `data` directory (or the one
/// `sled:DIR` names), or an etcd cluster (feature `etcd`). Also returns where it lives, for the logs.
pub async fn open_configured(config: &Config) -> anyhow::Result<(Agenda, Option<Arc<SledStore>>, String)> {
    let (store, sled, place) = open_store(config).await?;
    let agenda = Agenda::new(store, config.domain_limits()).await.context("reading the store's revision")?;
    Ok((agenda, sled, place))
}

/// The store the configuration names, without the service over it (`agenda migrate` copies
/// between two): sled also as itself (to flush and checkpoint), and where it lives.
pub async fn open_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<SledStore>>, String)> {
    match config.store_choice()? {
        StoreChoice::Sled(dir) => {
            let store = open_sled(&dir, config.cache.sled_bytes).await?;
            Ok((store.shared(), Some(store), dir.display().to_string()))
        }
        #[cfg(feature = "etcd")]
        StoreChoice::Etcd { endpoints, prefix, max_txn_ops } => {
            use crate::store::{ETCD_DEFAULT_MAX_TXN_OPS, EtcdOptions, EtcdStore};
            let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
            let ca_pem = config.etcd.ca.as_deref().map(read).transpose()?;
            let user = match (&config.etcd.user, &config.etcd.password_file) {
                (Some(user), Some(file)) => {
                    let password = String::from_utf8(read(file)?).context("the etcd password file is not UTF-8")?;
                    Some((user.clone(), crate::secret::Secret::new(password.trim_end_matches(['\r', '\n']))))
                }
                _ => None,
            };
            let max_txn_ops = max_txn_ops.unwrap_or(ETCD_DEFAULT_MAX_TXN_OPS);
            let options = EtcdOptions { prefix, max_txn_ops, user, ca_pem };
            let store = EtcdStore::connect(&endpoints, options)
                .await
                .with_context(|| format!("connecting to etcd at {}", endpoints.join(",")))?;
            Ok((store.shared(), None, config.store.clone()))
        }
        #[cfg(not(feature = "etcd"))]
        StoreChoice::Etcd { .. } => {
            anyhow::bail!("store {}: this build has no etcd engine; build agenda with --features etcd", config.store)
        }
    }
}

/// Opens the store in `dir` off the reactor (sled replays its log at open).
async fn open_sled(dir: &Path, cache_bytes: u64) -> anyhow::Result<Arc<SledStore>> {
    let path = dir.to_owned();
    let store = tokio::task::spawn_blocking(move || SledStore::open_with_cache(&path, cache_bytes))
        .await?
        .with_context(|| format!("opening the store in {}", dir.display()))?;
    Ok(Arc::new(store))
}

/// Everything `agenda serve` does before it binds: loads the tokens (file, then the
/// `AGENDA_TOKENS` environment variable), refuses to serve without them on a non-loopback
/// address, reads the TLS files, opens the store, sets the change log, loads the demo.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let tokens =
        crate::auth::load_tokens(config.auth.tokens_file.as_deref(), std::env::var("AGENDA_TOKENS").ok().as_deref())
            .context("loading tokens")?;
    let auth = Auth::new(tokens, config.auth.require_read_token);
    if !auth.enabled() {
        if !config.grpc_listen.ip().is_loopback() && !config.auth.insecure_no_auth {
            anyhow::bail!(
                "refusing to serve gRPC on {} without tokens: anyone who reaches it could change every agenda. \
                 Configure tokens (--tokens-file or AGENDA_TOKENS), listen on loopback, or pass --insecure-no-auth",
                config.grpc_listen
            );
        }
        tracing::warn!("authentication is off: no tokens are configured (fine on a laptop, not in production)");
    }
    let tls = tls_config(config)?;
    let (agenda, store, data) = open_configured(config).await?;
    let agenda = agenda
        .with_change_log(config.change_log_revisions)
        .with_conflict_check(config.schedule.check_conflicts)
        .with_request_window(Duration::from_secs(config.request_id_hours.max(1).saturating_mul(3600)))
        .with_leadership(config.leader_settings());
    if config.demo {
        // Only where absent: a restart must never undo the edits made to the demo since.
        let summary = crate::app::import::import(&agenda, crate::DEMO_DATA, crate::app::ImportMode::SkipExisting)
            .await
            .context("loading the demo session")?;
        tracing::info!(%summary, "demo data loaded");
    }
    let metrics = Arc::new(Metrics::default());
    let site = config.site_settings();
    // The mail subsystems' TLS settings (the reply mailbox's CA file) are read now, so a
    // mistake stops the start.
    let reply_mailbox = match config.reply_mailbox_settings()? {
        Some(settings) => Some(
            Poller::new(agenda.clone(), site.calendar.clone(), settings, Arc::clone(&metrics))
                .context("the reply mailbox")?,
        ),
        None => None,
    };
    let smtp = match config.smtp_settings()? {
        Some(settings) => Some(Sender::new(settings, site.calendar.clone()).context("configuring the SMTP sender")?),
        None => None,
    };
    let options = ServerOptions {
        site,
        auth,
        tls,
        limits: config.limits.clone(),
        http_limits: config.http_limits(),
        read_cache: crate::api::Bounds { max_entries: config.cache.read_entries, max_bytes: config.cache.read_bytes },
        grace: Duration::from_secs(config.shutdown_grace_seconds),
        metrics,
        smtp,
        reply_mailbox,
        #[cfg(feature = "bench-floor")]
        floor: store
            .as_ref()
            .and_then(|s| crate::bench_floor::FloorServer::from_env(s, config.limits.max_message_bytes)),
    };
    Ok(Service { agenda, store, data, options })
}

/// TLS for the gRPC port from the configured PEM files; mutual TLS with a client CA.
fn tls_config(config: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) else { return Ok(None) };
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
    if let Some(ca) = &config.tls.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(Some(tls))
}

impl Service {
    /// Serves gRPC on `grpc` and HTTP on `http` until `shutdown` completes (see `serve`),
    /// then flushes a sled store and returns it. Listeners are bound by the caller, so tests
    /// bind port 0 and production logs the real addresses.
    pub async fn run(
        self,
        grpc: TcpListener,
        http: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Option<Arc<SledStore>>> {
        let Service { agenda, store, data, options } = self;
        tracing::info!(
            grpc = %grpc.local_addr()?,
            http = %http.local_addr()?,
            data = %data,
            tls = options.tls.is_some(),
            auth = options.auth.enabled(),
            "serving"
        );
        serve(agenda, options, grpc, http, shutdown).await?;
        if let Some(store) = &store {
            let flushing = Arc::clone(store);
            tokio::task::spawn_blocking(move || flushing.flush()).await?.context("flushing the store")?;
        }
        Ok(store)
    }
}

/// Serves until `shutdown` completes. Then: health reports NOT_SERVING, watch streams end,
/// both listeners stop accepting, in-flight requests get the grace period to finish, and
/// `serve` returns (the caller flushes the store).
async fn serve(
    agenda: Agenda,
    options: ServerOptions,
    grpc: TcpListener,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let ServerOptions {
        site,
        auth,
        tls,
        limits,
        http_limits,
        read_cache,
        grace,
        metrics,
        smtp,
        #[cfg(feature = "bench-floor")]
        floor,
        reply_mailbox,
    } = options;
    let max = limits.max_message_bytes;

    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building reflection v1")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building reflection v1alpha")?;

    let cache = ReadCache::new(agenda.clone(), read_cache, Arc::clone(&metrics));
    let sessions = crate::api::session_server(
        SessionApi::new(
            agenda.clone(),
            site.links.clone(),
            Arc::clone(&metrics),
            stop_rx.clone(),
            limits.max_watchers,
            cache.clone(),
        ),
        max,
    );
    let people = crate::api::person_server(PersonApi::new(agenda.clone(), site.links.clone(), cache), max);
    let feed_tokens =
        FeedServiceServer::new(FeedApi::new(agenda.clone(), site.links.clone())).max_decoding_message_size(max);
    let invites = InviteServiceServer::new(InviteApi::new(agenda.clone(), site.calendar.clone(), site.links.clone()))
        .max_decoding_message_size(max);
    for name in std::iter::once("").chain(HEALTH_REPORTED) {
        health.set_service_status(name, tonic_health::ServingStatus::Serving).await;
    }
    let writes_health = tokio::spawn(report_writes(agenda.clone(), health.clone()));
    // The SMTP sender stops with the listeners (abandoning, unmarked, a message in flight).
    let mut smtp_task =
        smtp.map(|sender| tokio::spawn(sender.run(agenda.clone(), Arc::clone(&metrics), stop_rx.clone())));
    // The reply mailbox poller stops with the listeners; a poll in progress is dropped (its
    // unfiled messages stay in the mailbox).
    let reply_mailbox = reply_mailbox.map(|poller| tokio::spawn(poller.run(stopped(stop_rx.clone()))));

    #[cfg_attr(not(feature = "bench-floor"), allow(unused_mut))]
    let mut methods = known_methods();
    // The floor's calls get their own metrics label, as the script's checks of /metrics need.
    #[cfg(feature = "bench-floor")]
    if floor.is_some() {
        methods.insert(crate::bench_floor::PATH.to_owned());
        methods.insert(crate::bench_floor::READ_PATH.to_owned());
    }
    let guard = GuardLayer(Arc::new(GuardState {
        auth,
        requests: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
        metrics: Arc::clone(&metrics),
        methods,
        agenda: agenda.clone(),
    }));
    let mut builder = Server::builder().timeout(Duration::from_secs(limits.request_timeout_seconds));
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).context("configuring TLS")?;
    }
    let router = builder
        .layer(guard)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(sessions)
        .add_service(people)
        .add_service(feed_tokens)
        .add_service(invites)
        .add_service(AdminServiceServer::new(AdminApi::new(agenda.clone())))
        .add_service(ScheduleServiceServer::new(ScheduleApi::new(agenda.clone())).max_decoding_message_size(max));
    #[cfg(feature = "bench-floor")]
    let router = router.add_optional_service(floor);
    let grpc_server = router
        // TCP_NODELAY: without it, small answers wait for the peer's delayed ACK (~40 ms on
        // Linux) whenever a client sends its next call only after the previous answer.
        .serve_with_incoming_shutdown(TcpIncoming::from(grpc).with_nodelay(Some(true)), stopped(stop_rx.clone()));
    let mut grpc_task = tokio::spawn(grpc_server);

    // The benchmarks' HTTP floor, when built with `bench-floor` and switched on.
    #[cfg(feature = "bench-floor")]
    let extra = crate::bench_floor::http_routes().unwrap_or_default();
    #[cfg(not(feature = "bench-floor"))]
    let extra = axum::Router::new();
    let router = crate::http::router(agenda, site, Arc::clone(&metrics), http_limits, extra);
    let http_server = axum::serve(http, router).with_graceful_shutdown(stopped(stop_rx));
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
    // Orchestrators see NOT_SERVING first, then the listeners close.
    writes_health.abort();
    for name in std::iter::once("").chain(HEALTH_REPORTED).chain([WRITES_HEALTH]) {
        health.set_service_status(name, tonic_health::ServingStatus::NotServing).await;
    }
    let _ = stop_tx.send(true);
    if let Some(task) = reply_mailbox {
        let _ = task.await;
    }
    let drained = tokio::time::timeout(grace, async {
        let g = (&mut grpc_task).await;
        let h = (&mut http_task).await;
        if let Some(smtp) = smtp_task.as_mut() {
            let _ = smtp.await;
        }
        (g, h)
    })
    .await;
    match drained {
        Ok((g, h)) => {
            g.context("gRPC server task")?.context("gRPC server")?;
            h.context("HTTP server task")?.context("HTTP server")?;
        }
        Err(_) => {
            // Streams that never end by themselves (e.g. a health Watch) hold the
            // graceful shutdown open: past the grace period they are cut.
            tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; closing the remaining connections");
            grpc_task.abort();
            http_task.abort();
            if let Some(smtp) = &smtp_task {
                smtp.abort();
            }
        }
    }
    Ok(())
}

/// `/package.Service/Method` of every method served, so metrics get bounded labels.
fn known_methods() -> HashSet<String> {
    let mut out = HashSet::new();
    for set in [crate::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
        if let Ok(fds) = prost_types::FileDescriptorSet::decode(set) {
            for file in fds.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    for method in service.method {
                        out.insert(format!(
                            "/{package}.{}/{}",
                            service.name.as_deref().unwrap_or_default(),
                            method.name.unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    out.insert("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".into());
    out.insert("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo".into());
    out
}

/// The upper snake case name of a gRPC code, as metrics label it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

struct GuardState {
    auth: Auth,
    /// Asked after each call whether the store's reads are stale, to say so in the answer.
    agenda: Agenda,
    /// Permits for unary calls in progress; none left means RESOURCE_EXHAUSTED at once
    /// (queueing would only turn overload into timeouts).
    requests: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    methods: HashSet<String>,
}

/// The gRPC middleware: authentication and authorization, the concurrency limit, and
/// request metrics, in front of every service.
#[derive(Clone)]
struct GuardLayer(Arc<GuardState>);

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, state: Arc::clone(&self.0) }
    }
}

#[derive(Clone)]
struct Guard<S> {
    inner: S,
    state: Arc<GuardState>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower::Service<http::Request<Body>> for Guard<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let start = Instant::now();
        let state = Arc::clone(&self.state);
        let path = req.uri().path();
        let method = if state.methods.contains(path) { path.to_owned() } else { "unknown".to_owned() };
        let refuse = |status: Status| -> Self::Future {
            state.metrics.grpc_request(&method, code_name(status.code()), start.elapsed());
            Box::pin(std::future::ready(Ok(status.into_http())))
        };
        let authorization = req.headers().get("authorization").map(|v| v.as_bytes());
        if let Err(status) = state.auth.check(path, authorization) {
            return refuse(status);
        }
        // The one method whose answer depends on whose token it is (see `SeesPrivate`).
        let sees_private = (path == crate::api::LIST_CONFLICTS)
            .then(|| crate::api::SeesPrivate(state.auth.sees_private(authorization)));
        let bounded = !path.ends_with("/WatchSessions") && path.starts_with("/agenda.");
        if let Some(sees) = sees_private {
            req.extensions_mut().insert(sees);
        }
        // Streams are bounded by their own limit (max_watchers), not by this one.
        let permit = if !bounded {
            None
        } else {
            match Arc::clone(&state.requests).try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    return refuse(crate::api::status::refusal(
                        crate::error::Reason::ConcurrencyLimit,
                        "the server is at its concurrency limit; retry with backoff",
                        [("method", method.clone())],
                    ));
                }
            }
        };
        // The ready service is the one to call (tower's contract); a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            drop(permit);
            if state.agenda.stale_since().is_some() {
                response.headers_mut().insert(crate::headers::STALE, http::HeaderValue::from_static("true"));
            }
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map_or("OK", |c| code_name(Code::from_i32(c)));
            state.metrics.grpc_request(&method, code, start.elapsed());
            Ok(response)
        })
    }
}

#[cfg(all(test, not(feature = "etcd")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_etcd_store_without_the_etcd_feature_says_how_to_build_it() {
        let config = Config { store: "etcd://127.0.0.1:2379".into(), ..Config::default() };
        let refused = build(&config).await.err().expect("no etcd engine in this build").to_string();
        assert!(refused.contains("--features etcd"), "{refused}");
    }
}
