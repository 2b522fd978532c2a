//! Staying up under load: a per-request time limit, a minimum rate for
//! request bodies, a cap on requests in flight with load shedding (503 +
//! Retry-After instead of a growing queue) of which one client address may
//! hold only a share (429), and a per-client-address rate limit on sign-ups
//! (429 + Retry-After).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

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
    /// Of those, how many one client address may hold; more from it are
    /// refused with 429, so a few addresses cannot take every slot.
    pub max_concurrent_per_address: usize,
    /// A request body must arrive at this many bytes per second on
    /// average, after [`Limits::body_grace`]; a slower one is cut off with
    /// 408, so trickled bodies cannot hold slots for the whole timeout.
    pub min_body_bytes_per_second: u32,
    /// How long a body may take before its rate counts.
    pub body_grace: Duration,
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
        max_concurrent_per_address: 64,
        min_body_bytes_per_second: 1024,
        body_grace: Duration::from_secs(5),
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

/// The client address of a request served on a socket; `None` behind
/// Lambda, where the platform throttles instead.
fn client_address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// Requests in flight per client address, each at most its share.
#[derive(Clone)]
pub struct AddressShare {
    max: usize,
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressShare {
    pub fn new(max: usize) -> Self {
        AddressShare {
            max: max.max(1),
            in_flight: Arc::default(),
        }
    }

    fn take(&self, address: IpAddr) -> Option<ShareSlot> {
        let mut table = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let held = table.entry(address).or_insert(0);
        if *held >= self.max {
            return None;
        }
        *held += 1;
        Some(ShareSlot {
            share: self.clone(),
            address,
        })
    }
}

/// One request's place in its address's share, given back when the
/// request's answer (its body included) is done with.
struct ShareSlot {
    share: AddressShare,
    address: IpAddr,
}

impl Drop for ShareSlot {
    fn drop(&mut self) {
        let mut table = self
            .share
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(held) = table.get_mut(&self.address) {
            *held -= 1;
            if *held == 0 {
                table.remove(&self.address);
            }
        }
    }
}

/// Refuses a request with 429 when its address already holds its share of
/// the requests in flight.
pub async fn limit_per_address(
    State(share): State<AddressShare>,
    request: Request,
    next: Next,
) -> Response {
    let Some(address) = client_address(&request) else {
        return next.run(request).await;
    };
    let Some(slot) = share.take(address) else {
        tracing::warn!(client = %address, "request refused: this address holds its share of the server");
        return ApiError::RateLimited(1).into_response();
    };
    let response = next.run(request).await;
    // Held until the answer is sent: a streamed answer is work in flight too.
    response.map(|body| Body::new(Holding { body, _slot: slot }))
}

/// An answer's body that keeps its request's slot until it is dropped.
struct Holding {
    body: Body,
    _slot: ShareSlot,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The minimum rate of request bodies.
#[derive(Debug, Clone, Copy)]
pub struct MinBodyRate {
    pub bytes_per_second: u32,
    pub grace: Duration,
}

/// The error a body too slow for [`MinBodyRate`] ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly")]
pub struct BodyTooSlow;

/// Gives every request body the minimum rate.
pub async fn limit_body_rate(
    State(rate): State<MinBodyRate>,
    request: Request,
    next: Next,
) -> Response {
    let request = if rate.bytes_per_second == 0 {
        request
    } else {
        request.map(|body| {
            Body::new(RateBoundBody {
                body,
                rate,
                started: Instant::now(),
                received: 0,
                deadline: Box::pin(tokio::time::sleep(rate.grace)),
            })
        })
    };
    next.run(request).await
}

/// A request body that ends with [`BodyTooSlow`] once it has taken longer
/// than its grace plus its bytes at the minimum rate.
struct RateBoundBody {
    body: Body,
    rate: MinBodyRate,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
}

impl http_body::Body for RateBoundBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let earned = Duration::from_secs_f64(
                        this.received as f64 / f64::from(this.rate.bytes_per_second),
                    );
                    this.deadline
                        .as_mut()
                        .reset(this.started + this.rate.grace + earned);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyTooSlow.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whether an error (a body read's, say) comes from a body too slow.
pub fn is_body_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyTooSlow>() {
            return true;
        }
        cause = e.source();
    }
    false
}
