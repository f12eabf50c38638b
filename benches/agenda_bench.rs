//! The benchmark driver behind `scripts/bench` (issue 6): the in-process parts and the load
//! generators that wrk and h2load cannot play. Each subcommand prints `key=value` lines that
//! the script reads; see `scripts/bench` for the whole run and BENCHMARKS.md for results.
//!
//! A `[[bench]]` target (not a second binary of the package) because it is a development tool:
//! it is not installed with the service, `cargo run` keeps one binary to run, and it may use
//! the dev-dependencies (h2, tempfile). Run by `cargo test --all-targets` without a subcommand,
//! it does a quick self-check on tiny data and exits.
//!
//! ```text
//! gen          generate a store (synth::Spec, benches/synth.rs) into a sled directory, through
//!              the service's import path, many writes at once
//! render       cold render of the 1,000-slot agenda feed, in process; --json dumps its events
//! grpc-files   h2load request bodies (5-byte gRPC prefix + protobuf message)
//! floor-file   the request body of the gRPC read floor for an answer of N bytes
//! grpc-verify  sends those same bytes over HTTP/2 and checks grpc-status 0
//! latency      sequential ListSessions (one-week window) and ListPersonSlots: p50/p99
//! sweep        concurrent GetSession / ListPersonSlots over the whole store (memory under load)
//! writes       concurrent CreateSession, then UpdateSlot, over gRPC for a fixed time
//! floor        the gRPC write floor (feature bench-floor), then `writes`, on one server:
//!              each write's rate as a ratio to the floor's (issue 12)
//! write-profile  `floor`'s loads against a server under callgrind, each dumped apart
//!              (scripts/profile-writes: instructions per request by stage, issue 22)
//! keys         keys written and read per CreateSession and UpdateSlot on generated data
//! raw-sled     the reference: N threads insert into sled, one flusher thread group-commits
//! outbox       the SMTP sender's look at the invite outbox with N coming sessions, all sent
//! schedule     ListConflicts of a regular, QueryFreeBusy of 100 regulars over a year, and
//!              ListPersonSlots of the same regular: p50/p99 (issue 24)
//! creates      CreateSession of N new sessions of the spec (distinct times and people), a
//!              fixed number at once: the rate (run with the conflict check on and off)
//! participants the sender's look at one session inviting N participants (issue 23)
//! ```

mod synth;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use agenda::app::Agenda;
use agenda::domain::{Limits, Session, Timestamp};
use agenda::ics::feed::{self, CalendarInfo, CalendarSettings, People};
use agenda::links::FeedLinks;
use agenda::pb;
use agenda::pb::person_service_client::PersonServiceClient;
use agenda::pb::session_service_client::SessionServiceClient;
use agenda::store::SledStore;
use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use prost::Message as _;
use synth::Spec;
use tonic::transport::Channel;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Scale,
    Small,
}

/// Which synthetic store: a preset, optionally with another session count (same density),
/// start date or seed.
#[derive(clap::Args, Clone)]
struct SpecArgs {
    #[arg(long, value_enum, default_value = "small")]
    preset: Preset,
    /// Sessions (people and days in proportion).
    #[arg(long)]
    sessions: Option<usize>,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    start: Option<String>,
}

impl SpecArgs {
    fn spec(&self) -> Spec {
        let mut spec = match self.preset {
            Preset::Scale => Spec::scale(),
            Preset::Small => Spec::small(),
        };
        if let Some(n) = self.sessions {
            spec = spec.scaled_to(n);
        }
        if let Some(d) = &self.start {
            spec.start = day(d);
        }
        spec
    }
}

fn day(d: &str) -> Timestamp {
    format!("{d}T00:00:00Z").parse().unwrap_or_else(|e| panic!("bad date {d:?}: {e}"))
}

#[derive(Subcommand)]
enum Command {
    /// Generates a store.
    Gen {
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        spec: SpecArgs,
        /// Writes in flight at once (group commit shares their flushes).
        #[arg(long, default_value_t = 256)]
        threads: usize,
        /// Also one large agenda with this id (conference week), from --agenda-start.
        #[arg(long)]
        agenda: Option<String>,
        #[arg(long)]
        agenda_start: Option<String>,
        #[arg(long, default_value_t = 1000)]
        agenda_slots: usize,
    },
    /// Cold render of the large agenda's feed.
    Render {
        #[arg(long, default_value_t = 30)]
        iterations: usize,
        #[arg(long, default_value_t = 1000)]
        slots: usize,
        /// Writes the events (and the feed) for scripts/bench_icalendar.py.
        #[arg(long)]
        json: Option<PathBuf>,
        #[arg(long)]
        ics: Option<PathBuf>,
    },
    /// h2load request files.
    GrpcFiles {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// The read floor's request body (feature bench-floor on the server): an answer of
    /// --bytes bytes.
    FloorFile {
        #[arg(long)]
        bytes: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sends request files (PATH=FILE) as h2load does, checks grpc-status 0.
    GrpcVerify {
        #[arg(long)]
        addr: SocketAddr,
        /// `/package.Service/Method=FILE`
        requests: Vec<String>,
    },
    /// Sequential latency of the scale queries.
    Latency {
        #[arg(long)]
        addr: SocketAddr,
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, default_value_t = 1000)]
        reps: usize,
        /// Stops each query's series after this long (then fewer than --reps are counted).
        #[arg(long, default_value_t = 15)]
        max_seconds: u64,
    },
    /// Reads spread over the whole store, for a fixed time (what a memory figure needs).
    Sweep {
        #[arg(long)]
        addr: SocketAddr,
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Concurrent durable writes over gRPC.
    Writes {
        #[command(flatten)]
        load: WriteLoad,
    },
    /// The gRPC write floor, then CreateSession and UpdateSlot as `writes` runs them (each for
    /// --seconds), against one server (`agenda serve` built with the feature and
    /// `AGENDA_BENCH_FLOOR=1`).
    #[cfg(feature = "bench-floor")]
    Floor {
        #[command(flatten)]
        load: WriteLoad,
        /// Bytes of each floor write: a small record.
        #[arg(long, default_value_t = 400)]
        value_bytes: usize,
    },
    /// `floor`'s three loads against a server under callgrind (process --callgrind-pid), each
    /// load's instructions dumped apart (`scripts/profile-writes`).
    #[cfg(feature = "bench-floor")]
    WriteProfile {
        #[command(flatten)]
        load: WriteLoad,
        #[arg(long, default_value_t = 400)]
        value_bytes: usize,
        #[arg(long)]
        callgrind_pid: u32,
    },
    /// Keys written and read per CreateSession and UpdateSlot, in process on a fresh store.
    Keys {
        #[command(flatten)]
        spec: SpecArgs,
        /// Writes in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// The raw sled reference for durable writes.
    RawSled {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Bytes per record (default: the average protobuf size of a synthetic session).
        #[arg(long)]
        value_bytes: Option<usize>,
    },
    /// The invite outbox as the SMTP sender sees it, in process: N coming sessions (the
    /// preset's density, from --start), every invite sent; then the full look (`invites::due`
    /// and `invites::stats`) and the sender's look after one write to one session.
    Outbox {
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, default_value_t = 10)]
        reps: usize,
    },
    /// Sequential ListConflicts (one regular, every commitment), QueryFreeBusy (100 regulars,
    /// one year) and ListPersonSlots (the same regular): p50 and p99.
    Schedule {
        #[arg(long)]
        addr: SocketAddr,
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, default_value_t = 200)]
        reps: usize,
    },
    /// CreateSession of `count` sessions the spec would generate after its own (index
    /// sessions + offset + i): new times, the spec's people, regulars included.
    Creates {
        #[arg(long)]
        addr: SocketAddr,
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 3000)]
        count: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// One coming session that invites its N participants (issue 23), in process: every
    /// invite marked sent, then the sender's look at the outbox after one write in that
    /// session that calls for nothing (a new description), and after a move (N updates due):
    /// examining the session, and rendering the due messages.
    Participants {
        #[arg(long, default_value_t = 1000)]
        participants: usize,
        #[arg(long, default_value_t = 10)]
        reps: usize,
    },
}

/// A write load: where, on which store, how many at once, for how long.
#[derive(clap::Args, Clone)]
struct WriteLoad {
    #[arg(long)]
    addr: SocketAddr,
    /// The store's spec (its people are named by the new sessions).
    #[command(flatten)]
    spec: SpecArgs,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// The server's allocator (src/main.rs), so that the raw sled reference and the in-process
/// figures run under the same allocator as the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench -- ARGS` appends --bench; `cargo test --all-targets` runs us with no
    // subcommand (or with its own filter arguments): then a quick self-check.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    const COMMANDS: &[&str] = &[
        "gen",
        "render",
        "grpc-files",
        "grpc-verify",
        "floor-file",
        "latency",
        "sweep",
        "writes",
        "floor",
        "write-profile",
        "keys",
        "raw-sled",
        "outbox",
        "schedule",
        "creates",
        "participants",
        "help",
    ];
    if args.get(1).is_none_or(|a| !COMMANDS.contains(&a.as_str()) && !a.starts_with("-h")) {
        self_check();
        return;
    }
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Gen { data, spec, threads, agenda, agenda_start, agenda_slots } => {
            gen_store(&data, &spec.spec(), threads, agenda.as_deref(), agenda_start.as_deref(), agenda_slots)
        }
        Command::Render { iterations, slots, json, ics } => render(iterations, slots, json.as_deref(), ics.as_deref()),
        Command::GrpcFiles { out, spec } => grpc_files(&out, &spec.spec()),
        Command::FloorFile { bytes, out } => std::fs::write(&out, frame(&bytes)).expect("writing the request file"),
        Command::GrpcVerify { addr, requests } => runtime().block_on(grpc_verify(addr, &requests)),
        Command::Latency { addr, spec, reps, max_seconds } => {
            runtime().block_on(latency(addr, &spec.spec(), reps, Duration::from_secs(max_seconds)))
        }
        Command::Sweep { addr, spec, concurrency, seconds } => {
            runtime().block_on(sweep(addr, &spec.spec(), concurrency, Duration::from_secs(seconds)))
        }
        Command::Writes { load } => runtime().block_on(writes(&load)),
        #[cfg(feature = "bench-floor")]
        Command::Floor { load, value_bytes } => runtime().block_on(floor(&load, value_bytes)),
        #[cfg(feature = "bench-floor")]
        Command::WriteProfile { load, value_bytes, callgrind_pid } => {
            runtime().block_on(write_profile(&load, value_bytes, callgrind_pid))
        }
        Command::Keys { spec, concurrency } => println!("{}", key_counts(&spec.spec(), concurrency)),
        Command::RawSled { dir, concurrency, seconds, value_bytes } => {
            raw_sled(&dir, concurrency, Duration::from_secs(seconds), value_bytes)
        }
        Command::Outbox { spec, reps } => runtime().block_on(outbox(&spec.spec(), reps)),
        Command::Schedule { addr, spec, reps } => runtime().block_on(schedule(addr, &spec.spec(), reps)),
        Command::Creates { addr, spec, offset, count, concurrency } => {
            runtime().block_on(creates(addr, &spec.spec(), offset, count, concurrency))
        }
        Command::Participants { participants: n, reps } => runtime().block_on(participants(n, reps)),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

/// Under `cargo test`: everything in miniature, quickly.
fn self_check() {
    #[cfg(feature = "bench-floor")]
    floor_self_check();
    let keys = key_counts(&Spec::small().scaled_to(20), 8);
    assert!(keys.contains("create_keys_written="), "{keys}");
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = Spec::small().scaled_to(20);
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    let rt = runtime();
    let agenda = rt.block_on(Agenda::new(store.shared(), Limits::default())).expect("revision");
    rt.block_on(synth::load(&agenda, &spec, 8)).expect("load");
    assert!(rt.block_on(agenda.get_session(&spec.session_id(19))).is_ok());
    let (ms, bytes) = render_once(&spec, 50);
    assert!(bytes > 10_000, "{bytes}");
    rt.block_on(participants(10, 1));
    println!("agenda-bench self-check ok (render of 50 slots: {ms:.2} ms; {keys}); scripts/bench runs the benchmarks");
}

/// The floor through a real server built as `main` builds it, with the switch on: a few
/// writes answer OK, and each waited for a flush.
#[cfg(feature = "bench-floor")]
fn floor_self_check() {
    // SAFETY: no other thread runs yet (the runtime is built below).
    unsafe { std::env::set_var(agenda::bench_floor::ENV, "1") };
    let dir = tempfile::tempdir().expect("temp dir");
    runtime().block_on(async {
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = grpc.local_addr().expect("address");
        let config = agenda::config::Config {
            data: dir.path().to_owned(),
            grpc_listen: addr,
            http_listen: http.local_addr().expect("address"),
            ..Default::default()
        };
        let service = agenda::server::build(&config).await.expect("building the server");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(service.run(grpc, http, async move {
            let _ = stopped.await;
        }));
        let channels = connect(addr, 1).await;
        for _ in 0..3 {
            floor_write(channels[0].clone(), vec![7; 400]).await.expect("a floor write");
        }
        let _ = stop.send(());
        let store = server.await.expect("server task").expect("server").expect("a sled store");
        let (writes, flushes) = store.commit_stats();
        assert!(writes >= 3 && flushes >= 1, "{writes} writes waited for {flushes} flushes");
    });
}

// ----- gen -----

fn gen_store(
    data: &Path,
    spec: &Spec,
    threads: usize,
    agenda: Option<&str>,
    agenda_start: Option<&str>,
    agenda_slots: usize,
) {
    let t0 = Instant::now();
    let store = Arc::new(SledStore::open(data).expect("opening the store"));
    let rt = runtime();
    let service = rt.block_on(Agenda::new(store.shared(), Limits::default())).expect("reading the revision");
    let report = rt.block_on(synth::load(&service, spec, threads)).expect("loading");
    if let Some(id) = agenda {
        let start = agenda_start.map_or(spec.start, day);
        let s = spec.agenda(id, start, agenda_slots);
        let slots = s.slots.len();
        rt.block_on(service.import_session(s, agenda::app::ImportMode::Replace)).expect("the large agenda");
        println!("agenda={id} agenda_slots={slots}");
    }
    // Dropping the runtime waits for the service's background work (change log pruning), so
    // the store is ours alone again.
    drop((service, rt));
    let store = Arc::into_inner(store).expect("the service has let go of the store");
    let (writes, flushes) = store.commit_stats();
    store.flush().expect("flush");
    let total = t0.elapsed();
    // As `agenda import` does: reopen once so the next start does not replay the whole load.
    // That reopen is the replay a start after a crash at this point would pay.
    let t1 = Instant::now();
    store.checkpoint().expect("reopening the store");
    let replay = t1.elapsed();
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "people={} sessions={} slots={} threads={} people_seconds={:.1} sessions_seconds={:.1} \
         sessions_per_second={:.0} writes={writes} flushes={flushes} total_seconds={:.1} disk_bytes={} \
         replay_seconds={:.2}",
        report.people,
        report.sessions,
        report.slots,
        report.threads,
        secs(report.people_time),
        secs(report.sessions_time),
        report.sessions as f64 / secs(report.sessions_time),
        secs(total),
        dir_size(data),
        secs(replay),
    );
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

// ----- render -----

/// The large agenda of the feed benchmarks, its people, and the calendar names the feed route
/// gives it.
fn agenda_feed(spec: &Spec, slots: usize) -> (Session, People, CalendarInfo) {
    let s = spec.agenda("conference-week", day("2026-06-08"), slots);
    let people: People = spec.people_of(&s).into_iter().map(|p| (p.id.clone(), p)).collect();
    let info =
        CalendarInfo { name: s.title.clone(), description: format!("{}, 8 June 2026: the agenda", s.organizer.name) };
    (s, people, info)
}

/// One cold render (events from the session, then the calendar text): (ms, bytes).
fn render_once(spec: &Spec, slots: usize) -> (f64, usize) {
    let (s, people, info) = agenda_feed(spec, slots);
    let settings = CalendarSettings::default();
    let t = Instant::now();
    let events = feed::agenda_events(&settings, &s, &people);
    let text = feed::render(&settings, &info, &events);
    (t.elapsed().as_secs_f64() * 1e3, std::hint::black_box(text).len())
}

fn render(iterations: usize, slots: usize, json: Option<&Path>, ics: Option<&Path>) {
    let spec = Spec::small();
    let (s, people, info) = agenda_feed(&spec, slots);
    let settings = CalendarSettings::default();
    let mut times = Vec::with_capacity(iterations);
    let mut bytes = 0;
    // One untimed round first (tz database and allocator warm), as a server would have had.
    for i in 0..=iterations {
        let t = Instant::now();
        let events = feed::agenda_events(&settings, &s, &people);
        let text = feed::render(&settings, &info, &events);
        let el = t.elapsed().as_secs_f64() * 1e3;
        bytes = std::hint::black_box(&text).len();
        if i > 0 {
            times.push(el);
        }
        if i == 0
            && let Some(p) = ics
        {
            std::fs::write(p, &text).expect("writing the feed");
        }
    }
    times.sort_by(f64::total_cmp);
    let events = feed::agenda_events(&settings, &s, &people);
    if let Some(p) = json {
        let list: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                let utc = e.time_zone.as_str() == "UTC";
                serde_json::json!({
                    "uid": e.uid, "summary": e.summary, "description": e.description, "location": e.location,
                    "url": e.url, "conference": e.conference, "start": e.start.to_string(), "end": e.end.to_string(),
                    "tzid": if utc { None } else { Some(e.time_zone.as_str()) }, "sequence": e.sequence,
                    "cancelled": e.cancelled, "created": e.created.to_string(),
                    "last_modified": e.last_modified.to_string(), "organizer_name": e.organizer_name,
                    "organizer_email": e.organizer_email, "categories": e.categories,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "name": info.name, "description": info.description, "prodid": feed::PRODID,
            "refresh_seconds": settings.refresh_seconds, "events": list,
        });
        std::fs::write(p, serde_json::to_vec_pretty(&doc).expect("json")).expect("writing the events");
    }
    println!(
        "render_events={} render_bytes={bytes} render_iterations={iterations} render_median_ms={:.3} render_min_ms={:.3}",
        events.len(),
        times[times.len() / 2],
        times[0]
    );
}

// ----- gRPC requests -----

fn ts(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.as_second(), nanos: 0 }
}

/// The one-week window of the latency and load queries: the week from the middle day of the
/// spec's span.
fn week(spec: &Spec) -> (Timestamp, Timestamp) {
    let from = spec.start.as_second() + i64::from(spec.span_days / 2) * 86_400;
    (Timestamp::from_second(from).expect("range"), Timestamp::from_second(from + 7 * 86_400).expect("range"))
}

/// One page of the week's sessions in the default (BASIC) view.
fn list_sessions_request(spec: &Spec) -> pb::ListSessionsRequest {
    let (from, to) = week(spec);
    pb::ListSessionsRequest { from_time: Some(ts(from)), to_time: Some(ts(to)), ..Default::default() }
}

/// The id of the demo session (`agenda serve --demo`): the 10 KB GetSession answer.
const DEMO_SESSION: &str = "fmg-msme-2022-11-17";

fn person_slots_request(spec: &Spec) -> pb::ListPersonSlotsRequest {
    pb::ListPersonSlotsRequest { person_id: spec.regular(0).to_string(), ..Default::default() }
}

fn get_session_request(spec: &Spec) -> pb::GetSessionRequest {
    pb::GetSessionRequest { session_id: spec.session_id(spec.sessions / 2).to_string() }
}

/// A gRPC message frame: uncompressed flag, big-endian length, message.
fn frame(msg: &impl prost::Message) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = vec![0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn grpc_files(out: &Path, spec: &Spec) {
    std::fs::create_dir_all(out).expect("creating the directory");
    let files = [
        ("health.bin", frame(&tonic_health::pb::HealthCheckRequest { service: String::new() })),
        ("get_session.bin", frame(&get_session_request(spec))),
        ("get_demo_session.bin", frame(&pb::GetSessionRequest { session_id: DEMO_SESSION.into() })),
        ("list_sessions.bin", frame(&list_sessions_request(spec))),
        (
            "list_sessions_full.bin",
            frame(&pb::ListSessionsRequest { view: pb::SessionView::Full as i32, ..list_sessions_request(spec) }),
        ),
        ("list_person_slots.bin", frame(&person_slots_request(spec))),
    ];
    for (name, bytes) in files {
        std::fs::write(out.join(name), bytes).expect("writing a request file");
    }
    let (from, to) = week(spec);
    println!(
        "get_session_id={} week_from={from} week_to={to} regular={}",
        spec.session_id(spec.sessions / 2),
        spec.regular(0)
    );
}

/// One unary call over a fresh HTTP/2 connection with exactly `body` (already framed) and
/// h2load's headers: (grpc-status, response message bytes).
async fn raw_call(addr: SocketAddr, path: &str, body: Vec<u8>) -> (String, Vec<u8>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.expect("h2 ready");
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (response, mut send) = client.send_request(req, false).expect("send");
    send.send_data(Bytes::from(body), true).expect("send body");
    let response = response.await.expect("response");
    let header_status = response.headers().get("grpc-status").map(|v| v.to_str().unwrap_or("?").to_owned());
    let mut body = response.into_body();
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body");
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailer = body.trailers().await.expect("trailers");
    let status = header_status
        .or_else(|| trailer.and_then(|t| t.get("grpc-status").map(|v| v.to_str().unwrap_or("?").to_owned())))
        .unwrap_or_default();
    (status, data.get(5..).map(<[u8]>::to_vec).unwrap_or_default())
}

async fn grpc_verify(addr: SocketAddr, requests: &[String]) {
    let mut failed = false;
    for r in requests {
        let (path, file) = r.split_once('=').expect("PATH=FILE");
        let body = std::fs::read(file).expect("reading a request file");
        let (status, msg) = raw_call(addr, path, body).await;
        let detail = match path {
            "/agenda.v1.SessionService/GetSession" => pb::GetSessionResponse::decode(msg.as_slice())
                .map(|m| format!("session={} people={}", m.session.map(|s| s.id).unwrap_or_default(), m.people.len())),
            "/agenda.v1.SessionService/ListSessions" => {
                pb::ListSessionsResponse::decode(msg.as_slice()).map(|m| format!("sessions={}", m.sessions.len()))
            }
            "/agenda.bench.v1.Floor/GetBytes" => {
                Vec::<u8>::decode(msg.as_slice()).map(|m| format!("floor_payload_bytes={}", m.len()))
            }
            "/agenda.v1.PersonService/ListPersonSlots" => {
                pb::ListPersonSlotsResponse::decode(msg.as_slice()).map(|m| format!("slots={}", m.slots.len()))
            }
            _ => tonic_health::pb::HealthCheckResponse::decode(msg.as_slice()).map(|m| format!("status={}", m.status)),
        }
        .unwrap_or_else(|e| format!("undecodable response: {e}"));
        // Named by the file (get_session.bin -> get_session): two files may call one method.
        let name = Path::new(file).file_stem().and_then(|n| n.to_str()).unwrap_or(path);
        let detail: Vec<String> = detail
            .split(' ')
            .map(|w| if w.contains('=') { format!("verify_{name}_{w}") } else { w.to_owned() })
            .collect();
        println!("verify_{name}_grpc_status={status} verify_{name}_response_bytes={} {}", msg.len(), detail.join(" "));
        failed |= status != "0" || msg.is_empty() && !path.contains("Health");
    }
    if failed {
        eprintln!("agenda-bench: a request did not succeed");
        std::process::exit(1);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn latency(addr: SocketAddr, spec: &Spec, reps: usize, max: Duration) {
    let channel = Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
    let mut sessions = SessionServiceClient::new(channel.clone());
    let mut people = PersonServiceClient::new(channel);
    let list = list_sessions_request(spec);
    let slots = person_slots_request(spec);
    let mut results = Vec::new();
    for (name, count_fn) in [("list_sessions_week", 0), ("list_person_slots", 1)] {
        let mut times = Vec::with_capacity(reps);
        let mut count = 0;
        let deadline = Instant::now() + max;
        for i in 0..reps + reps / 10 {
            if Instant::now() > deadline && times.len() >= 20 {
                break;
            }
            let t = Instant::now();
            count = if count_fn == 0 {
                sessions.list_sessions(list.clone()).await.expect("ListSessions").into_inner().sessions.len()
            } else {
                people.list_person_slots(slots.clone()).await.expect("ListPersonSlots").into_inner().slots.len()
            };
            // The first tenth warms up (connection, caches) and is not counted.
            if i >= reps / 10 {
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        times.sort_by(f64::total_cmp);
        results.push(format!(
            "{name}_count={count} {name}_calls={} {name}_p50_us={:.0} {name}_p99_us={:.0}",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        ));
    }
    println!("{}", results.join(" "));
}

/// GetSession of random sessions and ListPersonSlots of random people, all over the store.
async fn sweep(addr: SocketAddr, spec: &Spec, concurrency: usize, duration: Duration) {
    let channel = Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
    let spec = Arc::new(spec.clone());
    let (ok, failed, elapsed) = run_for(concurrency, duration, move |task, n| {
        let mut sessions = SessionServiceClient::new(channel.clone());
        let mut people = PersonServiceClient::new(channel.clone());
        let mut r = synth::Rng::new(Spec::SEED ^ ((task as u64) << 32) ^ n);
        let spec = Arc::clone(&spec);
        async move {
            if n % 2 == 0 {
                let session_id = spec.session_id(r.below(spec.sessions)).to_string();
                sessions.get_session(pb::GetSessionRequest { session_id }).await.map(drop)
            } else {
                let person_id = spec.person_id(r.below(spec.people)).to_string();
                let req = pb::ListPersonSlotsRequest { person_id, ..Default::default() };
                people.list_person_slots(req).await.map(drop)
            }
        }
    })
    .await;
    println!("sweep_requests={ok} sweep_failures={failed} sweep_per_second={:.0}", ok as f64 / elapsed.as_secs_f64());
}

// ----- writes -----

/// `s` as a client would send it to CreateSession: the API's own conversion, without the
/// output-only fields.
fn pb_session(s: &Session) -> pb::Session {
    let mut out = agenda::api::session_out(s, &FeedLinks::new("http://bench.invalid"));
    out.create_time = None;
    out.update_time = None;
    out.etag.clear();
    out.sequence = 0;
    out.feed_urls = None;
    out.slots.iter_mut().for_each(|slot| slot.sequence = 0);
    out
}

/// Runs `concurrency` tasks calling `op(task, n)` until `duration` is over: (successes,
/// failures, elapsed).
async fn run_for<F, Fut>(concurrency: usize, duration: Duration, op: F) -> (u64, u64, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let op = Arc::new(op);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (op, ok, failed) = (Arc::clone(&op), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < deadline {
                match op(task, n).await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("agenda-bench: first failure: {e}");
                        }
                        0
                    }
                };
                n += 1;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed), t0.elapsed())
}

/// A few connections for `concurrency` tasks, spread over them (one HTTP/2 connection per 16
/// streams): what every write load uses.
async fn connect(addr: SocketAddr, concurrency: usize) -> Arc<Vec<Channel>> {
    let mut channels = Vec::new();
    for _ in 0..concurrency.div_ceil(16) {
        channels.push(Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect"));
    }
    Arc::new(channels)
}

/// What `writes` measures: CreateSession, then UpdateSlot, each for a fixed time.
struct WriteFigures {
    created: u64,
    create_failed: u64,
    creates_per_second: f64,
    updated: u64,
    update_failed: u64,
    updates_per_second: f64,
    /// The average protobuf size of the sessions created.
    session_bytes: usize,
}

impl std::fmt::Display for WriteFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "creates={} create_failures={} creates_per_second={:.0} slot_updates={} slot_update_failures={} \
             slot_updates_per_second={:.0} session_proto_bytes={}",
            self.created,
            self.create_failed,
            self.creates_per_second,
            self.updated,
            self.update_failed,
            self.updates_per_second,
            self.session_bytes
        )
    }
}

async fn writes(load: &WriteLoad) {
    let figures = write_loads(&connect(load.addr, load.concurrency).await, load).await;
    println!("{figures} concurrency={}", load.concurrency);
}

async fn write_loads(channels: &Arc<Vec<Channel>>, load: &WriteLoad) -> WriteFigures {
    let (spec, concurrency, duration) = (load.spec.spec(), load.concurrency, Duration::from_secs(load.seconds));
    let run = std::process::id();
    let templates = session_templates(&spec);
    let (created, create_failed, create_time) = create_load(channels, &templates, run, concurrency, duration).await;
    let (updated, update_failed, update_time) = update_load(channels, run, concurrency, duration).await;
    WriteFigures {
        created,
        create_failed,
        creates_per_second: created as f64 / create_time.as_secs_f64(),
        updated,
        update_failed,
        updates_per_second: updated as f64 / update_time.as_secs_f64(),
        session_bytes: templates.iter().map(|s| s.encoded_len()).sum::<usize>() / templates.len(),
    }
}

/// The sessions CreateSession sends: 64 generated ones, as a client would send them.
fn session_templates(spec: &Spec) -> Arc<Vec<pb::Session>> {
    Arc::new((0..64).map(|i| pb_session(&spec.session(i))).collect())
}

/// `concurrency` tasks creating sessions for `duration`, task t's n-th one `w{run}-{t}-{n}`:
/// (successes, failures, elapsed).
async fn create_load(
    channels: &Arc<Vec<Channel>>,
    templates: &Arc<Vec<pb::Session>>,
    run: u32,
    concurrency: usize,
    duration: Duration,
) -> (u64, u64, Duration) {
    let (channels, templates) = (Arc::clone(channels), Arc::clone(templates));
    run_for(concurrency, duration, move |task, n| {
        let mut client = SessionServiceClient::new(channels[task % channels.len()].clone());
        let mut session = templates[(task + n as usize) % templates.len()].clone();
        session.id = String::new();
        let session_id = format!("w{run}-{task}-{n}");
        async move {
            client
                .create_session(pb::CreateSessionRequest { session_id, session: Some(session), ..Default::default() })
                .await
                .map(drop)
        }
    })
    .await
}

/// `concurrency` tasks changing a slot title for `duration`: each task the first slot of its
/// own first session, `w{run}-{task}-0` (made by [`create_load`] of the same `run`), so there
/// is no contention between tasks and each update is a real change.
async fn update_load(
    channels: &Arc<Vec<Channel>>,
    run: u32,
    concurrency: usize,
    duration: Duration,
) -> (u64, u64, Duration) {
    let channels = Arc::clone(channels);
    run_for(concurrency, duration, move |task, n| {
        let mut client = SessionServiceClient::new(channels[task % channels.len()].clone());
        let session_id = format!("w{run}-{task}-0");
        async move {
            let slot =
                pb::Slot { id: "item-000".into(), title: format!("Opening remarks (v{n})"), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["title".into()] };
            client
                .update_slot(pb::UpdateSlotRequest {
                    session_id,
                    slot: Some(slot),
                    update_mask: Some(mask),
                    etag: String::new(),
                    ..Default::default()
                })
                .await
                .map(drop)
        }
    })
    .await
}

/// The three write loads of `floor`, one after another against a server running under
/// `valgrind --tool=callgrind` (process `pid`): each load is bracketed by `callgrind_control
/// --zero` and `--dump=<load>`, so each dump holds that load's instructions alone, and the
/// requests it answered are printed beside it (`scripts/profile-writes` divides the two).
/// The update load changes the sessions the create load made, as in `writes`.
#[cfg(feature = "bench-floor")]
async fn write_profile(load: &WriteLoad, value_bytes: usize, pid: u32) {
    let (concurrency, duration) = (load.concurrency, Duration::from_secs(load.seconds));
    let channels = connect(load.addr, concurrency).await;
    let run = std::process::id();
    let templates = session_templates(&load.spec.spec());
    let callgrind = |args: &[&str]| {
        // Its chatter to standard error: standard output is the `key=value` lines.
        let status = std::process::Command::new("callgrind_control")
            .args(args)
            .arg(pid.to_string())
            .stdout(std::io::stderr())
            .status();
        assert!(status.is_ok_and(|s| s.success()), "callgrind_control {args:?} {pid} failed");
    };
    let counted = |name: &str, (ok, failed, _): (u64, u64, Duration)| {
        assert!(ok > 0 && failed == 0, "{name}: {ok} answered, {failed} failed");
        println!("profile_{name}_requests={ok}");
    };
    callgrind(&["--zero"]);
    let floor = {
        let channels = Arc::clone(&channels);
        run_for(concurrency, duration, move |task, n| {
            let value = (0..value_bytes).map(|i| (i as u64 ^ n ^ task as u64) as u8).collect();
            floor_write(channels[task % channels.len()].clone(), value)
        })
        .await
    };
    callgrind(&["--dump=floor"]);
    counted("floor", floor);
    callgrind(&["--zero"]);
    let created = create_load(&channels, &templates, run, concurrency, duration).await;
    callgrind(&["--dump=create"]);
    counted("create", created);
    callgrind(&["--zero"]);
    let updated = update_load(&channels, run, concurrency, duration).await;
    callgrind(&["--dump=update"]);
    counted("update", updated);
}

// ----- the gRPC write floor -----

/// One call of the floor's `Write` (a `BytesValue` in, `Empty` out) as tonic's generated
/// clients make calls.
#[cfg(feature = "bench-floor")]
async fn floor_write(channel: Channel, value: Vec<u8>) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("connection not ready: {e}")))?;
    let path = http::uri::PathAndQuery::from_static(agenda::bench_floor::PATH);
    let codec = tonic_prost::ProstCodec::<Vec<u8>, ()>::default();
    grpc.unary(tonic::Request::new(value), path, codec).await.map(drop)
}

/// The floor for `duration` (the same tasks, connections and loop as `writes`), then
/// `writes`' two loads on the same server: the ratios of issue 12's targets.
#[cfg(feature = "bench-floor")]
async fn floor(load: &WriteLoad, value_bytes: usize) {
    let (concurrency, duration) = (load.concurrency, Duration::from_secs(load.seconds));
    let channels = connect(load.addr, concurrency).await;
    let (written, failed, elapsed) = {
        let channels = Arc::clone(&channels);
        run_for(concurrency, duration, move |task, n| {
            // Varied bytes, as in raw-sled, so that nothing can flatter a repeated value.
            let value = (0..value_bytes).map(|i| (i as u64 ^ n ^ task as u64) as u8).collect();
            floor_write(channels[task % channels.len()].clone(), value)
        })
        .await
    };
    if written == 0 || failed > 0 {
        eprintln!(
            "agenda-bench: {failed} floor writes failed (is the server built with bench-floor and run with {}=1?)",
            agenda::bench_floor::ENV
        );
        std::process::exit(1);
    }
    let floor_rate = written as f64 / elapsed.as_secs_f64();
    let w = write_loads(&channels, load).await;
    let (create_ratio, update_ratio) = (w.creates_per_second / floor_rate, w.updates_per_second / floor_rate);
    println!(
        "floor_writes={written} floor_writes_per_second={floor_rate:.0} floor_value_bytes={value_bytes} {w} \
         concurrency={concurrency} floor_create_ratio={create_ratio:.2} floor_update_ratio={update_ratio:.2}"
    );
    let met = |r: f64, t: f64| if r >= t { "met" } else { "not met" };
    eprintln!("| load, {concurrency} concurrent, durable | per second | ratio to the floor | target | met |");
    eprintln!("|---|---|---|---|---|");
    eprintln!("| gRPC write floor (one key, {value_bytes} B, group flush) | {floor_rate:.0} | 1.00x | | |");
    eprintln!(
        "| CreateSession ({} B session) | {:.0} | {create_ratio:.2}x | >= 0.5x | {} |",
        w.session_bytes,
        w.creates_per_second,
        met(create_ratio, 0.5)
    );
    eprintln!(
        "| UpdateSlot | {:.0} | {update_ratio:.2}x | >= 0.7x | {} |",
        w.updates_per_second,
        met(update_ratio, 0.7)
    );
}

// ----- keys per write -----

/// Keys written and read per CreateSession and per UpdateSlot (a title change) on the
/// sessions of `spec`, made through `Agenda` (the path of the two RPCs, without gRPC) on a
/// fresh store that holds the spec's people: a `key=value` line.
///
/// Measured: the keys each write adds, tree by tree (sled's tree lengths before and after, the
/// store closed). sled cannot show overwrites or reads, so those are counted from what
/// `SledStore::put_session` does: it reads the record, the `max_span` and the `revision`, and
/// for each person a new session names, the person and their reference count; it rewrites the
/// `revision`, a reference count per person (one is a new key only for a person no session
/// named before), and `max_span` when the session is the longest yet (counted in creation
/// order, exact up to the order of concurrent writes). UpdateSlot also reads the record
/// before its write (the etag check and the change).
fn key_counts(spec: &Spec, concurrency: usize) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = runtime();
    let people_only = Spec { sessions: 0, ..spec.clone() };
    let with_agenda = |f: &dyn Fn(Agenda) -> Result<(), agenda::error::Error>| {
        let store = Arc::new(SledStore::open(dir.path()).expect("open"));
        f(rt.block_on(Agenda::new(store.shared(), Limits::default())).expect("revision")).expect("writes");
        // Background work (change log pruning) holds clones: wait until the store is ours.
        while Arc::strong_count(&store) > 1 {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(Arc::into_inner(store));
    };
    with_agenda(&|a| rt.block_on(synth::load(&a, &people_only, concurrency)).map(drop));
    let before = tree_lengths(dir.path());
    let n = spec.sessions;
    let shared = Arc::new(spec.clone());
    with_agenda(&|a| {
        let spec = Arc::clone(&shared);
        rt.block_on(synth::parallel(n, concurrency, move |i| {
            let (a, s) = (a.clone(), spec.session(i));
            async move { a.create_session(s).await.map(drop) }
        }))
    });
    let created = tree_lengths(dir.path());
    with_agenda(&|a| {
        let spec = Arc::clone(&shared);
        rt.block_on(synth::parallel(n, concurrency, move |i| {
            let (a, id) = (a.clone(), spec.session_id(i));
            async move {
                let change = |s: &mut Session| {
                    let slot = s.slots[0].id.clone();
                    let title = Some(format!("{} (updated)", s.slots[0].title));
                    s.update_slot(&slot, agenda::domain::SlotPatch { title, ..Default::default() })
                };
                a.update_session(&id, None, change).await.map(drop)
            }
        }))
    });
    let updated = tree_lengths(dir.path());
    let delta = |a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>| -> BTreeMap<String, usize> {
        b.iter().map(|(t, len)| (t.clone(), len - a.get(t).copied().unwrap_or(0))).collect()
    };
    let (create_new, update_new) = (delta(&before, &created), delta(&created, &updated));
    let sessions: Vec<Session> = (0..n).map(|i| spec.session(i)).collect();
    let named: usize = sessions.iter().map(|s| s.referenced_people().len()).sum();
    let (mut longest, mut span_grows) = (i64::MIN, 0_usize);
    for s in &sessions {
        let span = s.end.as_second() - s.start.as_second();
        if span > longest {
            (longest, span_grows) = (span, span_grows + 1);
        }
    }
    let sum = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    let new_refs = create_new.get("person_refs").copied().unwrap_or(0);
    // New keys, plus overwrites: the revision on every write (the people's writes stored it
    // first), the reference counts of people already named, and max_span each time it grows
    // but the first (then it is a new key of `meta`).
    let create_written = sum(&create_new) + n + (named - new_refs) + span_grows.saturating_sub(1);
    let create_read = n + 2 * named + 2 * n;
    // A title change: the record and the revision are rewritten, a change-log entry is added.
    let update_written = sum(&update_new) + 2 * n;
    let update_read = 2 * n + 2 * n;
    let per = |x: usize| x as f64 / n.max(1) as f64;
    let by_tree = |m: &BTreeMap<String, usize>| {
        m.iter().filter(|(_, v)| **v > 0).map(|(t, v)| format!("{t}:{:.2}", per(*v))).collect::<Vec<_>>().join(",")
    };
    format!(
        "keys_sessions={n} create_keys_written={:.1} create_keys_read={:.1} create_new_keys={:.1} \
         create_people_named={:.1} create_new_keys_by_tree={} update_keys_written={:.1} update_keys_read={:.1} \
         update_new_keys_by_tree={}",
        per(create_written),
        per(create_read),
        per(sum(&create_new)),
        per(named),
        by_tree(&create_new),
        per(update_written),
        per(update_read),
        by_tree(&update_new),
    )
}

/// The number of keys in each tree of the sled database in `dir` (closed by its owner).
fn tree_lengths(dir: &Path) -> BTreeMap<String, usize> {
    // sled's own threads may hold the files (and their lock) for a moment after the store is
    // dropped: try again for up to 10 s.
    let mut tries = 0;
    let db = loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(e) if tries < 1000 => {
                tries += 1;
                if tries == 1 {
                    eprintln!("agenda-bench: the store is still held ({e}); waiting");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("opening the store to count its keys: {e}"),
        }
    };
    db.tree_names()
        .into_iter()
        .filter(|name| name.as_ref() != b"__sled__default")
        .map(|name| {
            let len = db.open_tree(&name).expect("tree").len();
            (String::from_utf8_lossy(&name).into_owned(), len)
        })
        .collect()
}

// ----- raw sled -----

/// The reference: what sled itself gives for durable single-record writes on this disk with the
/// best batching one flusher thread can do. `concurrency` threads each insert one record under
/// a fresh key into one tree, then wait until a flush that started after their insert has
/// finished; one flusher thread runs `Db::flush` back to back whenever someone waits, so every
/// flush covers every insert made while the previous one ran (group commit, without
/// transactions, indexes, validation or gRPC).
fn raw_sled(dir: &Path, concurrency: usize, duration: Duration, value_bytes: Option<usize>) {
    let value_bytes = value_bytes.unwrap_or_else(|| {
        let spec = Spec::small();
        (0..64).map(|i| pb_session(&spec.session(i)).encoded_len()).sum::<usize>() / 64
    });
    let db = sled::Config::new().path(dir).open().expect("open sled");
    let tree = db.open_tree("records").expect("tree");
    #[derive(Default)]
    struct St {
        requested: u64,
        completed: u64,
    }
    let state = Arc::new((Mutex::new(St::default()), Condvar::new(), Condvar::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let flushes = Arc::new(AtomicU64::new(0));
    let flusher = {
        let (state, stop, flushes, db) = (Arc::clone(&state), Arc::clone(&stop), Arc::clone(&flushes), db.clone());
        std::thread::spawn(move || {
            let (lock, work, done) = &*state;
            let mut st = lock.lock().expect("lock");
            loop {
                while st.requested == st.completed && !stop.load(Ordering::Relaxed) {
                    st = work.wait_timeout(st, Duration::from_millis(50)).expect("lock").0;
                }
                if stop.load(Ordering::Relaxed) && st.requested == st.completed {
                    return;
                }
                let target = st.requested;
                drop(st);
                db.flush().expect("flush");
                flushes.fetch_add(1, Ordering::Relaxed);
                st = lock.lock().expect("lock");
                st.completed = target;
                done.notify_all();
            }
        })
    };
    let count = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let deadline = t0 + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (state, tree, count) = (Arc::clone(&state), tree.clone(), Arc::clone(&count));
            std::thread::spawn(move || {
                let mut value = vec![0u8; value_bytes];
                let mut n: u64 = 0;
                while Instant::now() < deadline {
                    // Varied bytes, so compression or deduplication cannot flatter the figure.
                    for (i, b) in value.iter_mut().enumerate().step_by(7) {
                        *b = (n as usize ^ w ^ i) as u8;
                    }
                    tree.insert(format!("{w:04}-{n:012}").as_bytes(), value.as_slice()).expect("insert");
                    let (lock, work, done) = &*state;
                    let mut st = lock.lock().expect("lock");
                    st.requested += 1;
                    let ticket = st.requested;
                    work.notify_one();
                    while st.completed < ticket {
                        st = done.wait(st).expect("lock");
                    }
                    drop(st);
                    count.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let elapsed = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    state.1.notify_all();
    flusher.join().expect("flusher");
    let n = count.load(Ordering::Relaxed);
    let f = flushes.load(Ordering::Relaxed).max(1);
    println!(
        "raw_inserts={n} raw_inserts_per_second={:.0} raw_flushes={f} raw_records_per_flush={:.1} \
         raw_value_bytes={value_bytes} raw_concurrency={concurrency}",
        n as f64 / elapsed.as_secs_f64(),
        n as f64 / f as f64
    );
}

/// The SMTP sender's cost per look at the outbox (issue 14): a store of coming sessions whose
/// invites were all sent, so that nothing is due and every figure is the look itself.
async fn outbox(spec: &Spec, reps: usize) {
    use agenda::invites::{self, ListQuery, StateFilter};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    let agenda = Agenda::new(store.shared(), Limits::default()).await.expect("revision");
    let loaded = synth::load(&agenda, spec, 64).await.expect("load");
    let settings = CalendarSettings::default();
    let mut sent = 0;
    for s in spec.all_sessions() {
        let q = ListQuery {
            session: Some(s.id.clone()),
            states: vec![StateFilter::Pending],
            limit: usize::MAX - 1,
            ..ListQuery::default()
        };
        let pending: Vec<_> = invites::list(&agenda, &settings, &q)
            .await
            .expect("listing")
            .0
            .into_iter()
            .map(|l| l.entry.message)
            .collect();
        sent += pending.len();
        agenda.mark_invites_sent(pending).await.expect("marking");
    }
    let full = median_ms(reps, || async {
        let t = Instant::now();
        assert!(invites::due(&agenda, &settings, 100).await.expect("due").is_empty());
        invites::stats(&agenda).await.expect("stats");
        t.elapsed()
    })
    .await;
    let id = spec.session_id(spec.sessions / 2);
    let after_write = look_after_one_write(&agenda, &id, reps).await;
    println!("outbox_sessions={}", loaded.sessions);
    println!("outbox_slots={}", loaded.slots);
    println!("outbox_invites_sent={sent}");
    println!("outbox_full_look_ms={full:.1}");
    println!("outbox_after_one_write_ms={after_write:.3}");
}

/// The import file of one coming session inviting `n` participants in five groups.
fn participants_file(n: usize) -> String {
    let groups = ["Members", "Missions", "Secretariat", "Organizations", "Think tanks"];
    let people: Vec<serde_json::Value> = (0..n)
        .map(|k| {
            serde_json::json!({"id": format!("participant-{k}"), "name": format!("Participant {k}"),
                                    "email": format!("participant-{k}@example.org")})
        })
        .collect();
    let participants: Vec<serde_json::Value> = (0..n)
        .map(|k| {
            serde_json::json!({"person": format!("participant-{k}"), "role": "participant",
                                    "group": groups[k % groups.len()], "status": "needs_action"})
        })
        .collect();
    serde_json::json!({
        "format": "agenda-export", "version": 1, "people": people,
        "sessions": [{
            "id": "bench-participants", "title": "A session inviting its participants",
            "organizer": {"name": "Bench Organizer", "short_name": "BO", "email": "organizer@example.org"},
            "format": "online", "join_url": "https://meet.example.org/bench", "time_zone": "Europe/Zurich",
            "start": "2031-03-05T14:00:00Z", "end": "2031-03-05T15:30:00Z", "status": "scheduled",
            "visibility": "public", "invite_participants": true, "participants": participants,
        }],
    })
    .to_string()
}

/// The sender's look at one session inviting `n` participants (issue 23): what one write in
/// that session costs it, with every invite sent (nothing due) and after a move (`n` due).
async fn participants(n: usize, reps: usize) {
    use agenda::domain::SessionId;
    use agenda::invites::{self, ListQuery, StateFilter};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    let agenda = Agenda::new(store.shared(), Limits::default()).await.expect("revision");
    agenda::app::import::import(&agenda, &participants_file(n), agenda::app::ImportMode::SkipExisting)
        .await
        .expect("import");
    let id = SessionId::parse("bench-participants").expect("id");
    let settings = CalendarSettings::default();
    let q = ListQuery {
        session: Some(id.clone()),
        states: vec![StateFilter::Pending],
        limit: usize::MAX - 1,
        ..ListQuery::default()
    };
    let pending: Vec<_> =
        invites::list(&agenda, &settings, &q).await.expect("listing").0.into_iter().map(|l| l.entry.message).collect();
    assert_eq!(pending.len(), n, "one invite per participant");
    agenda.mark_invites_sent(pending).await.expect("marking");
    let after_write = look_after_one_write(&agenda, &id, reps).await;
    // A move: every participant's update is due; the look that finds them, and rendering them.
    agenda
        .update_session(&id, None, |s| {
            s.start = "2031-03-05T15:00:00Z".parse().expect("time");
            s.end = "2031-03-05T16:30:00Z".parse().expect("time");
            Ok(())
        })
        .await
        .expect("move");
    let examine_moved = median_ms(reps, || async {
        let t = Instant::now();
        let x = invites::examine(&agenda, &id, Timestamp::now()).await.expect("examine").expect("coming");
        assert_eq!(x.stats().pending, n as u64);
        t.elapsed()
    })
    .await;
    let x = invites::examine(&agenda, &id, Timestamp::now()).await.expect("examine").expect("coming");
    let render = median_ms(reps, || async {
        let t = Instant::now();
        assert_eq!(invites::due_of(&settings, &[&x], n).expect("render").len(), n);
        t.elapsed()
    })
    .await;
    println!("participants={n}");
    println!("participants_after_one_write_ms={after_write:.3}");
    println!("participants_examine_after_move_ms={examine_moved:.2}");
    println!("participants_render_due_ms={render:.1}");
}

/// The sender's work after a write to session `id` that calls for no message (a new
/// description): read the change log since its revision, examine the session it names; the
/// median of `reps`, in milliseconds (the write itself is not timed).
async fn look_after_one_write(agenda: &Agenda, id: &agenda::domain::SessionId, reps: usize) -> f64 {
    use agenda::invites;
    median_ms(reps, || async {
        let before = agenda.durable_revision();
        agenda
            .update_session(id, None, |s| {
                s.description.push('.');
                Ok(())
            })
            .await
            .expect("write");
        let t = Instant::now();
        let changes = agenda.changes_between(before, agenda.durable_revision(), 256).await.expect("change log");
        for c in changes {
            let x = invites::examine(agenda, &c.session.id, Timestamp::now()).await.expect("examine");
            assert!(x.is_some_and(|x| x.stats().pending == 0));
        }
        t.elapsed()
    })
    .await
}

/// The median of `reps` runs of `f`, in milliseconds: each run times what it measures, so
/// that its set-up stays out.
async fn median_ms<F, Fut>(reps: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut times: Vec<f64> = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        times.push(f().await.as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

// ----- double bookings and free/busy (issue 24) -----

/// p50 and p99 of `reps` sequential calls of `call` (after a tenth as warm-up), in
/// microseconds, and what the last call counted.
async fn series<F, Fut>(reps: usize, mut call: F) -> (f64, f64, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::with_capacity(reps);
    let mut count = 0;
    for i in 0..reps + reps / 10 {
        let t = Instant::now();
        count = call().await;
        if i >= reps / 10 {
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.99), count)
}

async fn schedule(addr: SocketAddr, spec: &Spec, reps: usize) {
    use agenda::pb::schedule_service_client::ScheduleServiceClient;
    let channel = Channel::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
    let schedule = ScheduleServiceClient::new(channel.clone());
    let people = PersonServiceClient::new(channel);
    let regular = spec.regular(0).to_string();
    // Every commitment of the regular: ListPersonSlots pages through them, as ListConflicts
    // reads them all.
    let commitments = {
        let (mut people, mut total, mut token) = (people.clone(), 0, String::new());
        loop {
            let req = pb::ListPersonSlotsRequest {
                person_id: regular.clone(),
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            };
            let page = people.list_person_slots(req).await.expect("ListPersonSlots").into_inner();
            total += page.slots.len();
            if page.next_page_token.is_empty() {
                break total;
            }
            token = page.next_page_token;
        }
    };
    let conflicts = {
        let req = pb::ListConflictsRequest { person_id: regular.clone(), page_size: 1000, ..Default::default() };
        series(reps, || {
            let (mut c, req) = (schedule.clone(), req.clone());
            async move { c.list_conflicts(req).await.expect("ListConflicts").into_inner().conflicts.len() }
        })
        .await
    };
    let year = (spec.start, Timestamp::from_second(spec.start.as_second() + 365 * 86_400).expect("in range"));
    let free_busy = {
        let req = pb::QueryFreeBusyRequest {
            person_ids: (0..100).map(|i| spec.regular(i).to_string()).collect(),
            from_time: Some(ts(year.0)),
            to_time: Some(ts(year.1)),
        };
        series(reps, || {
            let (mut c, req) = (schedule.clone(), req.clone());
            async move {
                let answer = c.query_free_busy(req).await.expect("QueryFreeBusy").into_inner();
                answer.people.iter().map(|p| p.busy.len()).sum()
            }
        })
        .await
    };
    let slots = {
        let req = pb::ListPersonSlotsRequest { person_id: regular.clone(), page_size: 1000, ..Default::default() };
        series(reps, || {
            let (mut c, req) = (people.clone(), req.clone());
            async move { c.list_person_slots(req).await.expect("ListPersonSlots").into_inner().slots.len() }
        })
        .await
    };
    println!(
        "schedule_commitments={commitments} list_conflicts_p50_us={:.0} list_conflicts_p99_us={:.0} list_conflicts_count={} \
         free_busy_p50_us={:.0} free_busy_p99_us={:.0} free_busy_periods={} \
         person_slots_p50_us={:.0} person_slots_p99_us={:.0} person_slots_count={}",
        conflicts.0, conflicts.1, conflicts.2, free_busy.0, free_busy.1, free_busy.2, slots.0, slots.1, slots.2
    );
}

async fn creates(addr: SocketAddr, spec: &Spec, offset: usize, count: usize, concurrency: usize) {
    let channels = connect(addr, concurrency).await;
    let next = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (channels, next, conflicts, spec) =
            (Arc::clone(&channels), Arc::clone(&next), Arc::clone(&conflicts), spec.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = SessionServiceClient::new(channels[task % channels.len()].clone());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= count {
                    return;
                }
                let s = spec.session(spec.sessions + offset + i);
                let req = pb::CreateSessionRequest {
                    session_id: s.id.to_string(),
                    session: Some(pb_session(&s)),
                    ..Default::default()
                };
                let answer = client.create_session(req).await.expect("CreateSession").into_inner();
                conflicts.fetch_add(answer.conflicts.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("a create task");
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "creates={count} creates_per_second={:.0} creates_conflicts_reported={}",
        count as f64 / seconds,
        conflicts.load(Ordering::Relaxed)
    );
}
