//! `GET /api/openapi.json`: generated from the handlers and types themselves.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{api, desk, error, lists, notices, print, requests, views};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lanyard",
        description = "Conference registration with QR-code badges. Organizer endpoints need `Authorization: Bearer <admin token>`; desk endpoints take a desk token or the admin token. Errors are always `{\"error\": {\"code\", \"message\", \"field\"}}`.",
    ),
    paths(
        api::health,
        api::conferences,
        api::form,
        api::set_form,
        api::conference_logo,
        api::register,
        api::list,
        api::list_by_user,
        api::get_one,
        api::update,
        api::seat,
        api::delete,
        api::rerender,
        api::badge,
        desk::update_own,
        desk::seat_own,
        desk::erase_own,
        desk::create_desk,
        desk::desks,
        desk::revoke_desk,
        desk::enrol_desk,
        desk::desk_self,
        desk::redeem_enrolment,
        desk::check_in,
        desk::check_in_batch,
        desk::walk_in,
        desk::badge_to_print,
        desk::search,
        desk::stats,
        desk::undo_checkin,
        print::sheets,
        api::printable,
        lists::import,
        lists::list_user_named_import,
        lists::export_csv,
        lists::export_xlsx,
        print::badges_pdf,
        notices::lookup,
        notices::message,
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        views::Health,
        views::ConferenceList,
        views::ConferenceView,
        views::FormView,
        views::RegistrationView,
        views::RegistrationList,
        views::RegistrationPage,
        views::BadgeRef,
        views::BadgeView,
        views::PrintableView,
        views::CheckinRef,
        views::CheckinView,
        views::DeskRegistrationView,
        views::DeskBadgeRef,
        views::DeskRegistrationList,
        views::DeskView,
        views::NewDeskView,
        views::EnrolmentView,
        views::DeskList,
        views::DeskSelf,
        views::SheetList,
        views::ImportReportView,
        views::ImportRowView,
        views::SheetView,
        views::LookupView,
        views::MessageView,
        requests::LookupBody,
        requests::MessageBody,
        views::CheckinBatchItem,
        views::CheckinBatchView,
        crate::requests::SignUpBody,
        crate::requests::CheckinBody,
        crate::requests::CheckinBatchBody,
        crate::requests::DeskBody,
        crate::requests::EnrolmentBody,
        crate::requests::EnrolBody,
        crate::requests::BadgeFileFormat,
        crate::requests::OwnChangesBody,
        crate::requests::ChangesBody,
        crate::requests::SeatBody,
        crate::requests::SeatActionBody,
        lanyard_domain::Answer,
        lanyard_domain::SeatStatus,
        lanyard_domain::form::Category,
        lanyard_domain::form::Question,
        lanyard_domain::form::QuestionKind,
        lanyard_domain::form::Label,
        lanyard_domain::form::EmailPolicy,
        lanyard_domain::CheckinResult,
        lanyard_domain::CheckinStats,
        lanyard_domain::checkin::ConferenceStats,
        lanyard_domain::checkin::DeskCount,
        lanyard_domain::checkin::QuarterCount,
        lanyard_domain::checkin::SeatCount,
        lanyard_domain::BadgeStatus,
        lanyard_domain::PayloadKind,
    )),
    modifiers(&OrganizerAuth),
    tags(
        (name = "public", description = "Sign-up and badges"),
        (name = "organizer", description = "Attendee management (admin token)"),
        (name = "desk", description = "Check-in desks (a desk token, or the admin token)"),
        (name = "attendee", description = "An attendee's own registration, behind their badge link"),
    ),
)]
struct ApiDoc;

struct OrganizerAuth;

impl Modify for OrganizerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "organizer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "desk",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A desk token from POST /api/desks (desk_...)"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document as the code declares it, built once.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// The document for one server, made once when its router is built: a
/// sign-up's `type` is one of the conferences it is configured with.
pub fn document_for<'a>(conference_ids: impl IntoIterator<Item = &'a str>) -> Bytes {
    let mut doc: serde_json::Value =
        serde_json::from_str(openapi_json()).expect("the OpenAPI document is JSON");
    let ids: Vec<serde_json::Value> = conference_ids.into_iter().map(Into::into).collect();
    if let Some(conference) = doc.pointer_mut("/components/schemas/NewRegistration/properties/type")
    {
        conference["enum"] = ids.into();
    }
    Bytes::from(doc.to_string())
}

pub async fn serve(doc: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc)
}
