//! `agenda.v1.FeedService`: secret feed addresses.

use tonic::{Request, Response, Status};

use super::convert::{self as c, feed_urls};
use super::requests::{CreateFeedToken, FeedTokenCursor, ListFeedTokens, parse};
use crate::app::Agenda;
use crate::domain::{FeedScope, FeedToken};
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
        let CreateFeedToken { scope, description, request } = parse(req.get_ref())?;
        let token = self
            .agenda
            .create_feed_token_once(scope, description, request.as_ref())
            .await
            .map_err(|e| super::remap(e, super::under("feed_token")))?;
        Ok(Response::new(pb::CreateFeedTokenResponse { feed_token: Some(self.out(&token)) }))
    }

    async fn list_feed_tokens(&self, req: Request<pb::ListFeedTokensRequest>) -> Reply<pb::ListFeedTokensResponse> {
        let ListFeedTokens { mut page } = parse(req.get_ref())?;
        let after = page.after.take().map(|FeedTokenCursor(token)| token);
        let (tokens, next) = self.agenda.list_feed_tokens(after, page.size).await?;
        Ok(Response::new(pb::ListFeedTokensResponse {
            feed_tokens: tokens.iter().map(|t| self.out(t)).collect(),
            next_page_token: page.next_token(next.map(FeedTokenCursor).as_ref()),
        }))
    }

    async fn revoke_feed_token(&self, req: Request<pb::RevokeFeedTokenRequest>) -> Reply<pb::RevokeFeedTokenResponse> {
        self.agenda.revoke_feed_token(&req.into_inner().token).await?;
        Ok(Response::new(pb::RevokeFeedTokenResponse {}))
    }
}
