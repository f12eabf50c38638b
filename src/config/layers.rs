//! The layering: defaults, then the TOML file, then the environment, then the command line's
//! [`Overrides`]; figment merges them and names the key and the layer in its errors.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::Serialize;

use super::env::environment;
use super::{Config, ConfigError};

/// Values given on the command line, by key as the file names them (`limits.max_slots`): the
/// last layer, so a flag always wins over the environment. The command line fills it; this
/// module knows no flag.
pub struct Overrides(Figment);

impl Default for Overrides {
    fn default() -> Self {
        Self(Figment::new())
    }
}

impl Overrides {
    /// Sets `key` (dotted: `smtp.url`) to `value` when there is one.
    pub fn set<T: Serialize>(self, key: &str, value: Option<T>) -> Self {
        match value {
            Some(value) => Self(self.0.merge(Serialized::default(key, value))),
            None => self,
        }
    }
}

impl Config {
    /// Defaults < `file` < environment < `overrides`, then checked: `agenda serve`'s.
    pub fn resolve(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let c = Self::layered(file, overrides)?;
        c.check()?;
        Ok(c)
    }

    /// The same layers for a command that opens the store and serves nothing (import, export,
    /// check, invite, migrate), with only the rules of where the data is checked
    /// ([`Config::check_store`]). Every value must still parse, so a mistyped one is reported
    /// as `serve` reports it; the keys of the server's other subsystems are not checked, since
    /// such a command does not use them: an operator's environment set for `serve`, a mail
    /// password kept elsewhere, does not stand in the way of a backup.
    pub fn resolve_offline(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let c = Self::layered(file, overrides)?;
        c.check_store()?;
        Ok(c)
    }

    /// The layers merged and parsed, no rule between keys checked yet.
    fn layered(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut layers = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // figment takes a missing file for an empty one: a wrong path must not pass silently.
            std::fs::metadata(path).map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
            layers = layers.merge(Toml::file_exact(path));
        }
        layers.merge(environment()).merge(overrides.0).extract().map_err(|e| ConfigError::Parse(Box::new(e)))
    }

    /// The configuration as TOML (what --print-config prints; it holds no secrets: tokens
    /// live in their own file, and the SMTP and mailbox passwords print as
    /// [`crate::secret::Secret::MASK`]).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration serializes")
    }
}
