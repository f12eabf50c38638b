//! `agenda.v1.FeedService`: secret feed addresses.

use tonic::{Request, Response, Status};

use super::convert::{self as c, feed_urls};
use super::{check, page_size, page_token};
use crate::app::Agenda;
use crate::domain::{FeedScope, FeedToken, PersonId, SessionId, Violations};
use crate::links::FeedLinks;
use crate::pb::{self, feed_service_server::FeedService, feed_token::Scope};

/// The FeedService implementation.
pub struct FeedApi {
    agenda: Agenda,
    links: FeedLinks,
}

impl FeedApi {
    pub fn new(agenda: Agenda, links: FeedLinks) -> Self {
        Self { agenda, links }
    }

    fn out(&self, t: &FeedToken) -> pb::FeedToken {
        let scope = match &t.scope {
            FeedScope::Session(id) => Scope::SessionId(id.to_string()),
            FeedScope::Person(id) => Scope::PersonId(id.to_string()),
            FeedScope::AllSessions => Scope::AllSessions(true),
        };
        pb::FeedToken {
            token: t.token.clone(),
            scope: Some(scope),
            description: t.description.clone(),
            create_time: Some(c::timestamp(t.create_time)),
            feed_urls: Some(feed_urls(self.links.secret(&t.token))),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl FeedService for FeedApi {
    async fn create_feed_token(&self, req: Request<pb::CreateFeedTokenRequest>) -> Reply<pb::CreateFeedTokenResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let t = r.feed_token.unwrap_or_default();
        let scope = match &t.scope {
            Some(Scope::SessionId(id)) => {
                v.check("feed_token.session_id", SessionId::parse(id)).map(FeedScope::Session)
            }
            Some(Scope::PersonId(id)) => v.check("feed_token.person_id", PersonId::parse(id)).map(FeedScope::Person),
            Some(Scope::AllSessions(true)) => Some(FeedScope::AllSessions),
            Some(Scope::AllSessions(false)) | None => {
                v.add("feed_token.scope", "set one of session_id, person_id or all_sessions");
                None
            }
        };
        check(v)?;
        let token = self
            .agenda
            .create_feed_token(scope.expect("checked"), t.description)
            .await
            .map_err(|e| super::remap(e, super::under("feed_token")))?;
        Ok(Response::new(pb::CreateFeedTokenResponse { feed_token: Some(self.out(&token)) }))
    }

    async fn list_feed_tokens(&self, req: Request<pb::ListFeedTokensRequest>) -> Reply<pb::ListFeedTokensResponse> {
        let r = req.into_inner();
        let mut v = Violations::new("");
        let size = page_size(&mut v, r.page_size);
        let fingerprint = page_token::fingerprint("feed tokens");
        let after = match page_token::decode(&r.page_token, fingerprint) {
            Ok(cursor) => cursor.map(|c| c.a),
            Err(e) => {
                v.extend(e);
                None
            }
        };
        check(v)?;
        let (tokens, next) = self.agenda.list_feed_tokens(after, size).await?;
        Ok(Response::new(pb::ListFeedTokensResponse {
            feed_tokens: tokens.iter().map(|t| self.out(t)).collect(),
            next_page_token: next
                .map(|a| page_token::encode(fingerprint, page_token::Cursor { time: 0, a, b: String::new() }))
                .unwrap_or_default(),
        }))
    }

    async fn revoke_feed_token(&self, req: Request<pb::RevokeFeedTokenRequest>) -> Reply<pb::RevokeFeedTokenResponse> {
        self.agenda.revoke_feed_token(&req.into_inner().token).await?;
        Ok(Response::new(pb::RevokeFeedTokenResponse {}))
    }
}
