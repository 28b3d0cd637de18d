//! The error answers a route gives whatever it does, described once in the OpenAPI document
//! (`components.responses`) and referenced from every operation that can give them: the admin
//! token (401), the rate limit (429), load shedding and an unavailable database (503), a
//! malformed request (400), a body too large or not JSON (413, 415), and the generic 500. A
//! route's own answers (its 404, 409, 422) are described where the route is.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Components, Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// One shared error answer: its status, its component name and when it happens.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const fn shared(status: &'static str, name: &'static str, description: &'static str) -> Shared {
    Shared {
        status,
        name,
        description,
    }
}

const UNAUTHORIZED: Shared = shared(
    "401",
    "Unauthorized",
    "No `Authorization: Bearer <admin.token>` header, or a wrong token \
     (`unauthorized`)",
);
const NO_ADMIN_API: Shared = shared(
    "404",
    "NoAdminApi",
    "No admin API: `admin.token` is not configured (`not_found`)",
);
const RATE_LIMITED: Shared = shared(
    "429",
    "RateLimited",
    "This client's rate limit is exceeded; slow down (`too_many_requests`)",
);
const UNAVAILABLE: Shared = shared(
    "503",
    "Unavailable",
    "Too many requests of this kind in progress (`overloaded`, with `Retry-After`), \
     or the database is unavailable (`unavailable`); retry later",
);
const OVERLOADED: Shared = shared(
    "503",
    "Overloaded",
    "Too many requests of this kind in progress; retry after `Retry-After` \
     seconds (`overloaded`)",
);
const INTERNAL: Shared = shared(
    "500",
    "Internal",
    "An unexpected failure; the body is generic and the detail is logged \
     (`internal`)",
);
const BAD_REQUEST: Shared = shared(
    "400",
    "BadRequest",
    "A malformed request: a query string, path id (not a UUID) or body (not \
     JSON) that cannot be read, or data the database refuses for good; the \
     message says what (`bad_request`)",
);
const TOO_LARGE: Shared = shared(
    "413",
    "PayloadTooLarge",
    "The body is larger than the limit (`payload_too_large`)",
);
const NOT_JSON: Shared = shared(
    "415",
    "UnsupportedMediaType",
    "The body is not `application/json` (`unsupported_media_type`)",
);

const ALL: [Shared; 9] = [
    UNAUTHORIZED,
    NO_ADMIN_API,
    RATE_LIMITED,
    UNAVAILABLE,
    OVERLOADED,
    INTERNAL,
    BAD_REQUEST,
    TOO_LARGE,
    NOT_JSON,
];

/// Adds the shared error answers to `components.responses` and references them from every
/// operation that can give them; a route's own description of a status wins.
pub(crate) fn add(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Components::default);
    for shared in ALL {
        components
            .responses
            .insert(shared.name.to_owned(), RefOr::T(response(&shared)));
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let admin = path.starts_with("/admin/");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut shared = vec![INTERNAL];
            if admin {
                shared.extend([UNAUTHORIZED, NO_ADMIN_API, RATE_LIMITED, UNAVAILABLE]);
                if path.contains('{') || has_query(operation) || operation.request_body.is_some() {
                    shared.push(BAD_REQUEST);
                }
                if operation.request_body.is_some() {
                    shared.extend([TOO_LARGE, NOT_JSON]);
                }
            } else {
                shared.push(OVERLOADED);
            }
            for s in shared {
                operation
                    .responses
                    .responses
                    .entry(s.status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(s.name)));
            }
        }
    }
}

fn has_query(operation: &Operation) -> bool {
    operation.parameters.as_ref().is_some_and(|ps| {
        ps.iter().any(|p| match p {
            RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Query),
            RefOr::Ref(_) => true,
        })
    })
}

fn response(shared: &Shared) -> Response {
    let builder = ResponseBuilder::new()
        .description(shared.description)
        .content("application/json", error_body());
    if shared.status == "503" {
        builder
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait (load shedding only)"))
                    .build(),
            )
            .build()
    } else {
        builder.build()
    }
}

/// The service's error body (`ErrorBody`).
pub(crate) fn error_body() -> Content {
    Content::new(Some(Ref::from_schema_name("ErrorBody")))
}
