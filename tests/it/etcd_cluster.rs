//! A real three-member etcd cluster on loopback for the etcd engine's tests (feature `etcd`).
//!
//! The binary is `AGENDA_TEST_ETCD`, else `etcd` on the PATH (scripts/test fetches etcd 3.4 from
//! Debian and sets the variable). Each cluster gets ephemeral ports and temporary data
//! directories, is ready once a write through the client succeeds, and is killed on drop. A
//! member can be stopped (killed, as a crash would) and started again on its data directory:
//! the failover tests lose the leader, one member, or the quorum.
//! Every test starts its own: compaction is cluster-wide, and the change-log checks count
//! revisions, so a cluster shared between tests would let one test's writes show in another's.

use std::ffi::OsString;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agenda::store::{EtcdOptions, EtcdStore};

/// How long a cluster gets to elect a leader and take a write before the test fails.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The `--max-txn-ops` the test clusters run with (see the engine's module documentation).
pub const MAX_TXN_OPS: usize = 1024;

pub struct EtcdCluster {
    /// Each member's process; `None` while it is stopped.
    members: Vec<Option<Child>>,
    /// Each member's command line, to start it again on the same data directory and ports.
    args: Vec<Vec<OsString>>,
    /// With TLS on the client port: the CA (PEM) that signed the members' certificate.
    pub ca_pem: Option<String>,
    /// `http://127.0.0.1:PORT` of each member's client listener.
    pub endpoints: Vec<String>,
    /// The members' data directories, removed on drop after the members are killed.
    _dirs: Vec<tempfile::TempDir>,
}

fn etcd_binary() -> String {
    std::env::var("AGENDA_TEST_ETCD").unwrap_or_else(|_| "etcd".to_owned())
}

/// A free loopback port. The listener closes before etcd binds it; the kernel does not hand
/// out the same ephemeral port again at once.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

impl EtcdCluster {
    /// The `--store` (`store` key) of an agenda store on this cluster under `prefix`: every
    /// member, and the `max_txn_ops` the members run with.
    pub fn store_url(&self, prefix: &str) -> String {
        let hosts: Vec<&str> =
            self.endpoints.iter().map(|e| e.split_once("://").map_or(e.as_str(), |(_, h)| h)).collect();
        format!("etcd://{}/{prefix}/?max_txn_ops={MAX_TXN_OPS}", hosts.join(","))
    }

    /// Starts three members and waits until the cluster takes a write.
    pub async fn start() -> Self {
        Self::start_with(MAX_TXN_OPS).await
    }

    /// [`Self::start`], the members refusing a Txn of more than `max_txn_ops` operations.
    pub async fn start_with(max_txn_ops: usize) -> Self {
        Self::launch(max_txn_ops, None).await
    }

    /// [`Self::start`] with TLS on the client port, from a test CA (peers talk plain HTTP).
    pub async fn start_tls() -> Self {
        Self::launch(MAX_TXN_OPS, Some(crate::production::pki())).await
    }

    /// Starts the members on fresh ports, again (up to three times) when one of them exits
    /// before the cluster is ready: a port found free can be taken by another test's listener
    /// before etcd binds it, and etcd then exits with "address already in use".
    async fn launch(max_txn_ops: usize, ca: Option<crate::production::TestPki>) -> Self {
        for attempt in 1..=3 {
            let mut cluster = Self::spawn_members(max_txn_ops, ca.as_ref());
            match cluster.wait_ready().await {
                Ok(()) => return cluster,
                Err(Exited(why)) if attempt < 3 => eprintln!("etcd test cluster: {why}; starting it again"),
                Err(Exited(why)) => panic!("the etcd cluster did not start three times: {why}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn spawn_members(max_txn_ops: usize, ca: Option<&crate::production::TestPki>) -> Self {
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let peers: Vec<String> =
            ports.iter().enumerate().map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}")).collect();
        let initial = peers.join(",");
        let mut cluster = Self {
            members: Vec::new(),
            args: Vec::new(),
            ca_pem: ca.as_ref().map(|ca| ca.ca.clone()),
            endpoints: Vec::new(),
            _dirs: Vec::new(),
        };
        let scheme = if ca.is_some() { "https" } else { "http" };
        for (i, (client, peer)) in ports.iter().enumerate() {
            let dir = tempfile::tempdir().expect("a temporary data directory");
            let client_url = format!("{scheme}://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let mut args: Vec<OsString> = Vec::new();
            if let Some(ca) = ca {
                let write = |name: &str, pem: &str| {
                    let path = dir.path().join(name);
                    std::fs::write(&path, pem).expect("writing a test certificate");
                    path
                };
                args.extend(["--cert-file".into(), write("server.pem", &ca.server_cert).into()]);
                args.extend(["--key-file".into(), write("server.key", &ca.server_key).into()]);
            }
            let data_dir = dir.path().as_os_str().to_owned();
            let max_txn_ops = max_txn_ops.to_string();
            let name = format!("m{i}");
            args.extend(
                [
                    ["--name", name.as_str()],
                    ["--listen-client-urls", &client_url],
                    ["--advertise-client-urls", &client_url],
                    ["--listen-peer-urls", &peer_url],
                    ["--initial-advertise-peer-urls", &peer_url],
                    // Ignored when the data directory holds a member already (a restart).
                    ["--initial-cluster", &initial],
                    ["--initial-cluster-state", "new"],
                    ["--initial-cluster-token", "agenda-test"],
                    ["--max-txn-ops", &max_txn_ops],
                    ["--logger", "zap"],
                    ["--log-level", "error"],
                ]
                .into_iter()
                .flatten()
                .map(OsString::from),
            );
            args.extend(["--data-dir".into(), data_dir]);
            cluster.args.push(args);
            cluster.members.push(None);
            cluster.start_member(i);
            cluster.endpoints.push(client_url);
            cluster._dirs.push(dir);
        }
        cluster
    }

    /// Starts member `i` (again), on its data directory and ports.
    pub fn start_member(&mut self, i: usize) {
        assert!(self.members[i].is_none(), "member m{i} is running already");
        let child = Command::new(etcd_binary())
            .args(&self.args[i])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting etcd ({}): {e}; set AGENDA_TEST_ETCD or put etcd on the PATH", etcd_binary())
            });
        self.members[i] = Some(child);
    }

    /// Kills member `i` (as a crash would), keeping its data directory for a restart.
    pub fn stop_member(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The index of the member that leads, asked of each running member in turn, polling until
    /// one names a leader (an election may be under way).
    pub async fn leader(&self) -> usize {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            for (i, endpoint) in self.endpoints.iter().enumerate() {
                if self.members[i].is_none() {
                    continue;
                }
                let options = etcd_client::ConnectOptions::new().with_timeout(Duration::from_secs(1));
                let Ok(mut client) = etcd_client::Client::connect([endpoint], Some(options)).await else { continue };
                let Ok(status) = client.status().await else { continue };
                let me = status.header().map(|h| h.member_id());
                if status.leader() != 0 && me == Some(status.leader()) {
                    return i;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no etcd member led within {READY_WITHIN:?}");
    }

    /// Polls until running member `i` knows no leader: with the quorum lost, it has stepped
    /// down or given up its election, so no write can be taken (nor be half taken).
    pub async fn wait_leaderless(&self, i: usize) {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            let options = etcd_client::ConnectOptions::new().with_timeout(Duration::from_secs(1));
            if let Ok(mut client) = etcd_client::Client::connect([&self.endpoints[i]], Some(options)).await
                && let Ok(status) = client.status().await
                && status.leader() == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("member m{i} still had a leader after {READY_WITHIN:?}");
    }

    /// Polls until a write through the client succeeds; a member that exits first is an error
    /// to start again from (see `launch`).
    async fn wait_ready(&mut self) -> Result<(), Exited> {
        let deadline = Instant::now() + READY_WITHIN;
        let mut last_error = String::new();
        while Instant::now() < deadline {
            for (i, m) in self.members.iter_mut().enumerate() {
                if let Some(Ok(Some(status))) = m.as_mut().map(Child::try_wait) {
                    return Err(Exited(format!("member m{i} exited: {status}")));
                }
            }
            match self.client(None).await {
                Ok(mut client) => match client.put("ready", "", None).await {
                    Ok(_) => return Ok(()),
                    Err(e) => last_error = e.to_string(),
                },
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the etcd cluster took no write within {READY_WITHIN:?}: {last_error}");
    }

    /// A client of the cluster (over TLS when it has it), as `user` when given.
    pub async fn client(&self, user: Option<(&str, &str)>) -> Result<etcd_client::Client, etcd_client::Error> {
        let mut connect = etcd_client::ConnectOptions::new().with_timeout(Duration::from_secs(2));
        if let Some(ca) = &self.ca_pem {
            let ca = etcd_client::Certificate::from_pem(ca);
            connect = connect.with_tls(etcd_client::TlsOptions::new().ca_certificate(ca));
        }
        if let Some((name, password)) = user {
            connect = connect.with_user(name, password);
        }
        etcd_client::Client::connect(&self.endpoints, Some(connect)).await
    }

    /// A store under `prefix` on this cluster.
    pub async fn store(&self, prefix: &str) -> EtcdStore {
        self.store_with(prefix, MAX_TXN_OPS).await
    }

    /// A store under `prefix` told that the cluster allows `max_txn_ops` operations per Txn.
    pub async fn store_with(&self, prefix: &str, max_txn_ops: usize) -> EtcdStore {
        let options = EtcdOptions { prefix: prefix.to_owned(), max_txn_ops, ..EtcdOptions::default() };
        EtcdStore::connect(&self.endpoints, options).await.expect("connecting to the etcd cluster")
    }
}

/// A member exited before the cluster was ready.
struct Exited(String);

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.stop_member(i);
        }
    }
}

/// The engine's person-in-use rule rests on this etcd behaviour: a compare over a key range
/// with no key in it compares a zero key-value, so `version == 0` holds exactly when the range
/// is empty (and fails as soon as one key lies in it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_compare_over_an_empty_range_holds_only_while_it_is_empty() {
    use etcd_client::{Compare, CompareOp, Txn, TxnOp};
    let cluster = EtcdCluster::start().await;
    let mut client = etcd_client::Client::connect(&cluster.endpoints, None).await.unwrap();
    let empty = || Compare::version("r/ana\0", CompareOp::Equal, 0).with_range("r/ana\u{1}");
    let probe =
        || Txn::new().when([empty()]).and_then([TxnOp::get("probe", None)]).or_else([TxnOp::get("probe", None)]);

    assert!(client.txn(probe()).await.unwrap().succeeded(), "no key in the range");
    client.put("r/anab", "", None).await.unwrap();
    assert!(client.txn(probe()).await.unwrap().succeeded(), "a key just past the range is not in it");
    client.put("r/ana\0one", "", None).await.unwrap();
    assert!(!client.txn(probe()).await.unwrap().succeeded(), "one key in the range");
    client.delete("r/ana\0one", None).await.unwrap();
    assert!(client.txn(probe()).await.unwrap().succeeded(), "empty again");
}

/// `agenda serve --store etcd://...`: the server that `server::build` makes from the config
/// keeps its records in the cluster, under the URL's prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_configured_with_an_etcd_store_keeps_its_sessions_in_the_cluster() {
    use crate::helpers::{session, spawn_with};
    let cluster = EtcdCluster::start().await;
    let url = cluster.store_url("smoke");
    let unused = tempfile::tempdir().unwrap();
    let app = spawn_with(unused.path(), false, agenda::domain::Limits::default(), |c| c.store = url).await;

    let created = app.create("one", session("On etcd", "2026-03-20T09:00:00Z", "2026-03-20T10:00:00Z")).await;
    let read = app.session("one").await;
    assert_eq!((read.title.as_str(), &read.etag), ("On etcd", &created.etag));

    let mut client = etcd_client::Client::connect(&cluster.endpoints, None).await.unwrap();
    let stored = client.get("smoke/a1/s/one", None).await.unwrap();
    assert_eq!(stored.kvs().len(), 1, "the session is a key of the cluster, under the prefix");
    assert_eq!(std::fs::read_dir(unused.path()).unwrap().count(), 0, "and nothing was written to --data");
    app.stop().await;
}

/// The documented bound is etcd's own count: on a cluster started with `--max-txn-ops 16`, a
/// session write that replaces all of the 7 people it names (`txn_ops_needed(7)` = 16
/// operations) goes through, and one that would need more is refused before it is sent, with
/// an error naming the flag, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_session_write_the_txn_limit_allows_fits_and_a_larger_one_is_refused_cleanly() {
    use crate::store_contract::{person, session};
    use agenda::store::{Expect, Store, StoreError, txn_ops_needed};
    const LIMIT: usize = 16;
    assert_eq!(txn_ops_needed(7), LIMIT);
    let cluster = EtcdCluster::start_with(LIMIT).await;
    let store = cluster.store_with("limits/", LIMIT).await;
    let ids: Vec<String> = (0..16).map(|i| format!("p{i:02}")).collect();
    for id in &ids {
        store.put_person(&person(id, id, ""), Expect::Absent).await.unwrap();
    }
    let named = |range: std::ops::Range<usize>| ids[range].iter().map(String::as_str).collect::<Vec<_>>();

    let first = store.put_session(&session("one", 0, 1, &named(0..7)), Expect::Absent).await.unwrap();
    let replaced = store.put_session(&session("one", 0, 1, &named(7..14)), Expect::Revision(first)).await.unwrap();

    // 9 people named, none of them before: 2 + 9 added + 7 removed = 18 operations.
    let others = [named(0..7), named(14..16)].concat();
    let grown = store.put_session(&session("one", 0, 1, &others), Expect::Revision(replaced)).await;
    assert!(matches!(&grown, Err(StoreError::Backend(m)) if m.contains("--max-txn-ops")), "{grown:?}");
    let now = store.get_session(&agenda::domain::SessionId::parse("one").unwrap()).await.unwrap().unwrap();
    assert_eq!((now.meta.revision, now.referenced_people().len()), (replaced, 7), "the refused write changed nothing");
    assert_eq!(store.revision().await.unwrap(), replaced);
}

/// `[etcd] ca, user, password_file`: the server reaches a cluster that speaks only TLS and has
/// authentication on, verifying the members against the CA and logging in as the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_reaches_a_cluster_over_tls_as_a_user() {
    use crate::helpers::{session, spawn_with};
    let cluster = EtcdCluster::start_tls().await;
    let mut admin = cluster.client(None).await.unwrap();
    admin.user_add("root", "s3cret", None).await.unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin.auth_enable().await.unwrap();

    let files = tempfile::tempdir().unwrap();
    let ca = files.path().join("etcd-ca.pem");
    std::fs::write(&ca, cluster.ca_pem.as_deref().unwrap()).unwrap();
    let password = files.path().join("etcd-password");
    std::fs::write(&password, "s3cret\n").unwrap();
    let hosts: Vec<&str> = cluster.endpoints.iter().map(|e| e.trim_start_matches("https://")).collect();
    let url = format!("etcd://{}/secure/", hosts.join(","));
    let app = spawn_with(files.path(), false, agenda::domain::Limits::default(), |c| {
        c.store = url;
        c.etcd = agenda::config::EtcdConfig {
            ca: Some(ca),
            user: Some("root".into()),
            password_file: Some(password),
            ..agenda::config::EtcdConfig::default()
        };
    })
    .await;

    app.create("one", session("Over TLS", "2026-03-20T09:00:00Z", "2026-03-20T10:00:00Z")).await;
    assert_eq!(app.session("one").await.title, "Over TLS");
    let anonymous = cluster.client(None).await.unwrap().get("secure/a1/s/one", None).await;
    assert!(anonymous.is_err(), "authentication is on: {anonymous:?}");
    let mut user = cluster.client(Some(("root", "s3cret"))).await.unwrap();
    assert_eq!(user.get("secure/a1/s/one", None).await.unwrap().kvs().len(), 1);
    app.stop().await;
}
