//! Failover: one attempt of a call, bounded in time; the errors another member may answer
//! differently; and the retries, with a doubling pause, until a deadline.

use std::time::Duration;

use crate::store::StoreError;

/// How long one attempt of a call may take before it counts as failed (and, for a write,
/// ambiguous): long enough for a loaded member's fsync, short enough that a call stuck on a
/// member without a leader moves on to another one.
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a call keeps retrying on other members before it reports the store unavailable:
/// an election after a leader is lost takes one to two seconds with etcd's default timings.
pub(super) const FAILOVER_DEADLINE: Duration = Duration::from_secs(8);

/// The first pause between attempts; it doubles up to [`RETRY_BACKOFF_MAX`].
const RETRY_BACKOFF: Duration = Duration::from_millis(25);
const RETRY_BACKOFF_MAX: Duration = Duration::from_millis(400);

/// An etcd error as the contract's: what another member may answer differently (no
/// connection, no leader, a timeout) is [`StoreError::Unavailable`], which [`super::EtcdStore`]
/// retries; anything else is the cluster's final answer.
pub(super) fn backend(e: etcd_client::Error) -> StoreError {
    use tonic::Code;
    let retryable = match &e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Aborted
        ),
        _ => false,
    };
    if retryable { StoreError::Unavailable(format!("etcd: {e}")) } else { StoreError::Backend(format!("etcd: {e}")) }
}

/// One attempt of an etcd call, bounded by [`ATTEMPT_TIMEOUT`].
pub(super) async fn attempt<T>(call: impl Future<Output = Result<T, etcd_client::Error>>) -> Result<T, StoreError> {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, call).await {
        Ok(result) => result.map_err(backend),
        Err(_) => Err(StoreError::Unavailable(format!("etcd did not answer within {ATTEMPT_TIMEOUT:?}"))),
    }
}

/// Runs `call` until it gives an answer other than [`StoreError::Unavailable`] or
/// [`FAILOVER_DEADLINE`] passes, pausing with a doubling backoff in between: the client's
/// channel spreads attempts over every endpoint, so a retry reaches another member. `call`
/// must be safe to repeat (reads are; writes check their request id first).
pub(super) async fn with_failover<T, F, Fut>(call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    with_failover_within(FAILOVER_DEADLINE, call).await
}

/// [`with_failover`] with its own deadline (an attempt under way when it passes still runs).
pub(super) async fn with_failover_within<T, F, Fut>(budget: Duration, mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let deadline = tokio::time::Instant::now() + budget;
    let mut pause = RETRY_BACKOFF;
    loop {
        match call().await {
            Err(StoreError::Unavailable(why)) if tokio::time::Instant::now() + pause < deadline => {
                tracing::debug!(error = %why, "etcd call failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_BACKOFF_MAX);
            }
            other => return other,
        }
    }
}

/// Repeats a read-then-Txn `attempt` until it applies (`Some(revision)`: `None` means the
/// record changed between its read and its Txn), with failover around it.
pub(super) async fn until_applied<F, Fut>(attempt: F) -> Result<u64, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<u64>, StoreError>>,
{
    let attempt = &attempt;
    with_failover(move || async move {
        loop {
            if let Some(revision) = attempt().await? {
                return Ok(revision);
            }
        }
    })
    .await
}
