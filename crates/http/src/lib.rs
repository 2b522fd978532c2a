//! lanyard's HTTP tier: the `/api` router, its OpenAPI description and the
//! web page's assets, one `axum::Router` for `lanyard serve` and for Lambda.

mod api;
mod desk;
mod error;
mod extract;
mod limits;
mod lists;
mod notices;
mod openapi;
pub mod paths;
mod print;
mod requests;
mod stream;
mod views;
mod web;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::BoxError;
use axum::Router;
use lanyard_domain::Lanyard;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorBody};
pub use extract::BODY_LIMIT;
pub use limits::Limits;
pub use openapi::openapi_json;
pub use requests::{CheckinBatchBody, ListParams, SignUpBody};

/// The organizer token. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    pub fn new(token: impl Into<String>) -> Self {
        AdminToken(token.into())
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// The secret CloudFront adds to every request it forwards to the API
/// (`X-Origin-Verify`), so a deployment can refuse requests that did not
/// come through the site: those that would skip its web ACL and its
/// security headers. Never printed.
#[derive(Clone)]
pub struct OriginSecret(String);

/// The header that carries the [`OriginSecret`].
pub const ORIGIN_SECRET_HEADER: &str = "x-origin-verify";

impl OriginSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        OriginSecret(secret.into())
    }
}

impl fmt::Debug for OriginSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OriginSecret(<redacted>)")
    }
}

/// `router` answering only requests that carry `secret` in
/// [`ORIGIN_SECRET_HEADER`]; any other gets `403` and touches nothing.
pub fn require_origin_secret(router: Router, secret: OriginSecret) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let secret = secret.clone();
            async move {
                use subtle::ConstantTimeEq;
                let presented = request
                    .headers()
                    .get(ORIGIN_SECRET_HEADER)
                    .map(|v| v.as_bytes())
                    .unwrap_or_default();
                if bool::from(presented.ct_eq(secret.0.as_bytes())) {
                    next.run(request).await
                } else {
                    axum::response::IntoResponse::into_response(ApiError::NotThroughSite)
                }
            }
        },
    ))
}

/// Fetches the organizer token from where it is kept.
type FetchToken = Box<
    dyn Fn() -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<AdminToken, String>> + Send>,
        > + Send
        + Sync,
>;

/// The organizer token as the server knows it: given at start, or fetched
/// on the first request that presents a token and kept from then on, so a
/// burst of cold starts (one Lambda instance each) does not read Parameter
/// Store before anyone needs it. A failed fetch answers `503` and is tried
/// again by the next such request.
#[derive(Clone)]
pub struct OrganizerToken(Arc<TokenSource>);

struct TokenSource {
    token: tokio::sync::OnceCell<AdminToken>,
    fetch: Option<FetchToken>,
}

impl OrganizerToken {
    pub fn fixed(token: AdminToken) -> Self {
        OrganizerToken(Arc::new(TokenSource {
            token: tokio::sync::OnceCell::new_with(Some(token)),
            fetch: None,
        }))
    }

    pub fn fetched<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<AdminToken, String>> + Send + 'static,
    {
        OrganizerToken(Arc::new(TokenSource {
            token: tokio::sync::OnceCell::new(),
            fetch: Some(Box::new(move || Box::pin(fetch()))),
        }))
    }

    /// The token, fetched now if it has not been yet.
    pub async fn get(&self) -> Result<&AdminToken, ApiError> {
        let source = &self.0;
        source
            .token
            .get_or_try_init(|| async {
                match &source.fetch {
                    Some(fetch) => fetch().await,
                    None => Err("no organizer token".to_owned()),
                }
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the organizer token could not be read");
                ApiError::StorageUnavailable(format!("the organizer token could not be read: {e}"))
            })
    }
}

impl From<AdminToken> for OrganizerToken {
    fn from(token: AdminToken) -> Self {
        OrganizerToken::fixed(token)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub lanyard: Lanyard,
    pub admin_token: OrganizerToken,
}

/// Log levels when none are set (`RUST_LOG`, Lambda's log level): `info`,
/// without the SVG library's per-badge notes (such as a font fallback for
/// scripts one font lacks). Both `lanyard serve` and the Lambda functions use it.
pub const DEFAULT_LOG_FILTER: &str = "info,usvg=error,resvg=error";

/// The page's Content-Security-Policy: nothing from anywhere but this origin.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&lanyard_domain::fields::random_code())
            .ok()
            .map(RequestId::new)
    }
}

/// A client-sent `X-Request-Id` is kept only when it is 1–64 visible ASCII
/// characters; anything else (long, control characters, non-ASCII) is removed,
/// and the server makes its own.
pub fn request_id_is_fit(value: &[u8]) -> bool {
    (1..=64).contains(&value.len()) && value.iter().all(|b| b.is_ascii_graphic())
}

async fn drop_unfit_request_id(mut request: Request) -> Request {
    let unfit = request
        .headers()
        .get_all(&REQUEST_ID)
        .iter()
        .any(|v| !request_id_is_fit(v.as_bytes()));
    if unfit || request.headers().get_all(&REQUEST_ID).iter().count() > 1 {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Builds the whole HTTP application. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the sign-up rate
/// limit can see client addresses.
pub fn router(state: AppState, limits: Limits) -> Router {
    // The sign-up limit on each of `paths::SIGN_UP_LIMITED`.
    let signup_limit = limits::SignupRateLimit::new(limits.registrations_per_second);
    let register = post(api::register).layer(axum::middleware::from_fn_with_state(
        signup_limit.clone(),
        limits::limit_signups,
    ));
    // The original page posts from its own origin (CloudFront) with a
    // "simple" request: its answers may be read from any origin, as the
    // sign-up is public anyway. Nothing else is offered cross-origin.
    // A lost-link request costs an e-mail: limited as sign-ups are.
    let lookup = post(notices::lookup).layer(axum::middleware::from_fn_with_state(
        signup_limit.clone(),
        limits::limit_signups,
    ));
    let enrol = post(desk::redeem_enrolment).layer(axum::middleware::from_fn_with_state(
        signup_limit.clone(),
        limits::limit_signups,
    ));
    let original = post(api::register_original)
        .layer(axum::middleware::from_fn_with_state(
            signup_limit,
            limits::limit_signups,
        ))
        .get(api::original_history)
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    let openapi = openapi::document_for(state.lanyard.conferences().iter().map(|c| c.id.as_str()));
    let api = Router::new()
        .route(paths::HEALTH, get(api::health))
        .route(paths::CONFERENCES, get(api::conferences))
        .route(paths::CONFERENCE_FORM, get(api::form).put(api::set_form))
        .route(paths::CONFERENCE_LOGO, get(api::conference_logo))
        .route(paths::REGISTRATIONS, register.get(api::list))
        .route(paths::ORIGINAL_SIGNUP, original)
        .route(paths::USER_REGISTRATIONS, get(api::list_by_user))
        .route(
            paths::REGISTRATION,
            get(api::get_one).patch(api::update).delete(api::delete),
        )
        .route(paths::REGISTRATION_SEAT, post(api::seat))
        .route(paths::BADGE_SEAT, post(desk::seat_own))
        .route(paths::BADGE_LOOKUP, lookup)
        .route(
            paths::MESSAGES,
            post(notices::message).layer(DefaultBodyLimit::max(extract::MESSAGE_BODY_LIMIT)),
        )
        .route(
            paths::REGISTRATION_BADGE,
            post(api::rerender).get(desk::badge_to_print),
        )
        .route(paths::REGISTRATION_CHECKIN, delete(desk::undo_checkin))
        .route(
            paths::BADGE,
            get(api::badge)
                .patch(desk::update_own)
                .delete(desk::erase_own),
        )
        .route(paths::DESKS, post(desk::create_desk).get(desk::desks))
        .route(paths::DESK, delete(desk::revoke_desk))
        .route(paths::DESK_ENROLMENT, post(desk::enrol_desk))
        .route(paths::DESK_SELF, get(desk::desk_self))
        .route(paths::DESK_ENROL, enrol)
        .route(paths::CHECKINS, post(desk::check_in))
        .route(
            paths::CHECKIN_BATCH,
            post(desk::check_in_batch).layer(DefaultBodyLimit::max(extract::BATCH_BODY_LIMIT)),
        )
        .route(paths::CHECKIN_WALK_INS, post(desk::walk_in))
        .route(paths::CHECKIN_SEARCH, get(desk::search))
        .route(paths::CHECKIN_STATS, get(desk::stats))
        .route(
            paths::IMPORT,
            post(lists::import)
                .get(lists::list_user_named_import)
                .layer(DefaultBodyLimit::max(lists::IMPORT_BODY_LIMIT)),
        )
        .route(paths::EXPORT_CSV, get(lists::export_csv))
        .route(paths::EXPORT_XLSX, get(lists::export_xlsx))
        .route(paths::SHEETS, get(print::sheets))
        .route(paths::PRINTABLE, get(api::printable))
        .route(paths::BADGES_PDF, get(print::badges_pdf))
        .route(paths::OPENAPI, get(move || openapi::serve(openapi.clone())))
        .route("/api", any(api::not_found))
        .route("/api/{*rest}", any(api::not_found))
        .method_not_allowed_fallback(api::method_not_allowed);

    Router::new()
        .merge(api)
        .fallback(web::serve)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|e: BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        ApiError::Timeout
                    } else {
                        ApiError::Overloaded
                    }
                }))
                .load_shed()
                // Global: one cap shared by every route (a plain concurrency
                // limit would be copied per route by `Router::layer`).
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrent_requests.max(1)))
                .timeout(limits.request_timeout),
        )
        // Outside the global cap: a request over its address's share never
        // takes one of the slots every client shares.
        .layer(axum::middleware::from_fn_with_state(
            limits::AddressShare::new(limits.max_concurrent_per_address),
            limits::limit_per_address,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits::MinBodyRate {
                bytes_per_second: limits.min_body_bytes_per_second,
                grace: limits.body_grace,
            },
            limits::limit_body_rate,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a request handler panicked".into()).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), route = route.as_deref().unwrap_or("-"), request_id = %id)
                })
                .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_secs_f64() * 1e3, "response");
                }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RandomRequestId))
        // Runs first: a client's own request id is kept only when it is fit for logs.
        .layer(axum::middleware::map_request(drop_unfit_request_id))
        // The organizer token never reaches a log line.
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .with_state(state)
}
