//! Pacing requests to a rate limit that a server counts in fixed windows: [`WindowPacer`] holds
//! two token buckets, one for the burst window (1 s) and one for the steady window (1 min), and
//! implements [`Pace`] so that an [`HttpService`](crate::HttpService) waits on it before every
//! request, retries included.
//!
//! A server such as Klaviyo counts requests in fixed windows whose start we do not know. A bucket of capacity
//! `c` refilled at `r` per second lets through at most `c + r·w` requests in any window of `w`
//! seconds, so each bucket is sized with `c + r·w = limit`: half the burst up front, the rest
//! spread over the window. Then no 1-second window ever sees more than the burst limit and no
//! 60-second window more than the steady limit, wherever Klaviyo's windows start.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use async_trait::async_trait;

use crate::service::Pace;

/// A published rate limit, counted in fixed windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointLimit {
    /// Requests per second (the burst window).
    pub burst_per_second: u32,
    /// Requests per minute (the steady window).
    pub steady_per_minute: u32,
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
}

impl Bucket {
    fn new(limit: u32, window_secs: f64, capacity: u32) -> Self {
        let limit = f64::from(limit.max(1));
        let capacity = f64::from(capacity.max(1)).min(limit);
        // At least one token per window, so a limit of 1 still moves.
        let per_second = ((limit - capacity).max(1.0)) / window_secs;
        Self {
            capacity,
            tokens: capacity,
            per_second,
        }
    }

    fn refill(&mut self, elapsed: Duration) {
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
    }

    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_second)
        }
    }
}

#[derive(Debug)]
struct Buckets {
    burst: Bucket,
    steady: Bucket,
    last: Instant,
}

/// Paces one endpoint's requests to an [`EndpointLimit`]. Share one (in an `Arc`) between every
/// service sending to the same limit.
#[derive(Debug)]
pub struct WindowPacer {
    buckets: Mutex<Buckets>,
}

impl WindowPacer {
    /// A pacer for `limit`.
    pub fn new(limit: EndpointLimit) -> Self {
        let head = (limit.burst_per_second / 2).max(1);
        Self {
            buckets: Mutex::new(Buckets {
                burst: Bucket::new(limit.burst_per_second, 1.0, head),
                steady: Bucket::new(
                    limit.steady_per_minute,
                    60.0,
                    head.min(limit.steady_per_minute / 2),
                ),
                last: Instant::now(),
            }),
        }
    }

    /// Waits until both buckets hold a token, and takes one from each.
    async fn acquire(&self) {
        loop {
            let wait = {
                let mut b = self.buckets.lock().await;
                let now = Instant::now();
                let elapsed = now.saturating_duration_since(b.last);
                b.last = now;
                b.burst.refill(elapsed);
                b.steady.refill(elapsed);
                let wait = b.burst.wait().max(b.steady.wait());
                if wait.is_zero() {
                    b.burst.tokens -= 1.0;
                    b.steady.tokens -= 1.0;
                    return;
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl Pace for WindowPacer {
    async fn wait(&self) {
        self.acquire().await;
    }
}

/// Spaces requests by at least a gap: the simplest politeness towards a channel that publishes
/// no limit. Share one per credential.
#[derive(Debug)]
pub struct GapPacer {
    gap: Duration,
    last: Mutex<Option<Instant>>,
}

impl GapPacer {
    /// A pacer letting one request through every `gap`.
    pub fn new(gap: Duration) -> Self {
        Self {
            gap,
            last: Mutex::new(None),
        }
    }

    /// The gap.
    pub fn gap(&self) -> Duration {
        self.gap
    }
}

#[async_trait]
impl Pace for GapPacer {
    async fn wait(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + self.gap).await;
        }
        *last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_gap_pacer_spaces_every_request_by_its_gap() {
        let pacer = GapPacer::new(Duration::from_millis(250));
        let started = Instant::now();
        let mut times = Vec::new();
        for _ in 0..5 {
            pacer.wait().await;
            times.push(Instant::now().duration_since(started));
        }
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(250), "{times:?}");
        }
        assert_eq!(times[0], Duration::ZERO);
    }

    /// The most requests in any window of `len` over the sorted `times`.
    fn most_in_window(times: &[Instant], len: Duration) -> usize {
        let mut most = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= len {
                start += 1;
            }
            most = most.max(end - start + 1);
        }
        most
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_pacing_keeps_every_window_under_both_limits() {
        let pacer = WindowPacer::new(EndpointLimit {
            burst_per_second: 10,
            steady_per_minute: 150,
        });
        let started = Instant::now();
        let mut times = Vec::new();
        for _ in 0..400 {
            pacer.acquire().await;
            times.push(Instant::now());
        }
        assert!(most_in_window(&times, Duration::from_secs(1)) <= 10);
        assert!(most_in_window(&times, Duration::from_secs(60)) <= 150);
        // And it is not needlessly slow: 400 requests at ~2.4/s take under three minutes.
        let took = times[399].duration_since(started);
        assert!(took < Duration::from_secs(180), "{took:?}");
        assert!(took > Duration::from_secs(120), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn single_pacing_allows_a_real_burst() {
        let pacer = WindowPacer::new(EndpointLimit {
            burst_per_second: 350,
            steady_per_minute: 3500,
        });
        let mut times = Vec::new();
        for _ in 0..1000 {
            pacer.acquire().await;
            times.push(Instant::now());
        }
        assert!(most_in_window(&times, Duration::from_secs(1)) <= 350);
        assert!(most_in_window(&times, Duration::from_secs(60)) <= 3500);
        assert!(most_in_window(&times, Duration::from_secs(1)) >= 150);
    }
}
