//! The OpenAPI document as a contract. `utoipa` writes what each handler declares; the
//! answers every route shares are added here, in one place, so no operation can forget
//! one: errors are RFC 9457 `application/problem+json`; every operation may answer 401,
//! 403, 404 (missing and refused look alike) and 429 (limits and the anomaly
//! detector); operations that take input may answer 400, and those with a body 413 and
//! 415. The list parameters every collection shares are given the bounds the server
//! enforces (`limit` 1–100, a non-empty `cursor`). Checked by `schemathesis` against the
//! served document in CI.

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Answers an operation may give in any case, with why.
const EVERYWHERE: [(&str, &str); 4] = [
    ("401", "not signed in, or the credential is not valid"),
    ("403", "not allowed, or a step-up or second factor is owed"),
    (
        "404",
        "not found, or not visible to the caller (the two look alike)",
    ),
    ("429", "too many requests; `Retry-After` says when to try again"),
];

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 100;

fn problem() -> Value {
    json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } })
}

fn ensure(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status.to_owned())
        .or_insert_with(|| json!({ "description": description }));
}

/// The largest page of the audit trail.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// The list parameters' bounds, as the server checks them ([`page_limit`]).
fn bound_parameters(path: &str, operation: &mut Value) {
    let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    let max = if path == "/api/v1/audit" {
        MAX_AUDIT_PAGE
    } else {
        MAX_PAGE
    };
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let schema = match name.as_str() {
            "limit" => json!({ "type": "integer", "minimum": 1, "maximum": max }),
            "cursor" => json!({ "type": "string", "pattern": palisade_store::CURSOR_PATTERN }),
            _ => continue,
        };
        parameter["schema"] = schema;
    }
}

/// The page size asked for, `default` when absent; outside 1..=`max` is refused, as the
/// document says.
pub fn page_limit<T>(limit: Option<T>, default: u32, max: u32) -> Result<u32, crate::AppError>
where
    T: TryInto<u32> + Copy,
{
    let Some(limit) = limit else {
        return Ok(default);
    };
    match limit.try_into() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(crate::AppError::BadRequest(format!("limit must be 1 to {max}"))),
    }
}

/// Adds the shared answers to every operation of `doc` (a serialised OpenAPI 3.1
/// document) and declares every error as problem+json.
pub fn complete(mut doc: Value) -> Value {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            bound_parameters(path, operation);
            let takes_input = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            let has_body = operation.get("requestBody").is_some();
            let responses = operation
                .as_object_mut()
                .map(|o| o.entry("responses").or_insert_with(|| json!({})));
            let Some(responses) = responses.and_then(Value::as_object_mut) else {
                continue;
            };
            for (status, description) in EVERYWHERE {
                ensure(responses, status, description);
            }
            if takes_input || has_body {
                ensure(
                    responses,
                    "400",
                    "the input is not valid; `detail` says what to fix",
                );
            }
            if has_body {
                ensure(responses, "413", "the body is larger than allowed");
                ensure(responses, "415", "the body is not of the declared content type");
            }
            for (status, response) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    response["content"] = problem();
                }
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_declares_the_shared_answers_as_problem_json() {
        let doc = complete(json!({
            "paths": {
                "/x/{id}": {
                    "get": {
                        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "ok"}, "404": {"description": "gone", "content": {"application/json": {}}}}
                    },
                    "post": {"requestBody": {}, "responses": {"201": {"description": "made"}}}
                }
            }
        }));
        let get = &doc["paths"]["/x/{id}"]["get"];
        for status in ["400", "401", "403", "404", "429"] {
            assert!(
                get["responses"][status]["content"]["application/problem+json"].is_object(),
                "{status}"
            );
        }
        assert_eq!(
            get["responses"]["404"]["description"], "gone",
            "what a handler said is kept"
        );
        assert!(get["responses"]["200"].get("content").is_none());
        assert_eq!(get["parameters"][0]["schema"]["minimum"], 1);
        let post = &doc["paths"]["/x/{id}"]["post"];
        for status in ["400", "413", "415"] {
            assert!(post["responses"][status].is_object(), "{status}");
        }
    }
}
