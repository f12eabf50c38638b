//! What the configuration refuses, checked once it is resolved, so that `agenda serve` stops
//! at start with the key that is wrong rather than when the setting is first used.

use super::{Config, ConfigError};
use crate::i18n::Lang;

impl Config {
    /// Every rule between keys, and every subsystem's settings built once to find their
    /// errors (the same [`Config::smtp_settings`] and [`Config::reply_mailbox_settings`]
    /// that `server::build` uses).
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key go together");
        }
        if self.tls.client_ca.is_some() && self.tls.cert.is_none() {
            return bad("tls.client_ca needs tls.cert and tls.key");
        }
        if self.limits.max_concurrent_requests == 0 || self.limits.http_max_concurrent_requests == 0 {
            return bad("concurrency limits must be at least 1");
        }
        self.check_calendar()?;
        self.check_store()?;
        if self.etcd.leader_ttl_seconds < 2 {
            return bad("etcd.leader_ttl_seconds must be at least 2 (etcd's least lease TTL)");
        }
        if self.etcd.replica_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return bad("etcd.replica_name must not be empty (unset it for the host name and process id)");
        }
        self.smtp_settings()?;
        if self.smtp.retry_max_seconds == 0 {
            return bad("smtp.retry_max_seconds must be at least 1");
        }
        if self.smtp.rescan_seconds == 0 {
            return bad("smtp.rescan_seconds must be at least 1");
        }
        self.reply_mailbox_settings()?;
        Ok(())
    }

    /// The rules of the keys that say where the data is (`data`, `store`, `[etcd]`): all that
    /// [`Config::resolve_offline`] checks.
    pub fn check_store(&self) -> Result<(), ConfigError> {
        if self.etcd.user.is_some() != self.etcd.password_file.is_some() {
            return Err(ConfigError::Invalid("etcd.user and etcd.password_file go together".into()));
        }
        self.store_choice()?;
        Ok(())
    }

    /// The rules of the keys iCalendar objects are rendered with ([`Config::calendar_settings`]).
    pub fn check_calendar(&self) -> Result<(), ConfigError> {
        if crate::domain::Email::parse(&self.feeds.organizer_email).is_err() {
            return Err(ConfigError::Invalid("feeds.organizer_email is not an e-mail address".into()));
        }
        if Lang::of(&self.language).is_none() {
            let ours: Vec<&str> = Lang::ALL.iter().map(|l| l.tag()).collect();
            return Err(ConfigError::Invalid(format!(
                "language {:?} is not one agenda writes ({})",
                self.language,
                ours.join(", ")
            )));
        }
        Ok(())
    }
}
