//! When to try a request again and how long to wait: the policy, its
//! jittered backoff, and the waits servers ask for.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::*;

/// When and how often to retry a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many times to retry (after the first attempt).
    pub max_retries: u32,
    /// The first backoff; it doubles on each retry.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The longest wait a `Retry-After` (or a rate-limit reset) may ask for;
    /// beyond it the error is returned at once, carrying the wait.
    pub max_wait: Duration,
    /// Whether a `POST` whose response headers did not arrive in time (or
    /// whose connection broke after the request was sent) is sent again. Off by
    /// default: the server may have done the work, and a second request would
    /// be billed twice. Requests that never reached the server (connection
    /// refused) are always retried.
    pub retry_unanswered_posts: bool,
}

impl Default for RetryPolicy {
    /// Two retries, backoff from 0.5 s to 8 s (as Cerebras's own SDK), waits of
    /// at most 60 s, unanswered `POST`s not sent again.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_wait: Duration::from_secs(60),
            retry_unanswered_posts: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Sets the first backoff and the longest one.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
    /// Sets the longest honoured wait.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }
    /// Sends a `POST` again when its answer did not arrive in time (see
    /// [`RetryPolicy::retry_unanswered_posts`]): only for requests that are
    /// safe to repeat.
    pub fn retry_unanswered_posts(mut self, yes: bool) -> Self {
        self.retry_unanswered_posts = yes;
        self
    }

    /// The backoff before retry number `attempt` (0-based), with jitter: between
    /// half and all of the exponential value. Cannot overflow, whatever the
    /// policy's durations.
    pub(super) fn backoff_for(&self, attempt: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.max_backoff);
        let fraction = 0.5 + 0.5 * random_unit();
        Duration::try_from_secs_f64(capped.as_secs_f64() * fraction).unwrap_or(capped)
    }
}

pub(super) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random number (for jitter and multipart boundaries, not for secrets).
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// How long the server asked to wait before retrying, if it said: in
/// milliseconds, seconds or as an HTTP date, read fallibly (absurd values
/// saturate; the caller compares them with the policy's `max_wait`).
pub(crate) fn retry_wait(status: u16, headers: &[(String, String)]) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(crate::wire_numbers::parse_millis)
    {
        return Some(ms);
    }
    if let Some(wait) = header(headers, "retry-after")
        .and_then(|v| crate::wire_numbers::parse_retry_after(v, std::time::SystemTime::now()))
    {
        return Some(wait);
    }
    if status == 429 {
        return super::rate_limits::of_pairs(headers).exhausted_reset();
    }
    None
}
