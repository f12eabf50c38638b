//! The environment layer: every key of the file has a variable, listed in [`ENV`] (and in
//! README.md). Values are written as in TOML; other `AGENDA_*` variables are not settings.

use figment::providers::Env;

/// The environment variable of every key of the file: (key, variable).
pub const ENV: &[(&str, &str)] = &[
    ("data", "AGENDA_DATA"),
    ("store", "AGENDA_STORE"),
    ("grpc_listen", "AGENDA_GRPC_LISTEN"),
    ("http_listen", "AGENDA_HTTP_LISTEN"),
    ("demo", "AGENDA_DEMO"),
    ("public_url", "AGENDA_PUBLIC_URL"),
    ("uid_domain", "AGENDA_UID_DOMAIN"),
    ("language", "AGENDA_LANGUAGE"),
    ("shutdown_grace_seconds", "AGENDA_SHUTDOWN_GRACE_SECONDS"),
    ("change_log_revisions", "AGENDA_CHANGE_LOG_REVISIONS"),
    ("request_id_hours", "AGENDA_REQUEST_ID_HOURS"),
    ("feeds.refresh_seconds", "AGENDA_FEED_REFRESH_SECONDS"),
    ("feeds.past_days", "AGENDA_FEED_PAST_DAYS"),
    ("feeds.future_days", "AGENDA_FEED_FUTURE_DAYS"),
    ("feeds.organizer_email", "AGENDA_FEED_ORGANIZER_EMAIL"),
    ("limits.max_slots", "AGENDA_MAX_SLOTS"),
    ("limits.max_participants", "AGENDA_MAX_PARTICIPANTS"),
    ("limits.max_message_bytes", "AGENDA_MAX_MESSAGE_BYTES"),
    ("limits.max_concurrent_requests", "AGENDA_MAX_CONCURRENT_REQUESTS"),
    ("limits.max_watchers", "AGENDA_MAX_WATCHERS"),
    ("limits.request_timeout_seconds", "AGENDA_REQUEST_TIMEOUT_SECONDS"),
    ("limits.http_max_concurrent_requests", "AGENDA_HTTP_MAX_CONCURRENT_REQUESTS"),
    ("limits.http_request_timeout_seconds", "AGENDA_HTTP_REQUEST_TIMEOUT_SECONDS"),
    ("cache.read_entries", "AGENDA_READ_CACHE_ENTRIES"),
    ("cache.read_bytes", "AGENDA_READ_CACHE_BYTES"),
    ("cache.sled_bytes", "AGENDA_SLED_CACHE_BYTES"),
    ("auth.tokens_file", "AGENDA_TOKENS_FILE"),
    ("auth.require_read_token", "AGENDA_REQUIRE_READ_TOKEN"),
    ("auth.insecure_no_auth", "AGENDA_INSECURE_NO_AUTH"),
    ("tls.cert", "AGENDA_TLS_CERT"),
    ("tls.key", "AGENDA_TLS_KEY"),
    ("tls.client_ca", "AGENDA_TLS_CLIENT_CA"),
    ("etcd.ca", "AGENDA_ETCD_CA"),
    ("etcd.user", "AGENDA_ETCD_USER"),
    ("etcd.password_file", "AGENDA_ETCD_PASSWORD_FILE"),
    ("etcd.leader_ttl_seconds", "AGENDA_ETCD_LEADER_TTL_SECONDS"),
    ("etcd.replica_name", "AGENDA_REPLICA_NAME"),
    ("smtp.url", "AGENDA_SMTP_URL"),
    ("smtp.password", "AGENDA_SMTP_PASSWORD"),
    ("smtp.rate_per_second", "AGENDA_SMTP_RATE_PER_SECOND"),
    ("smtp.retry_max_seconds", "AGENDA_SMTP_RETRY_MAX_SECONDS"),
    ("smtp.rescan_seconds", "AGENDA_SMTP_RESCAN_SECONDS"),
    ("smtp.ca", "AGENDA_SMTP_CA"),
    ("schedule.check_conflicts", "AGENDA_SCHEDULE_CHECK_CONFLICTS"),
    ("reply_mailbox.url", "AGENDA_REPLY_MAILBOX"),
    ("reply_mailbox.password", "AGENDA_REPLY_MAILBOX_PASSWORD"),
    ("reply_mailbox.poll_seconds", "AGENDA_REPLY_MAILBOX_POLL_SECONDS"),
    ("reply_mailbox.ca", "AGENDA_REPLY_MAILBOX_CA"),
    ("reply_mailbox.applied_folder", "AGENDA_REPLY_MAILBOX_APPLIED_FOLDER"),
    ("reply_mailbox.refused_folder", "AGENDA_REPLY_MAILBOX_REFUSED_FOLDER"),
];

/// The environment layer: the variables of [`ENV`], under their keys. Its errors name the
/// variable (figment's own `Env` would name the key in capitals, which is no variable here).
pub(super) struct Environment(Env);

pub(super) fn environment() -> Environment {
    Environment(Env::raw().filter_map(|var| ENV.iter().find(|(_, v)| var == *v).map(|(key, _)| (*key).into())))
}

impl figment::Provider for Environment {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("the environment").interpolater(|_: &figment::Profile, keys: &[&str]| {
            let key = keys.join(".");
            ENV.iter().find(|(k, _)| *k == key).map_or(key, |(_, var)| (*var).to_owned())
        })
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.0.data()
    }
}
