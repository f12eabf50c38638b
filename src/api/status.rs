//! The one place refusals become gRPC statuses.
//!
//! Every status the service builds goes through [`refusal`]: its code comes from the reason
//! table (`error::Reason`), and it carries a `google.rpc.ErrorInfo` with that reason (domain
//! `agenda`) and the ids it is about as metadata; validation failures add a
//! `google.rpc.BadRequest` with one field violation per invalid field, a write refused for double
//! bookings a `google.rpc.PreconditionFailure` with one violation per conflict. Internal failures are
//! logged with their whole cause and answered with an opaque message: clients learn that it
//! failed, not how the disk looks.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Violations;
use crate::error::{Error, Reason};

/// `ErrorInfo.domain` of every refusal.
const DOMAIN: &str = "agenda";

/// A status for `reason` with its ErrorInfo; `metadata` names the ids it is about.
pub fn refusal(
    reason: Reason,
    message: impl Into<String>,
    metadata: impl IntoIterator<Item = (&'static str, String)>,
) -> Status {
    with_details(reason, message.into(), metadata, ErrorDetails::new())
}

/// INVALID_ARGUMENT with a BadRequest listing every violation.
pub fn invalid(v: &Violations) -> Status {
    let mut d = ErrorDetails::new();
    for f in v.violations() {
        d.add_bad_request_violation(f.field.clone(), f.description.clone());
    }
    with_details(Reason::InvalidArgument, format!("invalid request: {v}"), [], d)
}

fn with_details(
    reason: Reason,
    message: String,
    metadata: impl IntoIterator<Item = (&'static str, String)>,
    mut details: ErrorDetails,
) -> Status {
    let metadata: HashMap<String, String> = metadata.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    details.set_error_info(reason.as_str(), DOMAIN, metadata);
    Status::with_error_details(reason.code(), message, details)
}

/// A request that did not parse: INVALID_ARGUMENT with every violation.
impl From<Violations> for Status {
    fn from(v: Violations) -> Status {
        invalid(&v)
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        if let Some(v) = e.violations() {
            return invalid(v);
        }
        if let Error::Conflicting { conflicts } = &e {
            // One violation per conflict: its type the reason, its subject the person.
            let mut d = ErrorDetails::new();
            for c in conflicts {
                d.add_precondition_failure_violation(
                    Reason::ScheduleConflict.as_str(),
                    format!("people/{}", c.person()),
                    super::convert::describe_conflict(c),
                );
            }
            return with_details(e.reason(), e.client_message(), e.metadata(), d);
        }
        if let Error::Store(cause) = &e {
            tracing::error!(error = %cause, "store operation failed");
        }
        refusal(e.reason(), e.client_message(), e.metadata())
    }
}
