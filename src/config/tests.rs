//! The configuration's behaviour as a user meets it: layering, the environment table,
//! refusals, and secrets that never print.

// figment's Jail takes closures that return figment's (large) error type.
#![allow(clippy::result_large_err)]
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::Jail;

use super::*;
use crate::secret::Secret;

/// The file's path, as `--config` gives it.
fn file(path: &str) -> Option<&Path> {
    Some(Path::new(path))
}

/// One flag's value, by the key it overrides.
fn flag(key: &str, value: impl serde::Serialize) -> Overrides {
    Overrides::default().set(key, Some(value))
}

/// Runs `f` with no environment variable but the ones it sets (figment's Jail: a lock held
/// for the test, and the environment restored after), in a temporary directory.
fn jailed(f: impl FnOnce(&mut Jail) -> figment::Result<()>) {
    Jail::expect_with(|jail| {
        jail.clear_env();
        f(jail)
    });
}

#[test]
fn flags_override_the_file_which_overrides_defaults() {
    jailed(|jail| {
        jail.create_file(
            "agenda.toml",
            "public_url = \"https://agenda.example.org\"\n[limits]\nmax_slots = 10\nmax_message_bytes = 1000\n",
        )?;
        let c = Config::resolve(file("agenda.toml"), flag("limits.max_slots", 20)).unwrap();
        assert_eq!(c.public_url, "https://agenda.example.org");
        assert_eq!(c.limits.max_slots, 20);
        assert_eq!(c.limits.max_message_bytes, 1000);
        assert_eq!(c.limits.max_participants, 5000);
        let again: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(again, c, "--print-config output is itself a valid config file");
        Ok(())
    });
}

#[test]
fn an_environment_variable_sets_a_nested_key() {
    jailed(|jail| {
        jail.set_env("AGENDA_MAX_WATCHERS", 7);
        jail.set_env("AGENDA_TLS_CERT", "server.pem");
        jail.set_env("AGENDA_TLS_KEY", "server.key");
        jail.set_env("AGENDA_REQUIRE_READ_TOKEN", true);
        let c = Config::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.limits.max_watchers, 7);
        assert_eq!(c.tls.cert, Some(PathBuf::from("server.pem")));
        assert!(c.auth.require_read_token);
        jail.set_env("AGENDA_MAX_WATCHERS", "many");
        let err = Config::resolve(None, Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("AGENDA_MAX_WATCHERS"), "the error names the variable: {err}");
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file_and_a_flag_overrides_both() {
    jailed(|jail| {
        jail.create_file("agenda.toml", "[limits]\nmax_slots = 10\nmax_participants = 11\nmax_message_bytes = 12\n")?;
        jail.set_env("AGENDA_MAX_PARTICIPANTS", 21);
        jail.set_env("AGENDA_MAX_MESSAGE_BYTES", 22);
        let c = Config::resolve(file("agenda.toml"), flag("limits.max_message_bytes", 32)).unwrap();
        let l = &c.limits;
        assert_eq!((l.max_slots, l.max_participants, l.max_message_bytes), (10, 21, 32));
        Ok(())
    });
}

#[test]
fn an_unknown_key_in_the_file_is_an_error_that_names_it() {
    jailed(|jail| {
        jail.create_file("agenda.toml", "pubic_url = \"x\"\n")?;
        let err = Config::resolve(file("agenda.toml"), Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Parse(_)), "{err}");
        assert!(err.to_string().contains("pubic_url"), "{err}");
        jail.create_file("nested.toml", "[limits]\nmax_slot = 3\n")?;
        let err = Config::resolve(file("nested.toml"), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("max_slot"), "{err}");
        Ok(())
    });
}

#[test]
fn a_missing_file_and_half_tls_are_refused() {
    jailed(|_| {
        assert!(matches!(Config::resolve(file("missing.toml"), Overrides::default()), Err(ConfigError::Read(..))));
        assert!(matches!(Config::resolve(None, flag("tls.cert", "c.pem")), Err(ConfigError::Invalid(_))));
        Ok(())
    });
}

#[test]
fn the_store_is_sled_by_default_or_an_etcd_cluster_from_flag_or_environment() {
    jailed(|jail| {
        let sled = |dir: &str| StoreChoice::Sled(dir.into());
        assert_eq!(Config::resolve(None, Overrides::default()).unwrap().store_choice().unwrap(), sled("./agenda-data"));
        let elsewhere = Config::resolve(None, flag("store", "sled:/srv/agenda")).unwrap();
        assert_eq!(elsewhere.store_choice().unwrap(), sled("/srv/agenda"), "sled:DIR names its directory");
        jail.set_env("AGENDA_STORE", "etcd://h1:2379,h2:2379/agenda/?max_txn_ops=4096");
        let etcd = Config::resolve(None, Overrides::default()).unwrap().store_choice().unwrap();
        let endpoints = vec!["http://h1:2379".to_owned(), "http://h2:2379".to_owned()];
        assert_eq!(etcd, StoreChoice::Etcd { endpoints, prefix: "agenda/".into(), max_txn_ops: Some(4096) });
        let flags = || flag("store", "etcd://h3:2379");
        let etcd = Config::resolve(None, flags()).unwrap().store_choice().unwrap();
        let endpoints = vec!["http://h3:2379".to_owned()];
        assert_eq!(etcd, StoreChoice::Etcd { endpoints, prefix: String::new(), max_txn_ops: None }, "a flag wins");
        for wrong in
            ["mysql://h1", "sled:", "etcd://", "etcd://h1:2379?max_txn_ops=many", "etcd://h1:2379,https://h2:2379"]
        {
            assert!(matches!(Config::resolve(None, flag("store", wrong)), Err(ConfigError::Invalid(_))), "{wrong}");
        }
        jail.set_env("AGENDA_ETCD_CA", "etcd-ca.pem");
        let etcd = Config::resolve(None, flags()).unwrap().store_choice().unwrap();
        assert!(matches!(etcd, StoreChoice::Etcd { endpoints, .. } if endpoints == ["https://h3:2379"]), "a CA: TLS");
        jail.set_env("AGENDA_ETCD_USER", "agenda");
        assert!(matches!(Config::resolve(None, flags()), Err(ConfigError::Invalid(_))), "a user needs a password file");
        Ok(())
    });
}

#[test]
fn a_command_that_serves_nothing_checks_where_the_data_is_and_nothing_else() {
    jailed(|jail| {
        // serve's environment on a server host, one of its settings incomplete in this shell.
        jail.set_env("AGENDA_REPLY_MAILBOX", "imaps://organizer@mail.example.org/INBOX");
        jail.set_env("AGENDA_TLS_CERT", "server.pem");
        assert!(Config::resolve(None, Overrides::default()).is_err(), "serve refuses it");
        let c = Config::resolve_offline(None, Overrides::default()).expect("not used here, so not checked");
        assert_eq!(c.store_choice().unwrap(), StoreChoice::Sled("./agenda-data".into()));
        jail.clear_env();
        jail.set_env("AGENDA_STORE", "etcd:/h1:2379");
        let e = Config::resolve_offline(None, Overrides::default()).unwrap_err().to_string();
        assert_eq!(
            e,
            Config::resolve(None, Overrides::default()).unwrap_err().to_string(),
            "the same report as serve's"
        );
        assert!(e.contains("etcd:/h1:2379"), "{e}");
        jail.set_env("AGENDA_STORE", "sled");
        jail.set_env("AGENDA_MAX_SLOTS", "many");
        let e = Config::resolve_offline(None, Overrides::default()).unwrap_err().to_string();
        assert!(e.contains("AGENDA_MAX_SLOTS"), "a value that does not parse is reported anywhere: {e}");
        Ok(())
    });
}

#[test]
fn the_smtp_password_comes_from_file_or_environment_and_is_never_printed() {
    jailed(|jail| {
        jail.create_file(
            "agenda.toml",
            "[smtp]\nurl = \"smtp://agenda@mail.example.org:587\"\npassword = \"from-the-file\"\n",
        )?;
        let c = Config::resolve(file("agenda.toml"), Overrides::default()).unwrap();
        assert_eq!(c.smtp.password.as_ref().map(Secret::expose), Some("from-the-file"));
        jail.set_env("AGENDA_SMTP_PASSWORD", "from-the-environment");
        let c = Config::resolve(file("agenda.toml"), Overrides::default()).unwrap();
        assert_eq!(c.smtp.password.as_ref().map(Secret::expose), Some("from-the-environment"));
        for shown in [c.to_toml(), format!("{c:?}")] {
            assert!(!shown.contains("from-the"), "{shown}");
            assert!(shown.contains(Secret::MASK), "{shown}");
        }
        Ok(())
    });
}

#[test]
fn a_plain_text_smtp_url_is_refused_off_loopback() {
    jailed(|_| {
        for (url, ok) in [
            ("smtp://127.0.0.1:2525?tls=none", true),
            ("smtp://localhost:2525?tls=none", true),
            ("smtp://mail.example.org:25?tls=none", false),
            ("smtp://agenda:secret@mail.example.org", false),
            ("smtps://agenda@mail.example.org", true),
            ("http://mail.example.org", false),
        ] {
            assert_eq!(Config::resolve(None, flag("smtp.url", url)).is_ok(), ok, "{url}");
        }
        Ok(())
    });
}

#[test]
fn every_key_of_the_file_has_an_environment_variable() {
    let mut full = Config::default();
    full.auth.tokens_file = Some("tokens.toml".into());
    full.tls = TlsConfig { cert: Some("c".into()), key: Some("k".into()), client_ca: Some("ca".into()) };
    full.etcd = EtcdConfig {
        ca: Some("ca".into()),
        user: Some("u".into()),
        password_file: Some("p".into()),
        replica_name: Some("agenda-1".into()),
        ..EtcdConfig::default()
    };
    full.smtp.url = Some("smtp://u@mail.example.org".into());
    full.smtp.password = Some(Secret::new("p"));
    full.smtp.ca = Some("ca".into());
    full.reply_mailbox = ReplyMailboxConfig {
        url: Some("imaps://u@h/INBOX".into()),
        password: Some(Secret::new("p")),
        ca: Some("ca".into()),
        ..ReplyMailboxConfig::default()
    };
    fn leaves(prefix: &str, t: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => leaves(&key, t, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }
    let mut keys = BTreeSet::new();
    leaves("", &toml::Table::try_from(&full).unwrap(), &mut keys);
    let mapped: BTreeSet<String> = ENV.iter().map(|(k, _)| (*k).to_owned()).collect();
    assert_eq!(keys, mapped);
    let vars: BTreeSet<&str> = ENV.iter().map(|(_, v)| *v).collect();
    assert_eq!(vars.len(), ENV.len(), "one variable per key");
}

#[test]
fn the_reply_mailbox_password_comes_from_the_environment_and_is_never_printed() {
    jailed(|jail| {
        jail.set_env("AGENDA_REPLY_MAILBOX", "imaps://organizer%40example.org@mail.example.org/INBOX");
        jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "hunter2-secret");
        let c = Config::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.reply_mailbox.password.as_ref().map(Secret::expose), Some("hunter2-secret"));
        let printed = c.to_toml();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains(Secret::MASK), "{printed}");
        let debug = format!("{c:?} {:?}", c.reply_mailbox_settings().unwrap());
        assert!(!debug.contains("hunter2"), "{debug}");
        jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "123456");
        let c = Config::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.reply_mailbox.password.as_ref().map(Secret::expose), Some("123456"), "digits are text");
        Ok(())
    });
}

#[test]
fn a_reply_mailbox_without_tls_is_refused_unless_on_loopback() {
    jailed(|jail| {
        jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "p");
        for (url, ok) in [
            ("imaps://u@mail.example.org/INBOX", true),
            ("imap://u@mail.example.org:143/INBOX", true),
            ("imap://u@127.0.0.1:1143/INBOX?tls=none", true),
            ("imap://u@mail.example.org/INBOX?tls=none", false),
            ("imaps://u:pw@mail.example.org/INBOX", false),
            ("pop3://u@mail.example.org/", false),
        ] {
            assert_eq!(Config::resolve(None, flag("reply_mailbox.url", url)).is_ok(), ok, "{url}");
        }
        jail.set_env("AGENDA_REPLY_MAILBOX_PASSWORD", "");
        let err = Config::resolve(None, flag("reply_mailbox.url", "imaps://u@h/INBOX")).unwrap_err().to_string();
        assert!(err.contains("password"), "{err}");
        Ok(())
    });
}
