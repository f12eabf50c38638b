//! A full disk: clients get a clean error (nothing changed, or, when a flush failed, an
//! outcome said to be unknown), acknowledged writes stay, nothing is corrupted.
//! The store lives on a small tmpfs mounted for the test (the test command runs as root on
//! its machine); once full, the tmpfs is grown and the server restarted on the same data.

use std::path::{Path, PathBuf};
use std::process::Command;

use agenda::pb;
use tonic::Code;

use crate::durability::Server;
use crate::helpers::session;

/// A tmpfs mount, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "mounting a test tmpfs needs root: {}", String::from_utf8_lossy(&out.stderr));
        Tmpfs(dir.to_owned())
    }

    fn grow(&self, size: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.0).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_a_clean_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount(dir.path(), "8m");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let ch =
        tonic::transport::Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    let mut c = pb::session_service_client::SessionServiceClient::new(ch);
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for i in 0..2000 {
        let mut s = session(&format!("Filler {i}"), "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z");
        s.description = format!("{i} ").repeat(4000);
        match c
            .create_session(pb::CreateSessionRequest {
                session_id: format!("f{i}"),
                session: Some(s),
                ..Default::default()
            })
            .await
        {
            Ok(_) => acknowledged.push(format!("f{i}")),
            Err(status) => {
                refusal = Some(status);
                break;
            }
        }
    }
    let status = refusal.expect("8 MiB fill up before 2000 sessions of 16 KB");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Where the disk ran out decides the answer: a write sled could not take changed nothing;
    // a write whose flush failed is of unknown outcome, and the store then takes no more.
    let why = crate::helpers::reason(Err::<(), _>(status.clone()));
    match why.as_str() {
        "STORE_UNAVAILABLE" => assert!(status.message().contains("nothing was changed"), "{status:?}"),
        "WRITE_OUTCOME_UNKNOWN" => {
            let s = session("Next", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z");
            let next = c.create_session(pb::CreateSessionRequest { session: Some(s), ..Default::default() }).await;
            assert_eq!(crate::helpers::reason(next), "STORE_WRITES_STOPPED");
        }
        other => panic!("refused for {other}: {status:?}"),
    }
    assert!(acknowledged.len() > 10, "some writes fit: {}", acknowledged.len());
    // Reads still work on a full disk.
    let got = c.get_session(pb::GetSessionRequest { session_id: acknowledged[0].clone() }).await;
    assert!(got.is_ok() || got.as_ref().unwrap_err().code() == Code::Unavailable);
    server.kill9();

    // More room, same data: everything acknowledged is there and the indexes agree.
    fs.grow("256m");
    let out = Command::new(env!("CARGO_BIN_EXE_agenda")).arg("--data").arg(&data).arg("check").output().unwrap();
    assert!(
        out.status.success(),
        "agenda check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&data);
    let ch =
        tonic::transport::Channel::from_shared(format!("http://{}", server.grpc)).unwrap().connect().await.unwrap();
    let mut c = pb::session_service_client::SessionServiceClient::new(ch);
    for id in &acknowledged {
        assert!(c.get_session(pb::GetSessionRequest { session_id: id.clone() }).await.is_ok(), "{id} lost");
    }
    // And it takes writes again.
    let s = session("After", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z");
    c.create_session(pb::CreateSessionRequest { session_id: "after".into(), session: Some(s), ..Default::default() })
        .await
        .unwrap();
    eprintln!(
        "disk full after {} acknowledged writes (refused with {why}); all present after growing the disk",
        acknowledged.len()
    );
    server.kill9();
}
