//! `spawn_app` (the server built from a `Config` by `agenda::server::build`, as `main` does),
//! `eventually` (polling instead of sleeping) and request builders shared by the tests.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use agenda::config::Config;
use agenda::domain::Limits;
use agenda::pb::{
    self, feed_service_client::FeedServiceClient, person_service_client::PersonServiceClient,
    session_service_client::SessionServiceClient,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// A running server with clients, on its own temporary store.
pub struct TestApp {
    pub sessions: SessionServiceClient<Channel>,
    pub people: PersonServiceClient<Channel>,
    pub feeds: FeedServiceClient<Channel>,
    pub http_base: String,
    /// `http://127.0.0.1:PORT` of the gRPC listener (`https` with TLS).
    pub grpc_base: String,
    pub grpc_addr: std::net::SocketAddr,
    /// Keeps the temporary directory alive for the test's duration (None when the caller owns it).
    _dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A fresh server on an empty temporary store.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().to_owned();
    let mut app = spawn_app_at(&path, false, Limits::default()).await;
    app._dir = Some(dir);
    app
}

/// A fresh server with the demo session loaded.
pub async fn spawn_demo_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().to_owned();
    let mut app = spawn_app_at(&path, true, Limits::default()).await;
    app._dir = Some(dir);
    app
}

/// A server on the store in `path` (the caller keeps the directory).
pub async fn spawn_app_at(path: &Path, demo: bool, limits: Limits) -> TestApp {
    spawn_with(path, demo, limits, |_| {}).await
}

/// A server on the store in `path`, built through `agenda::server::build` from a `Config`
/// that `configure` may adjust (tokens file, TLS files, limits, grace period, public URL).
/// Listeners are bound on port 0 first and the config names them. The returned clients speak
/// plaintext gRPC without a token.
pub async fn spawn_with(path: &Path, demo: bool, limits: Limits, configure: impl FnOnce(&mut Config)) -> TestApp {
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc.local_addr().unwrap();
    let http_addr = http.local_addr().unwrap();
    let mut config = Config {
        data: path.to_owned(),
        grpc_listen: grpc_addr,
        http_listen: http_addr,
        demo,
        public_url: format!("http://{http_addr}"),
        ..Config::default()
    };
    config.limits.max_slots = limits.max_slots;
    config.limits.max_participants = limits.max_participants;
    configure(&mut config);
    let service = agenda::server::build(&config).await.expect("building the service from its config");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        service
            .run(grpc, http, async move {
                let _ = stopped.await;
            })
            .await
            .map(drop)
    });
    let scheme = if config.tls.cert.is_some() { "https" } else { "http" };
    let channel = Channel::from_shared(format!("http://{grpc_addr}")).unwrap().connect_lazy();
    TestApp {
        sessions: SessionServiceClient::new(channel.clone()),
        people: PersonServiceClient::new(channel.clone()),
        feeds: FeedServiceClient::new(channel),
        http_base: format!("http://{http_addr}"),
        grpc_base: format!("{scheme}://{grpc_addr}"),
        grpc_addr,
        _dir: None,
        stop: Some(stop),
        task: Some(task),
    }
}

/// How long [`eventually`] waits. A deadline, not a timing: a condition met at once passes at
/// once. Generous, since a loaded 2-core machine (a parallel build, the whole suite's servers)
/// once took over 10 s for held calls to reach the concurrency guard.
pub const EVENTUALLY_WITHIN: Duration = Duration::from_secs(30);

/// Polls `check` until it returns `Some`, and returns that; fails the test with `what` when
/// it has not within [`EVENTUALLY_WITHIN`]. For conditions the server reaches in the
/// background (pruning, a request reaching the handler, a log line): no fixed sleep to tune.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + EVENTUALLY_WITHIN;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "still waiting after {EVENTUALLY_WITHIN:?} for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl TestApp {
    /// Stops the server and waits until it has released the store.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        self.shutdown().await;
        self._dir.take()
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the server to stop; returns its result.
    pub async fn join(&mut self) -> anyhow::Result<()> {
        self.task.take().expect("not joined yet").await.expect("server task")
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server");
        }
    }

    /// A session by id (panics when absent).
    pub async fn session(&self, id: &str) -> pb::Session {
        let r = self.sessions.clone().get_session(pb::GetSessionRequest { session_id: id.into() }).await;
        r.unwrap().into_inner().session.unwrap()
    }

    /// Creates a person with a given id.
    pub async fn person(&self, id: &str, name: &str) -> pb::Person {
        let req = pb::CreatePersonRequest {
            person_id: id.into(),
            person: Some(pb::Person { name: name.into(), email: format!("{id}@example.org"), ..Default::default() }),
            ..Default::default()
        };
        self.people.clone().create_person(req).await.unwrap().into_inner().person.unwrap()
    }

    /// Creates a session.
    pub async fn create(&self, id: &str, s: pb::Session) -> pb::Session {
        let req = pb::CreateSessionRequest { session_id: id.into(), session: Some(s), ..Default::default() };
        self.sessions.clone().create_session(req).await.unwrap().into_inner().session.unwrap()
    }

    /// Every session matching `req`, following page tokens; also returns the page count.
    pub async fn list_all(&self, mut req: pb::ListSessionsRequest) -> (Vec<String>, usize) {
        let mut ids = Vec::new();
        let mut pages = 0;
        loop {
            let page = self.sessions.clone().list_sessions(req.clone()).await.unwrap().into_inner();
            pages += 1;
            ids.extend(page.sessions.into_iter().map(|s| s.id));
            if page.next_page_token.is_empty() {
                return (ids, pages);
            }
            req.page_token = page.next_page_token;
        }
    }
}

impl TestApp {
    /// GETs a path of the HTTP listener and returns the response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.http_base)).await.expect("HTTP request")
    }

    /// The body of a feed that must answer 200 with the calendar content type.
    pub async fn feed(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
        r.text().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A timestamp from RFC 3339.
pub fn ts(s: &str) -> prost_types::Timestamp {
    let t: jiff::Timestamp = s.parse().expect("RFC 3339");
    prost_types::Timestamp { seconds: t.as_second(), nanos: 0 }
}

/// A minimal valid session from `start` to `end` (UTC, RFC 3339).
pub fn session(title: &str, start: &str, end: &str) -> pb::Session {
    pb::Session {
        title: title.into(),
        organizer: Some(pb::Organizer {
            name: "Friends of Multilateralism Group".into(),
            short_name: "FMG".into(),
            email: "fmg@example.org".into(),
        }),
        format: pb::SessionFormat::InPerson as i32,
        time_zone: "Europe/Zurich".into(),
        start_time: Some(ts(start)),
        end_time: Some(ts(end)),
        ..Default::default()
    }
}

/// A slot.
pub fn slot(id: &str, title: &str, start: &str, end: &str) -> pb::Slot {
    pb::Slot {
        id: id.into(),
        title: title.into(),
        start_time: Some(ts(start)),
        end_time: Some(ts(end)),
        ..Default::default()
    }
}

/// The code of a failed call, and its BadRequest field paths.
pub fn failure<T: std::fmt::Debug>(r: Result<T, Status>) -> (Code, Vec<String>) {
    let status = r.expect_err("the call should fail");
    let fields = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    (status.code(), fields)
}

/// The ErrorInfo reason of a failed call.
pub fn reason<T: std::fmt::Debug>(r: Result<T, Status>) -> String {
    r.expect_err("the call should fail").get_details_error_info().map(|i| i.reason).unwrap_or_default()
}

/// A small deterministic generator (xorshift), so a failing run can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `agenda import` of the demo file into `dir` with the real binary.
pub fn import_demo_into(dir: &Path) {
    import_into(dir, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/fmg-msme-2022-11-17.json")));
}

/// `agenda import FILE` into `dir` with the real binary.
pub fn import_into(dir: &Path, file: &Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenda"))
        .arg("--data")
        .arg(dir)
        .arg("import")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
