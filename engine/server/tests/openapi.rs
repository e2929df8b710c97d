//! The OpenAPI document (engine/server/openapi.json, served at
//! /api/openapi.json) describes exactly the routes of [`ROUTES`], and is
//! whole: every `$ref` resolves, every operation says what it does, how it
//! succeeds and, unless public, that it needs a login.

use serde_json::Value;
use sparring_server::{OPENAPI, ROUTES};
use std::collections::BTreeSet;

/// The operations anyone may call without logging in.
const PUBLIC: &[(&str, &str)] = &[
    ("post", "/api/login"),
    ("get", "/healthz"),
    ("get", "/api/openapi.json"),
];

/// The keys of a path item that are operations.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (method, op) in item {
            if METHODS.contains(&method.as_str()) {
                ops.push((method.clone(), path.clone(), op));
            }
        }
    }
    ops
}

/// Every `$ref` in `v`, with where it is (a JSON pointer).
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push((at.clone(), r.as_str())),
                    _ => refs(x, format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (n, x) in items.iter().enumerate() {
                refs(x, format!("{at}/{n}"), out);
            }
        }
        _ => {}
    }
}

/// `v` with `$ref`s to components followed (one level is all the document uses
/// for parameters and responses).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("a local $ref"))
            .unwrap_or_else(|| panic!("$ref {r} does not resolve")),
        None => v,
    }
}

#[test]
fn document_is_openapi_3_1_with_title_and_version() {
    let doc = doc();
    let version = doc["openapi"].as_str().expect("openapi is a string");
    assert!(
        version.starts_with("3.1."),
        "openapi is {version}, not 3.1.x"
    );
    let title = doc["info"]["title"].as_str().unwrap_or_default();
    assert!(!title.trim().is_empty(), "info.title is missing");
    let v = doc["info"]["version"].as_str().unwrap_or_default();
    assert!(!v.trim().is_empty(), "info.version is missing");
    assert!(
        doc["components"]["schemas"]["Error"].is_object(),
        "no Error schema"
    );
}

#[test]
fn document_has_exactly_the_routes() {
    let doc = doc();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(routes.len(), ROUTES.len(), "ROUTES lists a route twice");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes not in openapi.json: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "operations in openapi.json that are not routes: {extra:?}"
    );
}

#[test]
fn every_ref_resolves() {
    let doc = doc();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(!found.is_empty(), "the document uses no $ref at all");
    let broken: Vec<String> = found
        .iter()
        .filter(|(_, r)| {
            !r.starts_with("#/components/")
                || doc.pointer(r.strip_prefix('#').unwrap_or(*r)).is_none()
        })
        .map(|(at, r)| format!("{at}: {r}"))
        .collect();
    assert!(
        broken.is_empty(),
        "$refs that do not resolve to a component: {broken:#?}"
    );
}

#[test]
fn every_security_requirement_names_a_scheme() {
    let doc = doc();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("components.securitySchemes");
    let cookie = schemes
        .values()
        .find(|s| s["type"] == "apiKey" && s["in"] == "cookie")
        .expect("a cookie security scheme");
    assert_eq!(cookie["name"], "sparring_session");
    assert!(
        schemes
            .values()
            .any(|s| s["type"] == "http" && s["scheme"] == "bearer"),
        "a bearer security scheme"
    );
    let mut requirements: Vec<&Value> = doc["security"].as_array().into_iter().flatten().collect();
    for (_, _, op) in operations(&doc) {
        requirements.extend(op["security"].as_array().into_iter().flatten());
    }
    for req in requirements {
        for name in req
            .as_object()
            .expect("a security requirement is an object")
            .keys()
        {
            assert!(schemes.contains_key(name), "unknown security scheme {name}");
        }
    }
}

#[test]
fn every_operation_has_a_summary_a_success_and_a_401_unless_public() {
    let doc = doc();
    for (method, path, op) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(!summary.trim().is_empty(), "{name}: no summary");
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no responses"));
        assert!(
            responses.keys().any(|c| c.len() == 3 && c.starts_with('2')),
            "{name}: no 2xx response"
        );
        let public = PUBLIC.iter().any(|(m, p)| *m == method && *p == path);
        if public {
            assert_eq!(
                op["security"],
                serde_json::json!([]),
                "{name} is public: security must be []"
            );
        } else {
            assert!(responses.contains_key("401"), "{name}: no 401 response");
        }
        // Error responses carry the Error body.
        for (code, r) in responses {
            if code.starts_with('4') {
                let r = deref(&doc, r);
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/Error",
                    "{name}: the {code} response is not the Error schema"
                );
            }
        }
        // Every {param} of the path is declared.
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| deref(&doc, p))
            .collect();
        for seg in path
            .split('/')
            .filter(|s| s.starts_with('{') && s.ends_with('}'))
        {
            let want = &seg[1..seg.len() - 1];
            assert!(
                params
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == want),
                "{name}: path parameter {want} is not declared"
            );
        }
    }
}

#[test]
fn streaming_and_upload_media_types_are_described() {
    let doc = doc();
    let turn = &doc["paths"]["/api/sessions/{id}/turns"]["post"]["responses"]["200"]["content"];
    let sse = turn["text/event-stream"]["schema"]["description"]
        .as_str()
        .expect("POST /api/sessions/{id}/turns answers text/event-stream");
    for event in [
        "scored", "state", "attempt", "delta", "rejected", "line", "done", "error",
    ] {
        assert!(
            sse.contains(&format!("`{event}`")),
            "the SSE description misses the {event} event"
        );
    }
    let upload = &doc["paths"]["/api/batches"]["post"]["requestBody"]["content"];
    assert!(
        upload["application/x-ndjson"].is_object(),
        "POST /api/batches takes application/x-ndjson"
    );
    for media in ["text/plain", "text/csv", "multipart/form-data"] {
        assert!(upload[media].is_object(), "POST /api/batches takes {media}");
    }
}
