//! The OpenAPI document of the whole HTTP API, served at `GET /openapi.json`. The admin routes
//! and their description come from one [`utoipa_axum`] router, so neither can lack the other;
//! `/healthz` and `/readyz` carry `#[utoipa::path]`; the webhook and `/metrics`, whose modules
//! keep their handlers private, are described here. The error answers every route shares are
//! added by [`super::error_responses`].

use super::error::ErrorBody;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Required, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callsaga",
        description = "Durable back office for AI voice agents: the Vapi webhook, operations \
                       endpoints and the admin API (`/admin/v1`, bearer `admin.token`; absent \
                       when no token is configured)."
    ),
    paths(crate::app::healthz, crate::app::readyz, serve),
    components(schemas(ErrorBody)),
    modifiers(&AdminToken),
    tags(
        (name = "calls", description = "Calls, their live workflow state, escalations"),
        (name = "credits", description = "Credit ledger and top-ups"),
        (name = "tenants", description = "Users, agents, phone numbers, escalation configs"),
        (name = "webhooks", description = "Vapi server messages"),
        (name = "ops", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "admin_token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("The configured `admin.token`"))
                        .build(),
                ),
            );
    }
}

/// The document, built once.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::api().into_openapi());
    doc.paths
        .add_path_operation("/webhooks/vapi", vec![HttpMethod::Post], vapi_webhook());
    doc.paths
        .add_path_operation("/metrics", vec![HttpMethod::Get], metrics());
    super::error_responses::add(&mut doc);
    doc
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi_document", tag = "ops",
    responses((status = 200, description = "OpenAPI 3 document of the whole HTTP API", body = Object)))]
pub(crate) async fn serve() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into()));
    ([(CONTENT_TYPE, "application/json")], json.clone())
}

fn json_object() -> Content {
    Content::new(Some(ObjectBuilder::new().schema_type(Type::Object)))
}

fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", super::error_responses::error_body())
        .build()
}

fn vapi_webhook() -> Operation {
    OperationBuilder::new()
        .tag("webhooks")
        .operation_id(Some("vapi_webhook"))
        .summary(Some("Vapi server messages"))
        .description(Some(
            "Every Vapi server message (`{\"message\": {\"type\": …}}`). Authenticated as \
             configured in `webhook.auth` (bearer, HMAC or legacy secret) over the raw body. \
             Asynchronous events (status-update, end-of-call-report, conversation-update, \
             transfer-update, hang, user-interrupted) are committed to the inbox and answered \
             `{}`; assistant-request, tool-calls and transfer-destination-request are answered \
             synchronously in Vapi's response shapes.",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_object())
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Accepted, or the synchronous answer")
                .content("application/json", json_object())
                .build(),
        )
        .response(
            "400",
            error("Not a Vapi message; the message says what is wrong"),
        )
        .response("401", error("Authentication failed"))
        .response("413", error("Body larger than webhook.body_limit_bytes"))
        .response("429", error("Rate limit of the source exceeded"))
        .response(
            "503",
            error(
                "Database unavailable (`unavailable`), or too many webhook requests in \
                 progress (`overloaded`, with `Retry-After`); Vapi retries",
            ),
        )
        .build()
}

fn metrics() -> Operation {
    OperationBuilder::new()
        .tag("ops")
        .operation_id(Some("metrics"))
        .summary(Some("Prometheus metrics"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Prometheus text exposition format")
                .content(
                    "text/plain",
                    Content::new(Some(ObjectBuilder::new().schema_type(Type::String))),
                )
                .build(),
        )
        .build()
}
