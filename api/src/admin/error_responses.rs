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

const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "Unauthorized",
    description: "No `Authorization: Bearer <admin.token>` header, or a wrong token \
                  (`unauthorized`)",
};
const NO_ADMIN_API: Shared = Shared {
    status: "404",
    name: "NoAdminApi",
    description: "No admin API: `admin.token` is not configured (`not_found`)",
};
const RATE_LIMITED: Shared = Shared {
    status: "429",
    name: "RateLimited",
    description: "This client's rate limit is exceeded; slow down (`too_many_requests`)",
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description: "Too many requests of this kind in progress (`overloaded`, with `Retry-After`), \
                  or the database is unavailable (`unavailable`); retry later",
};
const OVERLOADED: Shared = Shared {
    status: "503",
    name: "Overloaded",
    description: "Too many requests of this kind in progress; retry after `Retry-After` \
                  seconds (`overloaded`)",
};
const INTERNAL: Shared = Shared {
    status: "500",
    name: "Internal",
    description: "An unexpected failure; the body is generic and the detail is logged \
                  (`internal`)",
};
const BAD_REQUEST: Shared = Shared {
    status: "400",
    name: "BadRequest",
    description: "A malformed request: a query string, path id (not a UUID) or body (not \
                  JSON) that cannot be read, or data the database refuses for good; the \
                  message says what (`bad_request`)",
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than the limit (`payload_too_large`)",
};
const NOT_JSON: Shared = Shared {
    status: "415",
    name: "UnsupportedMediaType",
    description: "The body is not `application/json` (`unsupported_media_type`)",
};

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
