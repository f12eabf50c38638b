//! A real IMAP server for the mailbox tests: Dovecot (Debian's `dovecot-imapd`, which
//! scripts/test installs) started as a process in a temporary directory, with the configuration
//! the README's recipe uses (docs/dovecot/agenda-dovecot.conf: loopback only, one passwd-file
//! user, Maildir, its own base and state directories, its log in the directory). `AGENDA_TEST_DOVECOT` names the binary when it is
//! not `/usr/sbin/dovecot` or on the PATH.
//!
//! Run as root (CI, containers), Dovecot's login processes must not be root and mail must not
//! belong to uid 0: they run as `nobody`, who owns the Maildir, and the temporary directory is
//! opened for them to traverse.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use async_imap::Session;
use futures_util::TryStreamExt as _;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use crate::helpers::eventually;

/// The configuration shipped for the README's recipe: the tests start the same one.
const CONFIG: &str = include_str!("../../docs/dovecot/agenda-dovecot.conf");
const CONFIG_PATH: &str = "docs/dovecot/agenda-dovecot.conf";

pub const USER: &str = "organizer";
pub const PASSWORD: &str = "organizer-password";

/// A running Dovecot; stopped when dropped.
pub struct Dovecot {
    dir: tempfile::TempDir,
    /// IMAP (STARTTLS offered when started with TLS).
    pub port: u16,
    /// IMAP over TLS from the first byte, when started with TLS.
    pub imaps_port: Option<u16>,
    child: Option<Child>,
}

impl Dovecot {
    /// Starts Dovecot on a free loopback port and waits for its greeting.
    pub async fn start() -> Dovecot {
        Self::start_with(None).await
    }

    /// Starts Dovecot with TLS: the certificate (for `localhost`) and its key as PEM; STARTTLS
    /// on [`Dovecot::port`], implicit TLS on [`Dovecot::imaps_port`].
    pub async fn start_with_tls(cert: &str, key: &str) -> Dovecot {
        Self::start_with(Some((cert, key))).await
    }

    async fn start_with(tls: Option<(&str, &str)>) -> Dovecot {
        let dir = tempfile::tempdir().expect("temporary directory");
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut d = Dovecot { dir, port: free(), imaps_port: tls.map(|_| free()), child: None };
        d.configure(tls);
        d.restart().await;
        d
    }

    /// `imap://organizer@127.0.0.1:PORT/INBOX?tls=none`: the agenda's `reply_mailbox.url`.
    pub fn url(&self) -> String {
        format!("imap://{USER}@127.0.0.1:{}/INBOX?tls=none", self.port)
    }

    /// `imap://organizer@localhost:PORT/INBOX`: STARTTLS.
    pub fn starttls_url(&self) -> String {
        format!("imap://{USER}@localhost:{}/INBOX", self.port)
    }

    /// `imaps://organizer@localhost:PORT/INBOX`: TLS from the first byte.
    pub fn imaps_url(&self) -> String {
        format!("imaps://{USER}@localhost:{}/INBOX", self.imaps_port.expect("started with TLS"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn configure(&self, tls: Option<(&str, &str)>) {
        let root = self.dir.path();
        let as_root = std::fs::metadata(root).unwrap().uid() == 0;
        // Dovecot refuses root for its login processes and for mail.
        let (uid, gid, login_user, login_group) = if as_root {
            (65534, 65534, "nobody".to_owned(), "nogroup".to_owned())
        } else {
            let meta = std::fs::metadata(root).unwrap();
            let user = std::env::var("USER").expect("USER names the account running the tests");
            (meta.uid(), meta.gid(), user.clone(), user)
        };
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = self.path("mail");
        std::fs::create_dir_all(home.join("Maildir")).unwrap();
        if as_root {
            for p in [home.clone(), home.join("Maildir")] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
            }
        }
        let passwd = self.path("passwd");
        std::fs::write(&passwd, format!("{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}::\n", home.display())).unwrap();
        // The configuration the README's recipe starts, with its four words filled in.
        let mut config = CONFIG
            .replace("@DIR@", &root.display().to_string())
            .replace("@PORT@", &self.port.to_string())
            .replace("@USER@", &login_user)
            .replace("@GROUP@", &login_group);
        // Implicit TLS on its own listener; STARTTLS is offered on the plain one with ssl = yes.
        if let (Some((cert, key)), Some(port)) = (tls, self.imaps_port) {
            std::fs::write(self.path("server.pem"), cert).unwrap();
            std::fs::write(self.path("server.key"), key).unwrap();
            let r = root.display();
            for (plain, with_tls) in [
                ("ssl = no\n", format!("ssl = yes\nssl_cert = <{r}/server.pem\nssl_key = <{r}/server.key\n")),
                (
                    "inet_listener imaps {\n    port = 0\n",
                    format!("inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n"),
                ),
            ] {
                assert!(config.contains(plain), "{CONFIG_PATH} no longer has `{plain}`");
                config = config.replace(plain, &with_tls);
            }
        }
        std::fs::write(self.path("dovecot.conf"), config).unwrap();
    }

    fn binary() -> String {
        std::env::var("AGENDA_TEST_DOVECOT").ok().unwrap_or_else(|| {
            if Path::new("/usr/sbin/dovecot").exists() { "/usr/sbin/dovecot".into() } else { "dovecot".into() }
        })
    }

    /// Starts it again (same port, same mail) after [`Dovecot::stop`].
    pub async fn restart(&mut self) {
        let out = std::fs::File::create(self.path("dovecot.out")).unwrap();
        let child = Command::new(Self::binary())
            .arg("-F")
            .arg("-c")
            .arg(self.path("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} (scripts/test installs dovecot-imapd): {e}", Self::binary()));
        self.child = Some(child);
        let port = self.port;
        eventually("Dovecot's greeting", || async move {
            let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            let mut greeting = [0u8; 4];
            tcp.read_exact(&mut greeting).await.ok()?;
            (&greeting == b"* OK").then_some(())
        })
        .await;
    }

    /// Stops it (SIGTERM: the master ends its processes) and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        let port = self.port;
        eventually("Dovecot to stop listening", || async move {
            TcpStream::connect(("127.0.0.1", port)).await.is_err().then_some(())
        })
        .await;
    }

    /// A logged-in IMAP session, as a mail client has.
    pub async fn login(&self) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().expect("greeting");
        client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap()
    }

    /// Delivers `message` to `folder` (IMAP APPEND, as a delivery agent files it).
    pub async fn deliver(&self, folder: &str, message: &str) {
        let mut s = self.login().await;
        s.append(folder, None, None, message.as_bytes()).await.unwrap();
        s.logout().await.unwrap();
    }

    /// Delivers `message` to the inbox as a local delivery agent does, by writing it into
    /// `Maildir/new`: works while the IMAP server is down.
    pub fn drop_into_maildir(&self, message: &str) {
        let new = self.path("mail").join("Maildir").join("new");
        std::fs::create_dir_all(&new).unwrap();
        let file = new.join(format!("1764500000.M1P{}.agenda-test", std::process::id()));
        std::fs::write(&file, message.replace("\r\n", "\n")).unwrap();
        let owner = std::fs::metadata(self.path("mail")).unwrap();
        for p in [self.path("mail").join("Maildir"), new, file] {
            std::os::unix::fs::chown(&p, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
    }

    /// The full text of every message in `folder` (none when it does not exist).
    pub async fn messages(&self, folder: &str) -> Vec<String> {
        let mut s = self.login().await;
        let Ok(selected) = s.examine(folder).await else { return Vec::new() };
        let mut out = Vec::new();
        if selected.exists > 0 {
            let fetched: Vec<_> = s.fetch("1:*", "BODY.PEEK[]").await.unwrap().try_collect().await.unwrap();
            out = fetched.iter().filter_map(|f| f.body()).map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        }
        s.logout().await.unwrap();
        out
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}
