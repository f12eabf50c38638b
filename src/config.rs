//! Configuration of `agenda serve`: flags with environment overrides.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::domain::Limits;

/// Options of `agenda serve`. Every flag can also be set by the environment variable named
/// in its help, so a container or a systemd unit needs no command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address of the internal gRPC API. Port 0 picks a free port (logged at start).
    #[arg(long, env = "AGENDA_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,
    /// Address of the HTTP listener for feeds and operator endpoints (may face the internet
    /// while gRPC stays internal).
    #[arg(long, env = "AGENDA_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Load the demo session (the FMG MSME brainstorming of 17 November 2022) before
    /// serving. Idempotent: running with --demo again changes nothing.
    #[arg(long, env = "AGENDA_DEMO")]
    pub demo: bool,
    /// Most slots a session may have.
    #[arg(long, env = "AGENDA_MAX_SLOTS", default_value_t = Limits::default().max_slots)]
    pub max_slots: usize,
    /// Most participants a session may have.
    #[arg(long, env = "AGENDA_MAX_PARTICIPANTS", default_value_t = Limits::default().max_participants)]
    pub max_participants: usize,
}

impl ServeConfig {
    pub fn limits(&self) -> Limits {
        Limits { max_slots: self.max_slots, max_participants: self.max_participants, ..Limits::default() }
    }
}

/// Where the store lives: `--data DIR` or `AGENDA_DATA`, `./agenda-data` by default.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Directory of the sled database (created if missing).
    #[arg(long = "data", env = "AGENDA_DATA", default_value = "./agenda-data", global = true)]
    pub path: PathBuf,
}
