//! SCIM Bulk (RFC 7644 §3.7): up to [`MAX_OPERATIONS`] operations in order, each carried out as
//! its single request would be (`super::dispatch`), each answered on its own; `bulkId:…`
//! references name resources an earlier POST of the same request made; `failOnErrors` stops
//! after that many failures. Operations are not one transaction: those carried out stay.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use idp_core::scim::schema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Kind, Outcome, Result, Scim, ScimError, dispatch};

pub const MAX_OPERATIONS: usize = 100;

#[derive(Deserialize)]
struct Request {
    schemas: Vec<String>,
    #[serde(rename = "failOnErrors", default)]
    fail_on_errors: Option<usize>,
    #[serde(rename = "Operations")]
    operations: Vec<Operation>,
}

#[derive(Deserialize)]
struct Operation {
    method: String,
    #[serde(rename = "bulkId", default)]
    bulk_id: Option<String>,
    #[serde(default)]
    version: Option<String>,
    path: String,
    #[serde(default)]
    data: Option<Value>,
}

/// `bulkId:x` as the id an earlier POST made, else the text itself.
fn resolve(text: &str, ids: &HashMap<String, String>) -> Result<String> {
    match text.strip_prefix("bulkId:") {
        None => Ok(text.to_string()),
        Some(b) => ids.get(b).cloned().ok_or_else(|| {
            ScimError::new(
                StatusCode::CONFLICT,
                Some("invalidValue"),
                format!("bulkId:{b} names no resource an earlier operation of this request made."),
            )
        }),
    }
}

/// Whether a PATCH path (or an attribute name) is where references live: a group's members,
/// a user's manager.
fn refers(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let name = name.rsplit(':').next().unwrap_or(&name);
    name.starts_with("members") || name.starts_with("manager")
}

/// Resolves `bulkId:` references where RFC 7644 §3.7.2 puts them: the `value` of a group's
/// member or a user's manager, in a resource or in a PATCH operation on those; any other text
/// beginning with `bulkId:` stays as written.
fn resolve_all(v: Value, ids: &HashMap<String, String>, inside: bool) -> Result<Value> {
    Ok(match v {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|i| resolve_all(i, ids, inside)).collect::<Result<_>>()?)
        }
        Value::Object(o) => {
            let path_refers = o.get("path").and_then(Value::as_str).is_some_and(refers);
            Value::Object(
                o.into_iter()
                    .map(|(k, v)| {
                        let here = if k == "value" { inside || path_refers } else { inside || refers(&k) };
                        let v = match v {
                            Value::String(t) if k == "value" && here => Value::String(resolve(&t, ids)?),
                            other @ Value::String(_) => other,
                            other => resolve_all(other, ids, here)?,
                        };
                        Ok((k, v))
                    })
                    .collect::<Result<_>>()?,
            )
        }
        other => other,
    })
}

async fn one(s: &Scim, op: &Operation, method: &Method, ids: &HashMap<String, String>) -> Result<Outcome> {
    let bad_path =
        || ScimError::bad("invalidPath", format!("{:?} is not /Users, /Groups or one of theirs.", op.path));
    let rest = op.path.trim().strip_prefix('/').ok_or_else(bad_path)?;
    let (endpoint, id) = match rest.split_once('/') {
        Some((e, id)) if !id.is_empty() && !id.contains('/') => (e, Some(resolve(id, ids)?)),
        Some(_) => return Err(bad_path()),
        None => (rest, None),
    };
    let kind = Kind::of(endpoint).ok_or_else(bad_path)?;
    if *method == Method::POST && op.bulk_id.as_deref().is_none_or(str::is_empty) {
        return Err(ScimError::bad("invalidSyntax", "A POST in a bulk request needs its bulkId."));
    }
    let data = op.data.clone().map(|d| resolve_all(d, ids, false)).transpose()?;
    dispatch(s, method, kind, id.as_deref(), data, op.version.as_deref()).await
}

pub async fn run(s: &Scim, body: Value) -> Result<Value> {
    let req: Request = serde_json::from_value(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("Not a BulkRequest: {e}")))?;
    if !req.schemas.iter().any(|x| x == schema::BULK_REQUEST) {
        return Err(ScimError::bad("invalidValue", format!("schemas must list {}", schema::BULK_REQUEST)));
    }
    if req.operations.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("A bulk request has at most {MAX_OPERATIONS} operations."),
        ));
    }
    let mut ids = HashMap::new();
    let mut answers = vec![];
    let mut errors = 0;
    for op in &req.operations {
        if req.fail_on_errors.is_some_and(|n| n > 0 && errors >= n) {
            break;
        }
        let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::OPTIONS);
        let mut answer = json!({"method": op.method});
        if let Some(b) = &op.bulk_id {
            answer["bulkId"] = json!(b);
        }
        match one(s, op, &method, &ids).await {
            Ok(out) => {
                if let (Some(b), Some(id)) =
                    (&op.bulk_id, out.body.as_ref().and_then(|v| v.get("id")?.as_str()))
                    && method == Method::POST
                {
                    ids.insert(b.clone(), id.to_string());
                }
                let location =
                    out.location().map(str::to_string).unwrap_or_else(|| format!("{}{}", s.base, op.path));
                answer["location"] = json!(location);
                if let Some(v) = out.version() {
                    answer["version"] = json!(v);
                }
                answer["status"] = json!(out.status.as_str());
            }
            Err(e) => {
                errors += 1;
                answer["status"] = json!(e.status.as_str());
                answer["response"] = e.json();
            }
        }
        answers.push(answer);
    }
    Ok(json!({"schemas": [schema::BULK_RESPONSE], "Operations": answers}))
}
