//! The one table of reasons a request is refused, each with its gRPC code and HTTP status.
//!
//! Both listeners answer through it (quickwit's `ServiceErrorCode` is the model): gRPC puts
//! the reason in `google.rpc.ErrorInfo.reason` and uses its code; the HTTP listener uses its
//! status and names the reason in the `agenda-error-reason` header. A reason is added here,
//! in one row, or not at all, so the two can never disagree.

use http::StatusCode;
use tonic::Code;

use crate::domain::Kind;

/// Declares the table: one row per reason with its `ErrorInfo.reason`, gRPC code and HTTP
/// status, so a reason cannot be added without both.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $code:ident, $http:ident;)*) => {
        /// Why a request was refused, for machines. See the module comment.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in table order.
            pub const ALL: &[Reason] = &[$(Reason::$variant,)*];

            /// Upper snake case: `ErrorInfo.reason` and the HTTP reason header.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)*
                }
            }

            /// The canonical gRPC code a refusal for this reason carries.
            pub fn code(self) -> Code {
                match self {
                    $(Reason::$variant => Code::$code,)*
                }
            }

            /// The HTTP status a refusal for this reason carries.
            pub fn http_status(self) -> StatusCode {
                match self {
                    $(Reason::$variant => StatusCode::$http,)*
                }
            }
        }
    };
}

// HTTP statuses follow the mapping documented in google/rpc/code.proto, except that
// RESOURCE_EXHAUSTED for a server-wide limit is 503 (with Retry-After), not 429: it is not
// this client's rate that is too high.
reasons! {
    /// Fields of the request break the rules; a BadRequest lists each.
    InvalidArgument = "INVALID_ARGUMENT", InvalidArgument, BAD_REQUEST;

    SessionNotFound = "SESSION_NOT_FOUND", NotFound, NOT_FOUND;
    SlotNotFound = "SLOT_NOT_FOUND", NotFound, NOT_FOUND;
    PersonNotFound = "PERSON_NOT_FOUND", NotFound, NOT_FOUND;
    ParticipantNotFound = "PARTICIPANT_NOT_FOUND", NotFound, NOT_FOUND;
    GroupNotFound = "GROUP_NOT_FOUND", NotFound, NOT_FOUND;
    FeedTokenNotFound = "FEED_TOKEN_NOT_FOUND", NotFound, NOT_FOUND;

    SessionAlreadyExists = "SESSION_ALREADY_EXISTS", AlreadyExists, CONFLICT;
    SlotAlreadyExists = "SLOT_ALREADY_EXISTS", AlreadyExists, CONFLICT;
    PersonAlreadyExists = "PERSON_ALREADY_EXISTS", AlreadyExists, CONFLICT;
    ParticipantAlreadyExists = "PARTICIPANT_ALREADY_EXISTS", AlreadyExists, CONFLICT;
    GroupAlreadyExists = "GROUP_ALREADY_EXISTS", AlreadyExists, CONFLICT;
    FeedTokenAlreadyExists = "FEED_TOKEN_ALREADY_EXISTS", AlreadyExists, CONFLICT;

    /// The etag given is not the record's: read it again and redo the change.
    StaleEtag = "STALE_ETAG", Aborted, CONFLICT;
    /// A write without an etag lost the race too often in a row; retrying may succeed.
    Contention = "CONTENTION", Aborted, CONFLICT;

    /// The person is still named by sessions.
    PersonInUse = "PERSON_IN_USE", FailedPrecondition, BAD_REQUEST;
    /// A reply from an address that is no speaker's or moderator's of the slot.
    NotAnAttendee = "NOT_AN_ATTENDEE", FailedPrecondition, BAD_REQUEST;
    /// A reply to an older version of the slot than the current one.
    StaleReply = "STALE_REPLY", FailedPrecondition, BAD_REQUEST;
    PersonHasNoEmail = "PERSON_HAS_NO_EMAIL", FailedPrecondition, BAD_REQUEST;
    OrganizerHasNoEmail = "ORGANIZER_HAS_NO_EMAIL", FailedPrecondition, BAD_REQUEST;
    /// An invite for a person with no slot in the session.
    NotOnAgenda = "NOT_ON_AGENDA", FailedPrecondition, BAD_REQUEST;
    /// The write would double-book someone, and the request asked to be refused then
    /// (`refuse_conflicts`); the conflicts are in the status's PreconditionFailure.
    ScheduleConflict = "SCHEDULE_CONFLICT", FailedPrecondition, BAD_REQUEST;

    /// A watch resumes from a revision the change log no longer keeps: list again.
    RevisionCompacted = "REVISION_COMPACTED", OutOfRange, BAD_REQUEST;

    /// No `authorization: Bearer` header where one is needed.
    MissingToken = "MISSING_TOKEN", Unauthenticated, UNAUTHORIZED;
    /// A bearer token that matches no configured token.
    UnknownToken = "UNKNOWN_TOKEN", Unauthenticated, UNAUTHORIZED;
    /// A known token whose scope is below what the method needs.
    InsufficientScope = "INSUFFICIENT_SCOPE", PermissionDenied, FORBIDDEN;

    /// The listener is serving as many requests as it is allowed to.
    ConcurrencyLimit = "CONCURRENCY_LIMIT", ResourceExhausted, SERVICE_UNAVAILABLE;
    /// As many watch streams are open as the server allows.
    TooManyWatchers = "TOO_MANY_WATCHERS", ResourceExhausted, SERVICE_UNAVAILABLE;
    /// The request did not finish within the listener's time limit.
    Overloaded = "OVERLOADED", Unavailable, SERVICE_UNAVAILABLE;

    /// An unknown, private or revoked feed address (one answer for all, revealing nothing).
    FeedNotFound = "FEED_NOT_FOUND", NotFound, NOT_FOUND;
    /// A feed's query string is malformed.
    InvalidFeedQuery = "INVALID_FEED_QUERY", InvalidArgument, BAD_REQUEST;

    /// CalDAV: no such calendar or calendar object (unknown, private without a token, gone).
    CalendarNotFound = "CALENDAR_NOT_FOUND", NotFound, NOT_FOUND;
    /// CalDAV: a body that is not the XML asked for, or too large; a Depth other than 0 or 1.
    InvalidDavRequest = "INVALID_DAV_REQUEST", InvalidArgument, BAD_REQUEST;
    /// CalDAV: the calendars are read-only (PUT, DELETE, MKCALENDAR, ...): DAV:need-privileges.
    CalendarReadOnly = "CALENDAR_READ_ONLY", PermissionDenied, FORBIDDEN;
    /// CalDAV: `Depth: infinity` (RFC 4918 DAV:propfind-finite-depth).
    InfiniteDepth = "INFINITE_DEPTH", PermissionDenied, FORBIDDEN;
    /// CalDAV: a sync token not ours, or older than the change log keeps (RFC 6578
    /// DAV:valid-sync-token, 403): the client syncs again from an empty token.
    InvalidSyncToken = "INVALID_SYNC_TOKEN", PermissionDenied, FORBIDDEN;
    /// CalDAV: a calendar-query filter we do not evaluate (CALDAV:supported-filter).
    UnsupportedFilter = "UNSUPPORTED_FILTER", PermissionDenied, FORBIDDEN;

    /// Stored data failed to decode: an operator must look (details in the log only).
    StoreCorrupt = "STORE_CORRUPT", DataLoss, INTERNAL_SERVER_ERROR;
    /// The store could not complete the operation; nothing was changed.
    StoreUnavailable = "STORE_UNAVAILABLE", Unavailable, SERVICE_UNAVAILABLE;
    /// The flush that would have made the write durable failed: it may or may not have been
    /// applied. Also the answer to a read that could show such a write (it is hidden). The
    /// store takes no more writes until a restart, after which the log decides: read again,
    /// or retry with the same `request_id`.
    WriteOutcomeUnknown = "WRITE_OUTCOME_UNKNOWN", Unavailable, SERVICE_UNAVAILABLE;
    /// The store takes no writes since a flush failed (reads go on); nothing was changed. An
    /// operator restarts the server once the disk is sound.
    StoreWritesStopped = "STORE_WRITES_STOPPED", Unavailable, SERVICE_UNAVAILABLE;
}

impl Reason {
    /// `SESSION_NOT_FOUND` and its kin.
    pub fn not_found(kind: Kind) -> Reason {
        match kind {
            Kind::Session => Reason::SessionNotFound,
            Kind::Slot => Reason::SlotNotFound,
            Kind::Person => Reason::PersonNotFound,
            Kind::Participant => Reason::ParticipantNotFound,
            Kind::Group => Reason::GroupNotFound,
            Kind::FeedToken => Reason::FeedTokenNotFound,
        }
    }

    /// `SESSION_ALREADY_EXISTS` and its kin.
    pub fn already_exists(kind: Kind) -> Reason {
        match kind {
            Kind::Session => Reason::SessionAlreadyExists,
            Kind::Slot => Reason::SlotAlreadyExists,
            Kind::Person => Reason::PersonAlreadyExists,
            Kind::Participant => Reason::ParticipantAlreadyExists,
            Kind::Group => Reason::GroupAlreadyExists,
            Kind::FeedToken => Reason::FeedTokenAlreadyExists,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The HTTP status google/rpc/code.proto gives each canonical code.
    fn documented_http_status(code: Code) -> StatusCode {
        match code {
            Code::Ok => StatusCode::OK,
            Code::Cancelled => StatusCode::from_u16(499).unwrap(),
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    #[test]
    fn every_reason_is_distinct_upper_snake_case() {
        let names: HashSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len(), "two reasons share a name");
        for r in Reason::ALL {
            let name = r.as_str();
            let upper_snake = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !name.starts_with('_')
                && !name.ends_with('_')
                && !name.contains("__");
            assert!(upper_snake, "{name} is not UPPER_SNAKE_CASE");
        }
    }

    #[test]
    fn each_http_status_is_the_one_documented_for_its_grpc_code() {
        for r in Reason::ALL {
            let (code, http) = (r.code(), r.http_status());
            assert_ne!(code, Code::Ok, "{} refuses", r.as_str());
            // A server-wide limit is not the client's rate: 503 with Retry-After, not 429.
            let expected = if code == Code::ResourceExhausted {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                documented_http_status(code)
            };
            assert_eq!(http, expected, "{} ({code:?})", r.as_str());
        }
    }

    #[test]
    fn not_found_and_already_exists_follow_their_kind() {
        for kind in [Kind::Session, Kind::Slot, Kind::Person, Kind::Participant, Kind::Group, Kind::FeedToken] {
            assert_eq!(Reason::not_found(kind).code(), Code::NotFound);
            assert!(Reason::not_found(kind).as_str().ends_with("_NOT_FOUND"));
            assert_eq!(Reason::already_exists(kind).code(), Code::AlreadyExists);
            assert!(Reason::already_exists(kind).as_str().ends_with("_ALREADY_EXISTS"));
        }
        assert_eq!(Reason::not_found(Kind::FeedToken).as_str(), "FEED_TOKEN_NOT_FOUND");
    }
}
