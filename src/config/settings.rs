//! The settings each subsystem owns, built from the keys: the store's engine, the domain's
//! limits, the calendar, the HTTP listener, the SMTP sender and the reply mailbox.
//! `server::build` asks for them once; [`Config::check`] builds them too, to find their errors
//! at start.

use std::path::PathBuf;
use std::time::Duration;

use super::{Config, ConfigError};
use crate::app::LeaderSettings;
use crate::domain::Limits;
use crate::http::{HttpLimits, SiteSettings};
use crate::i18n::Lang;
use crate::ics::feed::CalendarSettings;
use crate::links::FeedLinks;
use crate::mail::mailbox::MailboxSettings;
use crate::mail::smtp::SmtpSettings;

/// The storage engine a configuration names (its `store` key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// sled in this directory: `data`, or the one `sled:DIR` names.
    Sled(PathBuf),
    /// An etcd cluster: its client URLs, the key prefix, and its `--max-txn-ops` when raised.
    Etcd { endpoints: Vec<String>, prefix: String, max_txn_ops: Option<usize> },
}

impl Config {
    /// The engine `store` names. `sled` is the `data` directory, `sled:DIR` another one (the
    /// form `agenda migrate` takes for its ends). `etcd://` takes comma-separated `host:port` client endpoints
    /// (`https` when `etcd.ca` is set, else `http`), then an optional key prefix after a `/`,
    /// then an optional `?max_txn_ops=N`: the cluster's `--max-txn-ops`.
    pub fn store_choice(&self) -> Result<StoreChoice, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid(format!("store {:?}: {why}", self.store));
        if self.store == "sled" {
            return Ok(StoreChoice::Sled(self.data.clone()));
        }
        if let Some(dir) = self.store.strip_prefix("sled:") {
            return if dir.is_empty() {
                Err(bad("names no directory after sled:"))
            } else {
                Ok(StoreChoice::Sled(dir.into()))
            };
        }
        let Some(rest) = self.store.strip_prefix("etcd://") else {
            return Err(bad("expected \"sled\", sled:DIR or etcd://host:port[,host:port...]"));
        };
        let (rest, max_txn_ops) = match rest.split_once("?max_txn_ops=") {
            Some((rest, n)) => (rest, Some(n.parse::<usize>().map_err(|_| bad("max_txn_ops is not a number"))?)),
            None => (rest, None),
        };
        let (hosts, prefix) = match rest.split_once('/') {
            Some((hosts, prefix)) => (hosts, prefix.to_owned()),
            None => (rest, String::new()),
        };
        let scheme = if self.etcd.ca.is_some() { "https" } else { "http" };
        let endpoints: Vec<String> =
            hosts.split(',').filter(|h| !h.is_empty()).map(|h| format!("{scheme}://{h}")).collect();
        if endpoints.is_empty() {
            return Err(bad("names no etcd endpoint"));
        }
        if prefix.starts_with('/') || hosts.split(',').any(|h| h.ends_with(':')) {
            return Err(bad("endpoints are host:port, without a scheme"));
        }
        Ok(StoreChoice::Etcd { endpoints, prefix, max_txn_ops })
    }

    /// The domain's bounds on a session.
    pub fn domain_limits(&self) -> Limits {
        Limits { max_slots: self.limits.max_slots, max_participants: self.limits.max_participants, ..Limits::default() }
    }

    /// How feeds, invites and replies name and dress their iCalendar objects.
    pub fn calendar_settings(&self) -> CalendarSettings {
        CalendarSettings {
            uid_domain: self.uid_domain.clone(),
            refresh_seconds: self.feeds.refresh_seconds,
            fallback_organizer_email: self.feeds.organizer_email.clone(),
            // Refused at start unless it is ours (`check_calendar`).
            language: Lang::of(&self.language).unwrap_or_default(),
        }
    }

    /// What the feeds and the pages render with.
    pub fn site_settings(&self) -> SiteSettings {
        SiteSettings {
            calendar: self.calendar_settings(),
            links: FeedLinks::new(&self.public_url),
            past_days: self.feeds.past_days,
            future_days: self.feeds.future_days,
        }
    }

    /// The HTTP listener's own bounds.
    pub fn http_limits(&self) -> HttpLimits {
        HttpLimits {
            max_concurrent_requests: self.limits.http_max_concurrent_requests,
            request_timeout: Duration::from_secs(self.limits.http_request_timeout_seconds),
        }
    }

    /// The SMTP sender's settings, when `smtp.url` is set (otherwise the outbox waits for an
    /// external sender over gRPC).
    pub fn smtp_settings(&self) -> Result<Option<SmtpSettings>, ConfigError> {
        let s = &self.smtp;
        let Some(url) = &s.url else { return Ok(None) };
        let (retry_max, rescan) = (Duration::from_secs(s.retry_max_seconds), Duration::from_secs(s.rescan_seconds));
        let settings = SmtpSettings::new(url, s.password.clone(), s.rate_per_second, retry_max, rescan)
            .map_err(ConfigError::SmtpUrl)?
            .with_ca(s.ca.clone());
        Ok(Some(settings))
    }

    /// How this replica takes part in the elections of the sender and the mailbox poller:
    /// its name (configured, or the host name and process id) and the lease's TTL.
    pub fn leader_settings(&self) -> LeaderSettings {
        let replica = self.etcd.replica_name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .or_else(|| std::env::var("HOSTNAME").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "agenda".to_owned());
            format!("{host}-{}", std::process::id())
        });
        LeaderSettings { replica, ttl: Duration::from_secs(self.etcd.leader_ttl_seconds) }
    }

    /// The reply mailbox's settings, when `reply_mailbox.url` is set.
    pub fn reply_mailbox_settings(&self) -> Result<Option<MailboxSettings>, ConfigError> {
        let m = &self.reply_mailbox;
        let Some(url) = &m.url else { return Ok(None) };
        let settings = MailboxSettings::new(
            url,
            m.password.clone(),
            m.poll_seconds,
            m.ca.clone(),
            &m.applied_folder,
            &m.refused_folder,
        )
        .map_err(ConfigError::ReplyMailbox)?;
        Ok(Some(settings))
    }
}
