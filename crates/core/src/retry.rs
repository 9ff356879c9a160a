//! Retrying channel calls: 429 honours the server's Retry-After, transient failures back off
//! exponentially with jitter up to a bound, and everything else fails at once. A Retry-After
//! longer than `max_delay` is not waited for: retrying sooner would only be refused again, so
//! the call fails at once with the wait the server asked for.

use std::future::Future;
use std::time::Duration;

use rand::RngExt;

use crate::error::ChannelError;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 means no retry.
    pub max_attempts: u32,
    /// The first backoff; each later one doubles, with full jitter.
    pub base_delay: Duration,
    /// No single wait is longer. A server asking for a longer `Retry-After` is not retried.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after `error`, or `None` when it must not be retried,
    /// the attempts are used up, or the server's Retry-After is over `max_delay`. `attempt`
    /// counts from 1.
    pub fn delay_after(&self, attempt: u32, error: &ChannelError) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match error {
            ChannelError::RateLimited {
                retry_after: Some(wait),
                ..
            } => (*wait <= self.max_delay).then_some(*wait),
            ChannelError::RateLimited { .. } | ChannelError::Transient { .. } => {
                Some(self.backoff(attempt))
            }
            _ => None,
        }
    }

    /// Exponential backoff with full jitter: a random wait in `[cap/2, cap]`, where `cap` doubles
    /// from `base_delay` with each attempt up to `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.max_delay);
        let half = cap / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }

    /// Runs `call` until it succeeds, fails for good, or the attempts are used up. `on_retry`
    /// sees each error that is retried and the wait before the next attempt.
    pub async fn run<T, F, Fut>(
        &self,
        mut call: F,
        mut on_retry: impl FnMut(&ChannelError, Duration),
    ) -> Result<T, ChannelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ChannelError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) => match self.delay_after(attempt, &error) {
                    Some(wait) => {
                        on_retry(&error, wait);
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return Err(error),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn transient() -> ChannelError {
        ChannelError::Transient {
            store: "s".into(),
            detail: "HTTP 503".into(),
        }
    }

    #[test]
    fn retry_after_is_honoured_and_a_longer_one_is_not_waited_for() {
        let policy = RetryPolicy::default();
        let limited = ChannelError::RateLimited {
            store: "s".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            policy.delay_after(1, &limited),
            Some(Duration::from_secs(7))
        );
        let huge = ChannelError::RateLimited {
            store: "s".into(),
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(policy.delay_after(1, &huge), None);
    }

    #[test]
    fn client_errors_are_not_retried() {
        let policy = RetryPolicy::default();
        let auth = ChannelError::Authentication {
            store: "s".into(),
            detail: "401".into(),
        };
        assert_eq!(policy.delay_after(1, &auth), None);
        let refused = ChannelError::Refused {
            store: "s".into(),
            operation: "shipnotify".into(),
            status: 404,
            detail: "unknown order".into(),
        };
        assert_eq!(policy.delay_after(1, &refused), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_bounded() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 1..10 {
            let cap = (Duration::from_millis(100) * 2u32.pow(attempt - 1)).min(policy.max_delay);
            for _ in 0..50 {
                let wait = policy.backoff(attempt);
                assert!(
                    wait >= cap / 2 && wait <= cap,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        assert_eq!(policy.delay_after(10, &transient()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_transient_errors_then_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        let calls = AtomicU32::new(0);
        let mut retries = 0;
        let result: Result<(), _> = policy
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(transient())
                },
                |_, _| retries += 1,
            )
            .await;
        assert!(matches!(result, Err(ChannelError::Transient { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(retries, 2);

        let calls = AtomicU32::new(0);
        let result = policy
            .run(
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        Err(transient())
                    } else {
                        Ok(42)
                    }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(result, Ok(42));
    }
}
