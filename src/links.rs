//! Public addresses of the feeds, built from the configured base URL, for gRPC answers.

/// Builds feed URLs from the public base URL (e.g. `https://agenda.example.org`), the address
/// where calendar clients reach the HTTP listener (often through a proxy).
#[derive(Debug, Clone)]
pub struct FeedLinks {
    /// Without a trailing slash.
    base: String,
}

/// A feed's address and its webcal twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The address as served: the public base URL's scheme (https in production, http when the
    /// base URL is http, as by default), so the name does not promise https.
    pub url: String,
    /// The same address with the `webcal` scheme, for one-click subscription.
    pub webcal: String,
}

impl FeedLinks {
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_owned() }
    }

    fn urls(&self, path: &str) -> Urls {
        let url = format!("{}{path}", self.base);
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        Urls { webcal: format!("webcal://{rest}"), url }
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
    fn webcal_mirrors_the_address() {
        let l = FeedLinks::new("https://agenda.example.org/");
        assert_eq!(
            l.session("fmg-msme-2022-11-17"),
            Urls {
                url: "https://agenda.example.org/feeds/sessions/fmg-msme-2022-11-17.ics".into(),
                webcal: "webcal://agenda.example.org/feeds/sessions/fmg-msme-2022-11-17.ics".into(),
            }
        );
    }

    #[test]
    fn an_http_base_gives_http_addresses() {
        let l = FeedLinks::new("http://127.0.0.1:8080");
        assert_eq!(l.person("rollo").url, "http://127.0.0.1:8080/feeds/people/rollo.ics");
        assert_eq!(l.person("rollo").webcal, "webcal://127.0.0.1:8080/feeds/people/rollo.ics");
    }
}
