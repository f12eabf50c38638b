//! Secret feed addresses.

use super::{Agenda, now, paginate, write_failed};
use crate::domain::{FeedScope, FeedToken};
use crate::error::{Error, Kind};

impl Agenda {
    /// Makes a secret feed address for `scope`, whose session or person must exist.
    pub async fn create_feed_token(&self, scope: FeedScope, description: String) -> Result<FeedToken, Error> {
        self.create_feed_token_with(scope, description, None).await
    }

    /// [`Self::create_feed_token`], kept under a request id when `once` is given.
    pub(super) async fn create_feed_token_with(
        &self,
        scope: FeedScope,
        description: String,
        once: Option<crate::store::Once>,
    ) -> Result<FeedToken, Error> {
        let mut v = crate::domain::Violations::new("");
        crate::domain::check_text(&mut v, "description", &description, 200, false, false);
        v.into_result()?;
        match &scope {
            FeedScope::Session(id) => drop(self.get_session(id).await?),
            FeedScope::Person(id) => drop(self.get_person(id).await?),
            FeedScope::AllSessions => {}
        }
        let token = FeedToken { token: FeedToken::generate_secret(), scope, description, create_time: now() };
        self.write(|st| match &once {
            Some(o) => st.put_feed_token_once(&token, o),
            None => st.put_feed_token(&token),
        })
        .await?;
        Ok(token)
    }

    /// The token, when it exists (malformed ones are not looked up).
    pub async fn feed_token(&self, token: &str) -> Result<Option<FeedToken>, Error> {
        if !FeedToken::is_well_formed(token) {
            return Ok(None);
        }
        Ok(self.store.get_feed_token(token).await?)
    }

    pub async fn revoke_feed_token(&self, token: &str) -> Result<(), Error> {
        // The token is the secret: errors name it only as a secret.
        let secret = "(secret)";
        if !FeedToken::is_well_formed(token) {
            return Err(Error::not_found(Kind::FeedToken, secret));
        }
        self.write(|st| st.delete_feed_token(token)).await.map_err(|e| write_failed(Kind::FeedToken, secret, None, e))
    }

    pub async fn list_feed_tokens(
        &self,
        after: Option<String>,
        page_size: usize,
    ) -> Result<(Vec<FeedToken>, Option<String>), Error> {
        let page = self.store.list_feed_tokens(after.as_deref(), page_size + 1).await?;
        Ok(paginate(page, page_size, |t| t.token.clone()))
    }
}
