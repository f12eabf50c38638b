//! The wait between retries of the SMTP sender.

use std::time::Duration;

/// The first wait after a failure; it doubles on each failure in a row, up to the cap.
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// Exponential backoff with jitter: each wait is drawn from the upper half of a range that
/// doubles with each failure in a row, up to the cap, so that many senders behind one relay
/// do not retry in step.
pub(super) struct Backoff {
    current: Duration,
    max: Duration,
}

impl Backoff {
    pub(super) fn new(max: Duration) -> Self {
        Self { current: FIRST_RETRY.min(max), max }
    }

    pub(super) fn reset(&mut self) {
        self.current = FIRST_RETRY.min(self.max);
    }

    pub(super) fn next(&mut self) -> Duration {
        let range = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = range / 2;
        let jitter = getrandom::u64().unwrap_or(0) % (half.as_millis() as u64 + 1);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::new(Duration::from_secs(4));
        let waits: Vec<Duration> = (0..6).map(|_| b.next()).collect();
        let ranges = [500, 1000, 2000, 4000, 4000, 4000].map(Duration::from_millis);
        for (wait, range) in waits.iter().zip(ranges) {
            assert!(*wait >= range / 2 && *wait <= range, "{wait:?} within the upper half of {range:?}");
        }
        b.reset();
        assert!(b.next() <= FIRST_RETRY);
    }
}
