//! FeedService requests as commands: secret feed addresses.

use serde::{Deserialize, Serialize};

use super::{FromRequest, PAGE, Page, page_size};
use crate::api::convert::{Report, Reported};
use crate::api::page_token::PageCursor;
use crate::domain::{FeedScope, PersonId, SessionId, Violations};
use crate::pb::{self, feed_token::Scope};

/// A ListFeedTokens page resumes after the last token it showed (tokens are listed in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeedTokenCursor(pub String);

impl PageCursor for FeedTokenCursor {}

/// CreateFeedToken: what the feed shows and who it is for; the token itself is generated.
#[derive(Debug)]
pub struct CreateFeedToken {
    pub scope: FeedScope,
    /// Checked by the app, which owns its length rule.
    pub description: String,
    /// The request id, when the client sent one (AIP-155).
    pub request: Option<crate::app::RequestKey>,
}

impl FromRequest<pb::CreateFeedTokenRequest> for CreateFeedToken {
    fn from_request(v: &mut Violations, r: &pb::CreateFeedTokenRequest) -> Result<Self, Reported> {
        let empty = pb::FeedToken::default();
        let t = r.feed_token.as_ref().unwrap_or(&empty);
        let scope = match &t.scope {
            Some(Scope::SessionId(id)) => {
                v.parsed("feed_token.session_id", SessionId::parse(id)).map(FeedScope::Session)
            }
            Some(Scope::PersonId(id)) => v.parsed("feed_token.person_id", PersonId::parse(id)).map(FeedScope::Person),
            Some(Scope::AllSessions(true)) => Ok(FeedScope::AllSessions),
            Some(Scope::AllSessions(false)) | None => {
                Err(v.reject("feed_token.scope", "set one of session_id, person_id or all_sessions"))
            }
        };
        let request = super::request_key(v, "CreateFeedToken", r, &r.request_id, |r| r.request_id.clear());
        Ok(CreateFeedToken { scope: scope?, description: t.description.clone(), request: request? })
    }
}

/// ListFeedTokens: the page.
#[derive(Debug)]
pub struct ListFeedTokens {
    pub page: Page<FeedTokenCursor>,
}

impl FromRequest<pb::ListFeedTokensRequest> for ListFeedTokens {
    fn from_request(v: &mut Violations, r: &pb::ListFeedTokensRequest) -> Result<Self, Reported> {
        let size = page_size(v, r.page_size, PAGE);
        let page = Page::parse(v, size, &r.page_token, "feed tokens");
        Ok(ListFeedTokens { page })
    }
}
