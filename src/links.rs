//! Public addresses of the feeds, built from the configured base URL, for gRPC answers.

/// Builds feed URLs from the public base URL (e.g. `https://agenda.example.org`), the address
/// where calendar clients reach the HTTP listener (often through a proxy).
#[derive(Debug, Clone)]
pub struct FeedLinks {
    /// Without a trailing slash.
    base: String,
}

/// An https (or http) address and its webcal twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    pub https: String,
    pub webcal: String,
}

impl FeedLinks {
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_owned() }
    }

    fn urls(&self, path: &str) -> Urls {
        let https = format!("{}{path}", self.base);
        let rest = https.split_once("://").map_or(https.as_str(), |(_, r)| r);
        Urls { webcal: format!("webcal://{rest}"), https }
    }

    /// Every public session.
    pub fn sessions(&self) -> Urls {
        self.urls("/feeds/sessions.ics")
    }

    /// One session's agenda.
    pub fn session(&self, id: &str) -> Urls {
        self.urls(&format!("/feeds/sessions/{id}.ics"))
    }

    /// One person's slots.
    pub fn person(&self, id: &str) -> Urls {
        self.urls(&format!("/feeds/people/{id}.ics"))
    }

    /// A secret feed.
    pub fn secret(&self, token: &str) -> Urls {
        self.urls(&format!("/feeds/private/{token}.ics"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_mirrors_the_https_address() {
        let l = FeedLinks::new("https://agenda.example.org/");
        assert_eq!(
            l.session("fmg-msme-2022-11-17"),
            Urls {
                https: "https://agenda.example.org/feeds/sessions/fmg-msme-2022-11-17.ics".into(),
                webcal: "webcal://agenda.example.org/feeds/sessions/fmg-msme-2022-11-17.ics".into(),
            }
        );
    }
}
