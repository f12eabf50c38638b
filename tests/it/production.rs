//! Production readiness: auth on every RPC, TLS and mutual TLS, the change stream, health,
//! reflection, metrics, limits and shutdown.

use std::path::Path;
use std::time::Duration;

use agenda::config::{AuthConfig, TlsConfig};
use agenda::domain::Limits;
use agenda::pb;
use prost::Message as _;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_prost::ProstCodec;
use tonic_types::StatusExt;

use crate::helpers::{TestApp, eventually, session, spawn_with};
use crate::interop;

const READ: &str = "reader-token-0123456789";
const WRITE: &str = "writer-token-0123456789";
const ADMIN: &str = "admin-token-0123456789ab";

/// A tokens file (the format of `--tokens-file`) in `dir` with one token of each scope.
fn tokens_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("tokens.toml");
    let entries = [("reader", "read", READ), ("writer", "write", WRITE), ("admin", "admin", ADMIN)].map(
        |(name, scope, token)| format!("[[tokens]]\nname = \"{name}\"\nscope = \"{scope}\"\ntoken = \"{token}\"\n"),
    );
    std::fs::write(&path, entries.join("\n")).unwrap();
    path
}

/// Every method of the agenda services, with whether it streams.
fn every_rpc() -> Vec<(String, bool)> {
    let fds = prost_types::FileDescriptorSet::decode(agenda::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in fds.file.iter().filter(|f| f.package() == "agenda.v1") {
        for service in &file.service {
            for m in &service.method {
                out.push((format!("/agenda.v1.{}/{}", service.name(), m.name()), m.server_streaming()));
            }
        }
    }
    assert_eq!(out.len(), 29, "13 session, 6 person, 3 feed, 6 invite and 1 admin RPCs");
    out
}

/// Calls `path` with an empty request message and the given token; returns the status code
/// (OK when the call, or the stream's first message, succeeded).
async fn call(app: &TestApp, path: &str, streaming: bool, token: Option<&str>) -> Code {
    let channel = Channel::from_shared(app.grpc_base.clone()).unwrap().connect().await.unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(());
    if let Some(t) = token {
        req.metadata_mut().insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req.set_timeout(Duration::from_secs(5));
    let path = PathAndQuery::try_from(path.to_owned()).unwrap();
    let codec = ProstCodec::<(), ()>::default();
    if streaming {
        match grpc.server_streaming(req, path, codec).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        }
    } else {
        match grpc.unary(req, path, codec).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        }
    }
}

async fn spawn_auth(require_read_token: bool) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = Some(tokens_file(dir.path()));
    let app = spawn_with(&dir.path().join("data"), false, Limits::default(), |c| {
        c.auth = AuthConfig { tokens_file, require_read_token, ..AuthConfig::default() }
    })
    .await;
    (app, dir)
}

fn auth_codes(code: Code) -> bool {
    matches!(code, Code::Unauthenticated | Code::PermissionDenied)
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_wrong_or_under_scoped_token() {
    let (app, _dir) = spawn_auth(false).await;
    for (path, streaming) in every_rpc() {
        let read = path.contains("/Get") || path.contains("/List") || path.contains("/Watch");
        let admin = path.contains(".FeedService/") || path.contains(".AdminService/");
        // No token: reads are open (by default), everything else is UNAUTHENTICATED.
        let none = call(&app, &path, streaming, None).await;
        if read && !admin {
            assert!(!auth_codes(none), "{path} without a token: {none:?}");
        } else {
            assert_eq!(none, Code::Unauthenticated, "{path} without a token");
        }
        assert_eq!(
            call(&app, &path, streaming, Some("not-a-token-at-all-xx")).await,
            Code::Unauthenticated,
            "{path} with a wrong token"
        );
        // Under-scoped: a read token cannot write, a write token cannot manage feed tokens.
        let with_read = call(&app, &path, streaming, Some(READ)).await;
        if read && !admin {
            assert!(!auth_codes(with_read), "{path} with a read token: {with_read:?}");
        } else {
            assert_eq!(with_read, Code::PermissionDenied, "{path} with a read token");
        }
        let with_write = call(&app, &path, streaming, Some(WRITE)).await;
        if admin {
            assert_eq!(with_write, Code::PermissionDenied, "{path} with a write token");
        } else {
            assert!(!auth_codes(with_write), "{path} with a write token: {with_write:?}");
        }
        let with_admin = call(&app, &path, streaming, Some(ADMIN)).await;
        assert!(!auth_codes(with_admin), "{path} with an admin token: {with_admin:?}");
    }
    // Health and reflection stay open for orchestrators and grpcurl.
    assert_eq!(call(&app, "/grpc.health.v1.Health/Check", false, None).await, Code::Ok);
}

#[tokio::test]
async fn with_closed_reads_every_read_needs_a_token() {
    let (app, _dir) = spawn_auth(true).await;
    for (path, streaming) in every_rpc() {
        assert_eq!(call(&app, &path, streaming, None).await, Code::Unauthenticated, "{path}");
    }
    let ok = call(&app, "/agenda.v1.PersonService/ListPeople", false, Some(READ)).await;
    assert_eq!(ok, Code::Ok);
}

#[test]
fn without_tokens_a_non_loopback_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenda"))
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--grpc-listen", "0.0.0.0:0", "--http-listen", "127.0.0.1:0"])
        .env_remove("AGENDA_TOKENS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to serve gRPC on 0.0.0.0:0 without tokens"), "{err}");
    assert!(err.contains("--insecure-no-auth"), "{err}");
}

/// A CA, a server certificate for localhost (and 127.0.0.1) and a client certificate, as PEM.
pub(crate) struct TestPki {
    pub(crate) ca: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    client_cert: String,
    client_key: String,
}

pub(crate) fn pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let server = CertificateParams::new(names).unwrap().signed_by(&server_key, &issuer).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client =
        CertificateParams::new(vec!["mail-service".to_owned()]).unwrap().signed_by(&client_key, &issuer).unwrap();
    TestPki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// The server's PEM files written to `dir`, as the TLS configuration names them (with the
/// CA as `client_ca` for mutual TLS).
fn tls_files(dir: &Path, pki: &TestPki, mutual: bool) -> TlsConfig {
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        Some(path)
    };
    TlsConfig {
        cert: write("server.pem", &pki.server_cert),
        key: write("server.key", &pki.server_key),
        client_ca: if mutual { write("ca.pem", &pki.ca) } else { None },
    }
}

async fn tls_client(app: &TestApp, pki: &TestPki, with_cert: bool) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca)).domain_name("localhost");
    if with_cert {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    Channel::from_shared(format!("https://localhost:{}", app.grpc_addr.port()))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await
}

#[tokio::test]
async fn tls_and_mutual_tls_work_with_a_test_ca_and_a_client_without_certificate_is_refused() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let tls = tls_files(dir.path(), &pki, false);
    let app = spawn_with(&dir.path().join("data"), true, Limits::default(), |c| c.tls = tls).await;
    let ch = tls_client(&app, &pki, false).await.unwrap();
    let mut people = pb::person_service_client::PersonServiceClient::new(ch);
    let p = people.get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.unwrap();
    assert_eq!(p.into_inner().person.unwrap().name, "Patrick Low");
    // Plaintext against the TLS port fails.
    let plain = Channel::from_shared(format!("http://{}", app.grpc_addr)).unwrap().connect().await;
    if let Ok(ch) = plain {
        let r = pb::person_service_client::PersonServiceClient::new(ch)
            .get_person(pb::GetPersonRequest { person_id: "patrick-low".into() })
            .await;
        assert!(r.is_err());
    }
    app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mtls = tls_files(dir.path(), &pki, true);
    let app = spawn_with(&dir.path().join("data"), true, Limits::default(), |c| c.tls = mtls).await;
    let ch = tls_client(&app, &pki, true).await.unwrap();
    let mut people = pb::person_service_client::PersonServiceClient::new(ch);
    assert!(people.get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.is_ok());
    // Without a client certificate: the handshake or the first call fails.
    let refused = match tls_client(&app, &pki, false).await {
        Err(_) => true,
        Ok(ch) => pb::person_service_client::PersonServiceClient::new(ch)
            .get_person(pb::GetPersonRequest { person_id: "patrick-low".into() })
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate must be refused");
    app.stop().await;
}

pub fn watch_req(after: Option<u64>) -> pb::WatchSessionsRequest {
    pb::WatchSessionsRequest { after_revision: after, ..Default::default() }
}

pub async fn next(stream: &mut tonic::Streaming<pb::WatchSessionsResponse>) -> pb::WatchSessionsResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change within 10 s")
        .unwrap()
        .unwrap()
}

fn kind(r: &pb::WatchSessionsResponse) -> String {
    let t =
        pb::ChangeType::try_from(r.change_type).unwrap().as_str_name().trim_start_matches("CHANGE_TYPE_").to_owned();
    format!("{t} {}", r.session_id)
}

#[tokio::test]
async fn a_watch_stream_sees_writes_in_order_and_resumes_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |_| {}).await;
    let mut watcher = app.sessions.clone();
    let mut stream = watcher.watch_sessions(watch_req(None)).await.unwrap().into_inner();

    // Another client writes.
    app.create("w1", session("One", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")).await;
    app.create("w2", session("Two", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z")).await;
    let rename = pb::UpdateSessionRequest {
        session: Some(pb::Session { id: "w1".into(), title: "One, renamed".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
    };
    app.sessions.clone().update_session(rename).await.unwrap();
    let mut seen = Vec::new();
    let mut revisions = Vec::new();
    for _ in 0..3 {
        let m = next(&mut stream).await;
        seen.push(kind(&m));
        revisions.push(m.revision);
        if m.session_id == "w1" && seen.len() == 3 {
            assert_eq!(m.session.as_ref().unwrap().title, "One, renamed");
        }
    }
    assert_eq!(seen, ["CREATED w1", "CREATED w2", "UPDATED w1"]);
    assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    drop(stream);

    // While the watcher is away: more writes.
    app.sessions
        .clone()
        .delete_session(pb::DeleteSessionRequest { session_id: "w2".into(), etag: String::new() })
        .await
        .unwrap();
    app.create("w3", session("Three", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z")).await;
    // Reconnect after the last revision seen: exactly the missed changes, then live ones.
    let mut stream = watcher.watch_sessions(watch_req(Some(*revisions.last().unwrap()))).await.unwrap().into_inner();
    assert_eq!(kind(&next(&mut stream).await), "DELETED w2");
    assert_eq!(kind(&next(&mut stream).await), "CREATED w3");
    app.create("w4", session("Four", "2026-12-04T09:00:00Z", "2026-12-04T10:00:00Z")).await;
    assert_eq!(kind(&next(&mut stream).await), "CREATED w4");

    // Filters: only one session's changes.
    let mut only = watcher
        .watch_sessions(pb::WatchSessionsRequest {
            after_revision: Some(0),
            session_id: "w1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kind(&next(&mut only).await), "CREATED w1");
    assert_eq!(kind(&next(&mut only).await), "UPDATED w1");
}

#[tokio::test]
async fn resuming_from_before_the_change_log_is_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(agenda::store::SledStore::open(dir.path()).unwrap()).shared();
    let agenda = agenda::app::Agenda::new(store, Limits::default()).await.unwrap().with_change_log(10);
    // 300 revisions: the log is pruned at revision 256 to the last 10.
    let mut s = agenda::transfer::parse(agenda::DEMO_DATA).unwrap().1.remove(0);
    s.id = agenda::domain::SessionId::parse("churn").unwrap();
    s.participants.clear();
    s.slots.clear();
    s.materials.clear();
    agenda.create_session(s).await.unwrap();
    for i in 0..300 {
        let title = format!("Churn {i}");
        agenda
            .update_session(&agenda::domain::SessionId::parse("churn").unwrap(), None, |s| {
                s.title = title.clone();
                Ok(())
            })
            .await
            .unwrap();
    }
    // Pruning runs in the background: wait for it.
    let from = eventually("the change log to be pruned", || async {
        let from = agenda.changes_from().await.unwrap();
        (from > 1).then_some(from)
    })
    .await;
    assert!(from > 200, "pruned up to {from}");
    drop(agenda);
    let app = spawn_with(dir.path(), false, Limits::default(), |_| {}).await;
    let err = app.sessions.clone().watch_sessions(watch_req(Some(5))).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange);
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!((info.reason.as_str(), info.metadata["after_revision"].as_str()), ("REVISION_COMPACTED", "5"));
    let mut ok = app.sessions.clone().watch_sessions(watch_req(Some(from - 1))).await.unwrap().into_inner();
    assert_eq!(next(&mut ok).await.revision, from);
}

/// The overall health name (`""`) and every service of the `agenda.v1` package.
fn health_names() -> Vec<String> {
    let fds = prost_types::FileDescriptorSet::decode(agenda::FILE_DESCRIPTOR_SET).unwrap();
    let services = fds.file.iter().filter(|f| f.package() == "agenda.v1").flat_map(|f| &f.service);
    let names: Vec<String> =
        std::iter::once(String::new()).chain(services.map(|s| format!("agenda.v1.{}", s.name()))).collect();
    assert!(names.contains(&"agenda.v1.AdminService".to_owned()), "{names:?}");
    names
}

#[tokio::test]
async fn health_reports_every_service_and_flips_to_not_serving_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_with(dir.path(), false, Limits::default(), |c| c.shutdown_grace_seconds = 1).await;
    let ch = Channel::from_shared(app.grpc_base.clone()).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(ch);
    let mut watches = Vec::new();
    for service in health_names() {
        let req = HealthCheckRequest { service: service.clone() };
        let r = health.check(req.clone()).await.unwrap_or_else(|e| panic!("Check {service:?}: {e}")).into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service:?}");
        let mut watch = health.watch(req).await.unwrap().into_inner();
        assert_eq!(watch.message().await.unwrap().unwrap().status, ServingStatus::Serving as i32, "{service:?}");
        watches.push((service, watch));
    }
    // An open change stream ends cleanly too.
    let mut changes = app.sessions.clone().watch_sessions(watch_req(None)).await.unwrap().into_inner();
    app.signal_shutdown();
    for (service, mut watch) in watches {
        let flipped = tokio::time::timeout(Duration::from_secs(5), watch.message()).await.unwrap().unwrap().unwrap();
        assert_eq!(flipped.status, ServingStatus::NotServing as i32, "{service:?}");
    }
    let end = tokio::time::timeout(Duration::from_secs(5), changes.message()).await.expect("the watch stream ends");
    assert!(matches!(end, Ok(None)), "ended cleanly: {end:?}");
    app.join().await.unwrap();
}

#[tokio::test]
async fn reflection_lists_every_service_for_a_third_party_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |_| {}).await;
    for flag in [None, Some("--v1")] {
        // The client blocks: run it off the runtime that serves it.
        let addr = app.grpc_addr.to_string();
        let out = tokio::task::spawn_blocking(move || interop::reflection(&addr, flag)).await.unwrap();
        let services = out["services"].as_object().unwrap();
        for name in [
            "agenda.v1.SessionService",
            "agenda.v1.PersonService",
            "agenda.v1.FeedService",
            "agenda.v1.InviteService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                services.contains_key(name),
                "{flag:?}: {name} missing from {:?}",
                services.keys().collect::<Vec<_>>()
            );
        }
        let watch = &services["agenda.v1.SessionService"]["methods"]["WatchSessions"];
        assert_eq!(watch["server_streaming"], true);
        assert_eq!(watch["output"], "agenda.v1.WatchSessionsResponse");
        assert_eq!(services["agenda.v1.SessionService"]["methods"].as_object().unwrap().len(), 13);
    }
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_the_requests_just_made() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |_| {}).await;
    for _ in 0..3 {
        app.session("fmg-msme-2022-11-17").await;
    }
    let missing = app.sessions.clone().get_session(pb::GetSessionRequest { session_id: "missing".into() }).await;
    assert!(missing.is_err());
    for _ in 0..2 {
        app.feed("/feeds/sessions/fmg-msme-2022-11-17.ics").await;
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let m = interop::metrics(&text);
    let f = &m["families"];
    let sample = |family: &str, labels: &[(&str, &str)]| -> f64 {
        f[family]["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("no family {family} in {text}"))
            .iter()
            .find(|s| {
                labels.iter().all(|(k, v)| s["labels"][*k] == *v) && !s["name"].as_str().unwrap().ends_with("_created")
            })
            .map(|s| s["value"].as_f64().unwrap())
            .unwrap_or(0.0)
    };
    let get = "/agenda.v1.SessionService/GetSession";
    assert_eq!(sample("agenda_grpc_requests", &[("method", get), ("code", "OK")]), 3.0);
    assert_eq!(sample("agenda_grpc_requests", &[("method", get), ("code", "NOT_FOUND")]), 1.0);
    assert_eq!(sample("agenda_http_requests", &[("route", "/feeds/sessions/{file}"), ("status", "200")]), 2.0);
    assert_eq!(f["agenda_grpc_request_duration_seconds"]["type"], "histogram");
    assert_eq!(sample("agenda_feed_cache_misses", &[]), 1.0);
    assert_eq!(sample("agenda_feed_cache_hits", &[]), 1.0);
    assert!(sample("agenda_store_size_bytes", &[]) > 0.0);
    assert_eq!(sample("agenda_watch_subscribers", &[]), 0.0);
}

#[tokio::test]
async fn oversize_messages_and_saturation_are_refused_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |o| {
        o.limits.max_message_bytes = 2048;
        o.limits.max_concurrent_requests = 1;
    })
    .await;
    let mut big = session("Big", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z");
    big.description = "x".repeat(10_000);
    let r = app
        .sessions
        .clone()
        .create_session(pb::CreateSessionRequest { session_id: "big".into(), session: Some(big), ..Default::default() })
        .await;
    assert_eq!(r.unwrap_err().code(), Code::OutOfRange, "tonic reports a message over the limit as OUT_OF_RANGE");

    // Hold the only permit with a request whose body never finishes, then call again.
    // Until the held request reaches the guard, calls still find the permit free.
    let held = crate::h2util::HeldRequest::open(app.grpc_addr, "/agenda.v1.PersonService/GetPerson").await;
    let refused = eventually("the held request to take the only permit", || async {
        let r = app.people.clone().get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await;
        r.err().filter(|s| s.code() == Code::ResourceExhausted)
    })
    .await;
    assert_eq!(refused.get_details_error_info().expect("ErrorInfo").reason, "CONCURRENCY_LIMIT");
    let (status, _) = held.finish(&pb::GetPersonRequest { person_id: "patrick-low".into() }.encode_to_vec()).await;
    assert_eq!(status, "0");
    // The permit is back.
    assert!(app.people.clone().get_person(pb::GetPersonRequest { person_id: "patrick-low".into() }).await.is_ok());
}

#[tokio::test]
async fn a_client_deadline_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), true, Limits::default(), |_| {}).await;
    let held =
        crate::h2util::HeldRequest::open_with_timeout(app.grpc_addr, "/agenda.v1.PersonService/GetPerson", "300m")
            .await;
    let (status, _) = held.wait_response().await;
    assert_eq!(status, (Code::Cancelled as i32).to_string(), "tonic ends a request past its grpc-timeout as CANCELLED");
}

#[tokio::test]
async fn an_in_flight_request_completes_across_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    crate::helpers::import_demo_into(dir.path());
    let server = crate::durability::Server::start(dir.path());
    let addr: std::net::SocketAddr = server.grpc.parse().unwrap();
    // A request whose body is still on its way when SIGTERM arrives.
    let mut held = crate::h2util::HeldRequest::open(addr, "/agenda.v1.PersonService/GetPerson").await;
    held.reached_server().await;
    server.terminate();
    eventually("the server to begin its shutdown", || async { server.logged("shutting down").pop() }).await;
    let (status, body) = held.finish(&pb::GetPersonRequest { person_id: "petter-olberg".into() }.encode_to_vec()).await;
    assert_eq!(status, "0", "the in-flight call completes");
    let reply = pb::GetPersonResponse::decode(&body[5..]).unwrap();
    assert_eq!(reply.person.unwrap().name, "Petter Ølberg");
    // And the process exits cleanly.
    assert!(tokio::task::spawn_blocking(move || server.wait()).await.unwrap(), "exit status 0");
}

#[test]
fn print_config_shows_the_resolved_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agenda.toml");
    std::fs::write(&file, "public_url = \"https://agenda.example.org\"\n[limits]\nmax_slots = 500\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenda"))
        .args(["serve", "--print-config", "--config"])
        .arg(&file)
        .args(["--max-participants", "42"])
        .env("AGENDA_UID_DOMAIN", "agenda.example.org")
        .env("AGENDA_MAX_WATCHERS", "7")
        .env("AGENDA_MAX_PARTICIPANTS", "30")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed["public_url"].as_str(), Some("https://agenda.example.org"), "from the file");
    assert_eq!(printed["uid_domain"].as_str(), Some("agenda.example.org"), "from the environment");
    assert_eq!(printed["limits"]["max_slots"].as_integer(), Some(500));
    assert_eq!(printed["limits"]["max_watchers"].as_integer(), Some(7), "a nested key from the environment");
    assert_eq!(printed["limits"]["max_participants"].as_integer(), Some(42), "a flag over the environment");
    assert_eq!(printed["grpc_listen"].as_str(), Some("127.0.0.1:50051"), "a default");
}

#[tokio::test]
async fn a_watcher_that_does_not_read_never_stalls_writers_and_catches_up_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(dir.path(), false, Limits::default(), |_| {}).await;
    let sessions = 50;
    let rounds = 24;
    for s in 0..sessions {
        app.create(&format!("busy-{s}"), session("Busy", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")).await;
    }
    // Subscribed, then not read while more writes than the notification channel holds
    // (1,024) go by: concurrent writers, sharing flushes.
    let mut stream = app.sessions.clone().watch_sessions(watch_req(None)).await.unwrap().into_inner();
    for round in 0..rounds {
        let writes: Vec<_> = (0..sessions)
            .map(|s| {
                let mut c = app.sessions.clone();
                tokio::spawn(async move {
                    let req = pb::UpdateSessionRequest {
                        session: Some(pb::Session {
                            id: format!("busy-{s}"),
                            title: format!("Busy {round}"),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
                    };
                    c.update_session(req).await.unwrap();
                })
            })
            .collect();
        for w in writes {
            w.await.unwrap();
        }
    }
    // Every change arrives, in commit order, none twice, each session's in its own order.
    let mut last = 0;
    let mut per_session = std::collections::HashMap::new();
    for _ in 0..sessions * rounds {
        let m = next(&mut stream).await;
        assert!(m.revision > last, "revision {} after {last}", m.revision);
        last = m.revision;
        let round: usize = m.session.unwrap().title.trim_start_matches("Busy ").parse().unwrap();
        let seen = per_session.entry(m.session_id).or_insert(0);
        assert_eq!(round, *seen, "rounds of one session arrive in order");
        *seen += 1;
    }
    assert!(per_session.values().all(|&n| n == rounds));
}
