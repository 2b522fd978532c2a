//! Staying up under load: a per-request time limit, a cap on requests in
//! flight with load shedding (503 + Retry-After instead of a growing queue),
//! and a per-client-address rate limit on sign-ups (429 + Retry-After).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take, reading its body included.
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused with 503 at once.
    pub max_concurrent_requests: usize,
    /// Sign-ups per second per client address (bursts of ten seconds' worth
    /// allowed); 0 turns the limit off.
    pub registrations_per_second: u32,
}

impl Limits {
    /// Generous enough for a registration desk where hundreds of attendees
    /// share one address behind conference Wi-Fi, tight enough to stop a
    /// flood. The one place the defaults are written: `lanyard serve`'s flags
    /// take theirs from here.
    pub const DEFAULT: Limits = Limits {
        request_timeout: Duration::from_secs(30),
        max_concurrent_requests: 512,
        registrations_per_second: 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[derive(Clone)]
pub struct SignupRateLimit(Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>);

impl SignupRateLimit {
    pub fn new(per_second: u32) -> Self {
        SignupRateLimit(NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(10).expect("non-zero"));
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        }))
    }
}

/// Applies the sign-up rate limit by the connection's address. Behind a
/// proxy or on Lambda there is no socket peer here, and the limit is left to
/// the platform (API Gateway throttling).
pub async fn limit_signups(
    State(limit): State<SignupRateLimit>,
    request: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(ConnectInfo(peer))) = (
        &limit.0,
        request.extensions().get::<ConnectInfo<SocketAddr>>(),
    ) {
        if let Err(not_until) = limiter.check_key(&peer.ip()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return ApiError::RateLimited(wait.as_secs_f64().ceil() as u64).into_response();
        }
        // Forget quiet addresses now and then so the table stays small.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
    }
    next.run(request).await
}
