//! The `agenda` command line: serve, import, export, migrate.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

mod cli;

use agenda::app::{Agenda, ImportMode};
use agenda::config::{Config, Overrides, StoreChoice};
use agenda::domain::Limits;
use agenda::store::{IndexFileError, IndexSource, SledStore};
use cli::{DataDir, ServeArgs, StoreArgs};

/// Meeting sessions and their agendas: a gRPC service with iCalendar feeds.
#[derive(Parser)]
#[command(version, about, after_help = SETTINGS)]
struct Cli {
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    command: Command,
}

/// `--mode` of `agenda import`: the command line's names for [`ImportMode`] (clap's derive
/// stays here, out of the library).
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
enum ImportModeArg {
    /// Leave stored records exactly as they are; create only the new ones.
    #[default]
    SkipExisting,
    /// Replace stored records by the file's, as an edit would: sequence numbers go past the
    /// stored ones, slots the file lacks are shown cancelled; identical records are left alone.
    Replace,
}

impl From<ImportModeArg> for ImportMode {
    fn from(mode: ImportModeArg) -> Self {
        match mode {
            ImportModeArg::SkipExisting => ImportMode::SkipExisting,
            ImportModeArg::Replace => ImportMode::Replace,
        }
    }
}

/// The rule for settings, in `agenda --help`.
const SETTINGS: &str = "\
Settings: serve reads every key of the configuration (defaults < --config FILE or AGENDA_CONFIG \
< AGENDA_* environment < flags). import, export, check, invite and migrate read the same layers \
and use only the keys that say where the data is (data, store, [etcd]; invite also uid_domain and \
feeds.organizer_email, as the server renders invites); the other keys, in the file or the \
environment, are serve's and not used by them. A flag a command does not take is \
refused. See each command's --help.";

/// The rule for settings, in the help of every command that opens the store.
const OFFLINE_SETTINGS: &str = "\
Settings: read as serve reads them (defaults < --config FILE or AGENDA_CONFIG < AGENDA_* \
environment < flags). This command uses the keys that say where the data is, data, store and \
[etcd] (AGENDA_DATA, AGENDA_STORE, AGENDA_ETCD_*), besides those its own options name. The \
other keys, in the file or the environment, are serve's: neither used nor checked here, so an \
environment set for serve does not get in the way. A flag this command does not take is \
refused.";

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API and the HTTP feeds.
    Serve(Box<ServeArgs>),
    /// Import sessions and people from an export file; prints what it did. Importing the
    /// same file twice changes nothing the second time.
    #[command(after_help = OFFLINE_SETTINGS)]
    Import {
        #[command(flatten)]
        place: StoreArgs,
        /// The JSON file (see data/demo/ for an example); `-` reads standard input.
        file: PathBuf,
        /// What to do with a session or person whose id is already stored.
        #[arg(long, value_enum, default_value_t)]
        mode: ImportModeArg,
    },
    /// Write every session and person as an import file (a consistent snapshot).
    #[command(after_help = OFFLINE_SETTINGS)]
    Export {
        #[command(flatten)]
        place: StoreArgs,
        /// Where to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Export from a running server (its gRPC address, e.g. http://127.0.0.1:50051)
        /// instead of opening the store directly.
        #[arg(long, conflicts_with_all = ["config", "store"])]
        server: Option<String>,
        /// Admin token for --server (or AGENDA_TOKEN).
        #[arg(long, requires = "server")]
        token: Option<String>,
    },
    /// Copy every person, session, sent-invite record and feed token from one store to
    /// another (sled to etcd and back); prints what it copied. Run it with no server writing
    /// either store. The [etcd] settings (CA, user) come from the configuration, as for serve.
    #[command(after_help = OFFLINE_SETTINGS)]
    Migrate {
        /// TOML configuration file, or AGENDA_CONFIG: its [etcd] settings apply to an etcd end.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The source: a sled directory (DIR or sled:DIR) or etcd://host:port[,...]/prefix/.
        #[arg(long)]
        from: String,
        /// The destination, in the same forms; it must hold no records unless --force.
        #[arg(long)]
        to: String,
        /// Copy over a destination that already holds records (same ids are replaced).
        #[arg(long)]
        force: bool,
    },
    /// Check a sled store: every index against a recomputation from the records. Exits 1 and
    /// lists the differences if there are any. Opens the store directly (server stopped).
    #[command(after_help = OFFLINE_SETTINGS)]
    Check {
        #[command(flatten)]
        place: StoreArgs,
    },
    /// Show the invite e-mails (iMIP) a person would be sent for their slots in a session.
    /// Opens the store directly: run it while the server is stopped. Renders them as the
    /// server does: with the configuration's uid_domain and feeds.organizer_email too.
    #[command(after_help = OFFLINE_SETTINGS)]
    Invite {
        #[command(flatten)]
        place: StoreArgs,
        session: String,
        person: String,
        /// Only this slot.
        #[arg(long)]
        slot: Option<String>,
        /// Write the e-mail here (FILE.eml; with several messages, FILE-<slot>.eml each, and
        /// FILE.participant.eml for the invite to the whole session); standard output when
        /// absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The UID domain the server uses (see `serve --uid-domain`); else AGENDA_UID_DOMAIN,
        /// the file's uid_domain, or agenda.invalid.
        #[arg(long)]
        uid_domain: Option<String>,
    },
}

/// mimalloc instead of glibc malloc: sled 0.34 copies a leaf node on every write and the
/// server allocates per request; under load glibc's malloc took a quarter of the CPU
/// (`_int_malloc`, `malloc_consolidate`; BENCHMARKS.md, profiles).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's option setter (`mimalloc.h`), in the library the allocator above links.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (the version `libmimalloc-sys`
/// builds by default): how long freed memory stays committed before it is returned to the OS.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Returns freed memory to the OS at once (mimalloc's default waits 10 ms, and 100 ms for
/// whole arena chunks) unless `MIMALLOC_PURGE_DELAY` says otherwise. The server's resident
/// memory at scale is mostly sled's pages read and dropped again: with the delay, a sweep of
/// reads keeps tens of MB more resident at its peak (BENCHMARKS.md, memory). Set before any
/// thread other than this one exists; allocations made so far are unaffected.
fn allocator_options() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain setter of a global option, documented as callable at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> anyhow::Result<()> {
    allocator_options();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads())
        .build()
        .context("starting the tokio runtime")?;
    // The store a command leaves to reopen once it is done (see `checkpoint`).
    let mut finished_store = None;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => {
                let config = args.resolve(cli.data.path.clone())?;
                if args.print_config {
                    print!("{}", config.to_toml());
                    return Ok(());
                }
                finished_store = serve(config).await?;
                Ok(())
            }
            Command::Import { place, file, mode } => {
                let config = place.resolve_offline(cli.data.path.clone(), Overrides::default())?;
                finished_store = import(&config, &file, mode.into()).await?;
                Ok(())
            }
            Command::Check { place } => {
                check(&place.resolve_offline(cli.data.path.clone(), Overrides::default())?).await
            }
            Command::Migrate { config, from, to, force } => {
                refuse_data(&cli.data, "migrate takes its stores from --from and --to")?;
                finished_store = migrate(config.as_deref(), &from, &to, force).await?;
                Ok(())
            }
            Command::Export { place, out, server: None, .. } => {
                export(&place.resolve_offline(cli.data.path.clone(), Overrides::default())?, out.as_deref()).await
            }
            Command::Export { out, server: Some(server), token, .. } => {
                refuse_data(&cli.data, "export --server reads from the server, not from a store")?;
                let token = token.or_else(|| std::env::var("AGENDA_TOKEN").ok().filter(|t| !t.is_empty()));
                export_remote(&server, token.as_deref(), out.as_deref()).await
            }
            Command::Invite { place, session, person, slot, out, uid_domain } => {
                let config =
                    place.resolve_offline(cli.data.path.clone(), Overrides::default().set("uid_domain", uid_domain))?;
                invite(&config, &session, &person, slot.as_deref(), out.as_deref()).await
            }
        }
    });
    // Dropping the runtime drops every task still holding the store: connections past the
    // grace period (tonic does not end them), watchers, background pruning.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result?;
    if let Some(store) = finished_store {
        checkpoint(store);
    }
    Ok(())
}

/// Serves until Ctrl-C or SIGTERM: the library builds the service from the configuration;
/// the binary binds the listeners (so it can log the real addresses) and supplies the signal.
async fn serve(config: Config) -> anyhow::Result<Option<Arc<SledStore>>> {
    let shutdown = shutdown_signal()?;
    let service = agenda::server::build(&config).await?;
    let grpc =
        TcpListener::bind(config.grpc_listen).await.with_context(|| format!("binding {}", config.grpc_listen))?;
    let http =
        TcpListener::bind(config.http_listen).await.with_context(|| format!("binding {}", config.http_listen))?;
    let store = service.run(grpc, http, shutdown).await?;
    tracing::info!("stopped serving; every write is on disk");
    Ok(store)
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future
/// is first polled: `serve` calls it before building the service, so a signal that arrives
/// once "serving" is logged starts a clean shutdown instead of killing the process (SIGTERM's
/// default action), which a lazily installed handler allowed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// `--data` given to a command that opens no sled directory by it: refused, never ignored.
fn refuse_data(data: &DataDir, why: &str) -> anyhow::Result<()> {
    match &data.path {
        Some(dir) => anyhow::bail!("--data {}: not used, {why}", dir.display()),
        None => Ok(()),
    }
}

/// Opens the store `config` names for a command that serves nothing (the domain's default
/// limits); sled also as itself, to check or checkpoint.
async fn open(config: &Config) -> anyhow::Result<(Agenda, Option<Arc<SledStore>>)> {
    let (store, sled, _place) = agenda::server::open_store(config).await?;
    let agenda = Agenda::new(store, Limits::default()).await.context("reading the store's revision")?;
    Ok((agenda, sled))
}

/// `agenda import`; returns the store when it is sled, to checkpoint.
async fn import(config: &Config, file: &Path, mode: ImportMode) -> anyhow::Result<Option<Arc<SledStore>>> {
    let json = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let (agenda, store) = open(config).await?;
    let summary = agenda::app::import::import(&agenda, &json, mode).await?;
    println!("{summary}");
    Ok(store)
}

/// `agenda migrate`: opens both stores as `serve --store` would and copies one into the other.
/// Returns the destination when it is sled, to checkpoint like an import.
async fn migrate(config: Option<&Path>, from: &str, to: &str, force: bool) -> anyhow::Result<Option<Arc<SledStore>>> {
    let base = Config::resolve_offline(cli::config_file(config).as_deref(), Overrides::default())?;
    let (source, _source_sled, source_place) =
        agenda::server::open_store(&store_config(&base, from)).await.context("--from")?;
    let (destination, destination_sled, destination_place) =
        agenda::server::open_store(&store_config(&base, to)).await.context("--to")?;
    let summary = agenda::store::migrate::migrate(source.as_ref(), destination.as_ref(), force)
        .await
        .with_context(|| format!("migrating {source_place} to {destination_place}"))?;
    println!("{summary}");
    Ok(destination_sled)
}

/// The configuration of the store `spec` names: `etcd://...`, `sled:DIR` or a directory.
fn store_config(base: &Config, spec: &str) -> Config {
    let mut config = base.clone();
    config.store =
        if spec.starts_with("etcd://") || spec.starts_with("sled:") { spec.to_owned() } else { format!("sled:{spec}") };
    config
}

/// Threads for blocking store work (writes waiting for their flush, scans), 8 per core.
///
/// Why not tokio's 512: on 2 cores, 16 threads against 512 gave the same CreateSession rate
/// and 1.6x the UpdateSlot rate under 64 concurrent writers (fewer threads contending inside
/// sled's transactions), and a lower peak resident memory while reads swept a 100,000-session
/// store (every thread that allocates sled's cached pages keeps its own allocator pages).
/// Calls beyond it wait in tokio's queue; group commit still batches up to this many writes
/// per flush. BENCHMARKS.md has the figures.
fn blocking_threads() -> usize {
    8 * std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Reopens the store once so that the next start does not replay everything this process
/// wrote (see `SledStore::checkpoint`). Runs after the runtime is gone, so nothing else holds
/// the store. Everything is durable already: when this cannot run or fails, the next start is
/// only slower.
fn checkpoint(store: Arc<SledStore>) {
    let store = match Arc::try_unwrap(store) {
        Ok(store) => store,
        Err(store) => {
            tracing::warn!(
                "the store is still in use; skipping the recovery snapshot (the next start replays the log)"
            );
            // The index file can still be written: a write after it makes it stale, which
            // the next open sees.
            if let Err(e) = store.flush().map_err(IndexFileError::from).and_then(|()| store.save_index().map(drop)) {
                tracing::warn!(error = %e, "writing the index file failed; the next start lists every record");
            }
            return;
        }
    };
    let t0 = std::time::Instant::now();
    match store.checkpoint() {
        Ok(()) => tracing::info!(seconds = t0.elapsed().as_secs_f64(), "wrote the store's recovery snapshot"),
        Err(e) => tracing::warn!(error = %e, "writing the recovery snapshot failed; the next start replays the log"),
    }
}

async fn export(config: &Config, out: Option<&Path>) -> anyhow::Result<()> {
    let (agenda, _store) = open(config).await?;
    let text = agenda::app::import::export(&agenda).await?;
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}

async fn invite(
    config: &Config,
    session: &str,
    person: &str,
    slot: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    use agenda::domain::{PersonId, SessionId, SlotId};
    let session = SessionId::parse(session).context("SESSION")?;
    let person = PersonId::parse(person).context("PERSON")?;
    let slot = slot.map(SlotId::parse).transpose().context("--slot")?;
    config.check_calendar()?;
    let settings = config.calendar_settings();
    let (agenda, _store) = open(config).await?;
    let invites = agenda::invites::create(&agenda, &settings, &session, &person, slot.as_ref()).await?;
    for (i, inv) in invites.iter().enumerate() {
        match out {
            None => {
                if i > 0 {
                    println!();
                }
                print!("{}", inv.email);
            }
            Some(path) => {
                let path = if invites.len() == 1 {
                    path.to_owned()
                } else {
                    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                    // A slot's is `<stem>-<slot>.eml`; the participant invite (no slot) is
                    // `<stem>.participant.eml`, which no slot's name can be.
                    match &inv.message.slot {
                        Some(slot) => path.with_file_name(format!("{stem}-{slot}.eml")),
                        None => path.with_file_name(format!("{stem}.participant.eml")),
                    }
                };
                std::fs::write(&path, &inv.email).with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(path = %path.display(), method = inv.message.method.as_str(), "invite written");
            }
        }
    }
    Ok(())
}

/// `agenda check`: sled's own verification. An etcd store is refused, never a sled
/// directory checked in its place.
async fn check(config: &Config) -> anyhow::Result<()> {
    if !matches!(config.store_choice()?, StoreChoice::Sled(_)) {
        anyhow::bail!(
            "store {}: check checks sled stores only (their records, log and indexes); \
             `agenda export --store {}` reads and decodes every record of an etcd store",
            config.store,
            config.store
        );
    }
    let (_agenda, store) = open(config).await?;
    let store = store.expect("a sled store opens as itself");
    let (index_bytes, sessions) = store.index_size();
    let source = match store.index_source() {
        IndexSource::File => "read from the index file".to_owned(),
        IndexSource::Records(why) => format!("built from the records: {why}"),
    };
    let problems = tokio::task::spawn_blocking(move || store.verify()).await??;
    if problems.is_empty() {
        println!(
            "ok: every record decodes, the last logged write is applied, every index agrees with the records \
             ({sessions} sessions, indexes about {:.1} MiB in memory, {source})",
            index_bytes as f64 / (1024.0 * 1024.0)
        );
        return Ok(());
    }
    println!("indexes {source}");
    for p in &problems {
        println!("{p}");
    }
    anyhow::bail!("{} problem(s) found", problems.len())
}

/// Streams a snapshot from a running server's AdminService.
async fn export_remote(server: &str, token: Option<&str>, out: Option<&Path>) -> anyhow::Result<()> {
    use agenda::pb::admin_service_client::AdminServiceClient;
    let channel = tonic::transport::Channel::from_shared(server.to_owned())
        .context("--server")?
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let mut client = AdminServiceClient::new(channel);
    let mut req = tonic::Request::new(agenda::pb::ExportDataRequest {});
    if let Some(t) = token {
        req.metadata_mut().insert("authorization", format!("Bearer {t}").parse().context("the token")?);
    }
    let mut stream = client.export_data(req).await.context("ExportData")?.into_inner();
    let mut data = Vec::new();
    while let Some(msg) = stream.message().await.context("ExportData")? {
        data.extend_from_slice(&msg.chunk);
    }
    match out {
        Some(path) => std::fs::write(path, &data).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(&data)?,
    }
    Ok(())
}
