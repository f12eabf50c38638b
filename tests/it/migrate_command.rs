//! `agenda migrate` (issue 13), through the real binary: the demo goes from a
//! sled directory to an etcd cluster and back to a new sled directory, and both directories
//! export the same file; a feed token travels too; a destination with records is refused
//! unless `--force`.

use std::path::Path;
use std::process::{Command, Output};

use agenda::domain::{FeedScope, FeedToken};
use agenda::store::SledStore;

use crate::helpers::import_demo_into;

fn agenda(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agenda")).args(args).output().expect("running agenda")
}

fn migrate(from: &str, to: &str, force: bool) -> Output {
    let mut args = vec!["migrate", "--from", from, "--to", to];
    if force {
        args.push("--force");
    }
    agenda(&args)
}

fn succeeded(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn export(dir: &Path) -> String {
    succeeded(agenda(&["--data", dir.to_str().unwrap(), "export"]))
}

/// Adds a feed token to the sled store in `dir` (no server holds it).
async fn add_token(dir: &Path) -> FeedToken {
    let store = std::sync::Arc::new(SledStore::open(dir).unwrap());
    let token = FeedToken {
        token: FeedToken::generate_secret(),
        scope: FeedScope::AllSessions,
        description: "the lobby screen".into(),
        create_time: "2026-03-01T08:00:00Z".parse().unwrap(),
    };
    store.shared().put_feed_token(&token).await.unwrap();
    store.flush().unwrap();
    token
}

/// Feature `etcd`: a real three-member cluster in the middle.
#[cfg(feature = "etcd")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_migrated_to_etcd_and_back_exports_the_same_file() {
    let cluster = crate::etcd_cluster::EtcdCluster::start().await;
    let etcd = cluster.store_url("migrated");
    let (first, last) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import_demo_into(first.path());
    let token = add_token(first.path()).await;

    let there = succeeded(migrate(first.path().to_str().unwrap(), &etcd, false));
    assert!(there.contains("1 feed tokens"), "{there}");
    let back = format!("sled:{}", last.path().display());
    assert_eq!(succeeded(migrate(&etcd, &back, false)), there, "everything came back");

    let (before, after) = (export(first.path()), export(last.path()));
    assert!(before.contains("fmg-msme-2022-11-17"), "{before}");
    assert_eq!(after, before);
    assert_eq!(token_in(last.path(), &token.token).await, Some(token));
}

/// The feed token of secret `token` in the sled store in `dir`, if it holds one.
async fn token_in(dir: &Path, token: &str) -> Option<FeedToken> {
    std::sync::Arc::new(SledStore::open(dir).unwrap()).shared().get_feed_token(token).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_holds_records_is_refused_unless_forced() {
    let (source, destination) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import_demo_into(source.path());
    import_demo_into(destination.path());
    let token = add_token(source.path()).await;
    let (from, to) = (source.path().to_str().unwrap(), destination.path().to_str().unwrap());

    let refused = migrate(from, to, false);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"), "{refused:?}");
    assert_eq!(token_in(destination.path(), &token.token).await, None, "the refusal copied nothing");
    succeeded(migrate(from, to, true));
    assert_eq!(export(destination.path()), export(source.path()), "forced: the source's records replaced them");
    assert_eq!(token_in(destination.path(), &token.token).await, Some(token));
}

/// Without the etcd engine compiled in, an etcd end is refused with how to get one.
#[cfg(not(feature = "etcd"))]
#[test]
fn an_etcd_end_without_the_etcd_feature_says_how_to_build_it() {
    let source = tempfile::tempdir().unwrap();
    let out = migrate(source.path().to_str().unwrap(), "etcd://127.0.0.1:2379/agenda/", false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features etcd"), "{out:?}");
}
