//! The one place errors become gRPC statuses.
//!
//! Every status carries a `google.rpc.ErrorInfo` with a machine-readable `reason` in upper
//! snake case (domain `agenda`), and validation failures a `google.rpc.BadRequest` with one
//! field violation per invalid field. Internal failures are logged with their whole cause and
//! answered with an opaque message: clients learn that it failed, not how the disk looks.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Violations;
use crate::error::Error;
use crate::store::StoreError;

const DOMAIN: &str = "agenda";

fn with_info(code: Code, message: String, reason: &str, meta: &[(&str, &str)]) -> Status {
    let mut d = ErrorDetails::new();
    let meta: HashMap<String, String> = meta.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    d.set_error_info(reason, DOMAIN, meta);
    Status::with_error_details(code, message, d)
}

/// INVALID_ARGUMENT with a BadRequest listing every violation.
pub fn invalid(v: &Violations) -> Status {
    let mut d = ErrorDetails::new();
    for f in v.violations() {
        d.add_bad_request_violation(f.field.clone(), f.description.clone());
    }
    d.set_error_info("INVALID_ARGUMENT", DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, format!("invalid request: {v}"), d)
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let message = e.to_string();
        match e {
            Error::Invalid(v) => invalid(&v),
            Error::NotFound { kind, id } => {
                with_info(Code::NotFound, message, &format!("{}_NOT_FOUND", kind.upper()), &[("id", &id)])
            }
            Error::AlreadyExists { kind, id } => {
                with_info(Code::AlreadyExists, message, &format!("{}_ALREADY_EXISTS", kind.upper()), &[("id", &id)])
            }
            Error::FailedPrecondition { reason, .. } => with_info(Code::FailedPrecondition, message, reason, &[]),
            Error::StaleEtag { id, current, .. } => {
                with_info(Code::Aborted, message, "STALE_ETAG", &[("id", &id), ("current_etag", &current)])
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "store operation failed");
                let (code, reason) = match e {
                    StoreError::Corrupt(_) => (Code::DataLoss, "STORE_CORRUPT"),
                    _ => (Code::Unavailable, "STORE_UNAVAILABLE"),
                };
                with_info(code, "the store could not complete the operation; nothing was changed".into(), reason, &[])
            }
        }
    }
}
