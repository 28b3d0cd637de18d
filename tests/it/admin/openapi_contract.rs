//! `GET /openapi.json` is a contract client generators accept: a standard validator (PyPI
//! `openapi-spec-validator`, pinned in `scripts/setup`) passes it, every response says when it
//! happens, and every error answer has the service's error body.

use super::{admin_app, openapi_json};
use crate::helpers::Engine;
use crate::testservers::{temp_dir, venv_program};
use serde_json::Value;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_passes_a_standard_validator() {
    let app = admin_app(Engine::Sqlite).await;
    let text = openapi_json(&app).await;
    app.shutdown().await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );

    let file = temp_dir("openapi").join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let validator = venv_program(
        "CALLSAGA_OPENAPI_VENV",
        ".venv-openapi",
        "openapi-spec-validator",
        "openapi-spec-validator",
    );
    let out = Command::new(validator)
        .args(["--schema", "3.1", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator refuses {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // What the validator does not require: a description that says something, and the error
    // body on every error answer (inline or through a shared response).
    let shared = &doc["components"]["responses"];
    let mut errors = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let at = format!("{method} {path} {status}");
                let response = match response["$ref"].as_str() {
                    Some(r) => {
                        let name = r.strip_prefix("#/components/responses/");
                        &shared[name.unwrap_or_else(|| panic!("{at}: {r}"))]
                    }
                    None => response,
                };
                let description = response["description"].as_str().unwrap_or_default();
                assert!(!description.trim().is_empty(), "{at}: no description");
                if status.starts_with(['4', '5']) {
                    errors += 1;
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{at}: the error body"
                    );
                }
            }
        }
    }
    assert!(
        errors > 100,
        "the shared error answers are referenced: {errors}"
    );
    let call_detail = &doc["paths"]["/admin/v1/calls/{vapi_call_id}"]["get"]["responses"];
    for status in ["400", "401", "404", "429", "500", "503"] {
        assert!(call_detail[status].is_object(), "call detail {status}");
    }
    let create_user = &doc["paths"]["/admin/v1/users"]["post"]["responses"];
    for status in ["400", "409", "413", "415", "422"] {
        assert!(create_user[status].is_object(), "create user {status}");
    }
}
