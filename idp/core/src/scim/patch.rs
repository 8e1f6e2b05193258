//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource as SCIM JSON: `add`, `replace` and
//! `remove`, with or without a path (`attr`, `attr.sub`, `urn:…:attr`, `attr[filter]`,
//! `attr[filter].sub`). The caller checks the result against its schema (what may be written,
//! what is read-only) before anything is stored; a PATCH is all or nothing.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::filter::{self, AttrPath, PatchPath};

/// At most this many operations in one request.
pub const MAX_OPERATIONS: usize = 100;

/// The PatchOp message's schema.
pub const SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Deserialize)]
pub struct PatchRequest {
    pub schemas: Vec<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

/// Why a PATCH is refused, as SCIM names it (`scimType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("invalidSyntax: {0}")]
    Syntax(String),
    #[error("invalidPath: {0}")]
    Path(String),
    #[error("noTarget: {0}")]
    NoTarget(String),
    #[error("invalidValue: {0}")]
    Value(String),
}

impl PatchError {
    /// The SCIM `scimType`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            PatchError::Syntax(_) => "invalidSyntax",
            PatchError::Path(_) => "invalidPath",
            PatchError::NoTarget(_) => "noTarget",
            PatchError::Value(_) => "invalidValue",
        }
    }
}

/// The object holding `path`'s attribute (its extension's object for a URN), made if `create`.
fn holder<'v>(resource: &'v mut Value, path: &AttrPath, create: bool) -> Option<&'v mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    let Some(urn) = &path.urn else { return Some(root) };
    if urn.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:") {
        return Some(root);
    }
    let key = root.keys().find(|k| k.eq_ignore_ascii_case(urn)).cloned().unwrap_or_else(|| urn.clone());
    if !root.contains_key(&key) {
        if !create {
            return None;
        }
        root.insert(key.clone(), Value::Object(Map::new()));
    }
    root.get_mut(&key)?.as_object_mut()
}

/// The key under which `name` is in `object` (case-insensitively), or `name` itself.
fn key_of(object: &Map<String, Value>, name: &str) -> String {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

/// Merges `value` into `target`: objects attribute by attribute, arrays appended (without
/// adding a value twice), anything else replaced.
fn merge(target: &mut Value, value: Value, replace: bool) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, v) in v {
                let key = key_of(t, &k);
                match t.get_mut(&key) {
                    Some(existing) => merge(existing, v, replace),
                    None => {
                        t.insert(key, v);
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(v)) if !replace => {
            for item in v {
                if !t.contains(&item) {
                    t.push(item);
                }
            }
        }
        (t, v) => *t = v,
    }
}

/// Applies `op` to `resource`.
fn apply_one(resource: &mut Value, op: &Operation) -> Result<(), PatchError> {
    let kind = op.op.to_ascii_lowercase();
    if !matches!(kind.as_str(), "add" | "replace" | "remove") {
        return Err(PatchError::Syntax(format!("{:?} is not an operation", op.op)));
    }
    let Some(path_text) = op.path.as_deref() else {
        // no path: the value is an object of attributes to add or replace
        return match (kind.as_str(), op.value.clone()) {
            ("remove", _) => Err(PatchError::NoTarget("remove needs a path".into())),
            (_, Some(v @ Value::Object(_))) => {
                merge(resource, v, kind == "replace");
                Ok(())
            }
            _ => Err(PatchError::Value("without a path the value is an object".into())),
        };
    };
    let PatchPath { attr, filter: value_filter, sub } =
        filter::parse_patch_path(path_text).map_err(|e| PatchError::Path(e.0))?;
    let value = op.value.clone();
    if kind != "remove" && value.is_none() {
        return Err(PatchError::Value(format!("{} needs a value", op.op)));
    }
    let Some(object) = holder(resource, &attr, kind != "remove") else {
        return if kind == "remove" { Ok(()) } else { Err(PatchError::Path(path_text.into())) };
    };
    let key = key_of(object, &attr.attr);
    match (value_filter, &attr.sub) {
        // attr or attr.sub
        (None, sub_attr) => {
            let (container, name) = match sub_attr {
                Some(s) => {
                    if !object.contains_key(&key) {
                        if kind == "remove" {
                            return Ok(());
                        }
                        object.insert(key.clone(), Value::Object(Map::new()));
                    }
                    let inner = object
                        .get_mut(&key)
                        .and_then(Value::as_object_mut)
                        .ok_or_else(|| PatchError::Path(format!("{} has no sub-attributes", attr.attr)))?;
                    let k = key_of(inner, s);
                    (inner, k)
                }
                None => (object, key),
            };
            match (kind.as_str(), value) {
                ("remove", _) => {
                    container.remove(&name);
                }
                ("add", Some(v)) => match container.get_mut(&name) {
                    Some(existing) => merge(existing, v, false),
                    None => {
                        container.insert(name, v);
                    }
                },
                (_, Some(v)) => {
                    container.insert(name, v);
                }
                _ => {}
            }
            Ok(())
        }
        // attr[filter] or attr[filter].sub: the values of a multi-valued attribute
        (Some(f), _) => {
            let Some(Value::Array(items)) = object.get_mut(&key) else {
                return Err(PatchError::NoTarget(format!("{} has no values", attr.attr)));
            };
            let hits: Vec<usize> = (0..items.len()).filter(|i| filter::matches(&f, &items[*i])).collect();
            if hits.is_empty() {
                return Err(PatchError::NoTarget(format!("no value of {} matches", attr.attr)));
            }
            match (kind.as_str(), sub, value) {
                ("remove", None, _) => {
                    for i in hits.into_iter().rev() {
                        items.remove(i);
                    }
                }
                ("remove", Some(s), _) => {
                    for i in hits {
                        if let Some(o) = items[i].as_object_mut() {
                            let k = key_of(o, &s);
                            o.remove(&k);
                        }
                    }
                }
                (_, None, Some(v)) => {
                    for i in hits {
                        merge(&mut items[i], v.clone(), kind == "replace");
                    }
                }
                (_, Some(s), Some(v)) => {
                    for i in hits {
                        if let Some(o) = items[i].as_object_mut() {
                            let k = key_of(o, &s);
                            o.insert(k, v.clone());
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
    }
}

/// Applies a PATCH request to `resource` (a copy of it: the caller keeps the original when this
/// fails).
pub fn apply(resource: &Value, request: &PatchRequest) -> Result<Value, PatchError> {
    if !request.schemas.iter().any(|s| s == SCHEMA) {
        return Err(PatchError::Syntax(format!("schemas must name {SCHEMA}")));
    }
    if request.operations.is_empty() || request.operations.len() > MAX_OPERATIONS {
        return Err(PatchError::Syntax(format!("1-{MAX_OPERATIONS} operations")));
    }
    let mut out = resource.clone();
    for op in &request.operations {
        apply_one(&mut out, op)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(ops: Value) -> PatchRequest {
        serde_json::from_value(json!({"schemas": [SCHEMA], "Operations": ops})).unwrap()
    }

    fn user() -> Value {
        json!({
            "userName": "bjensen",
            "active": true,
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "b@example.com", "type": "work"}, {"value": "b@home.org", "type": "home"}],
        })
    }

    #[test]
    fn operations_with_and_without_paths() {
        let r =
            apply(&user(), &request(json!([{"op": "Replace", "path": "active", "value": false}]))).unwrap();
        assert_eq!(r["active"], false);
        let r = apply(
            &user(),
            &request(
                json!([{"op": "replace", "value": {"active": false, "name": {"familyName": "Jensen"}}}]),
            ),
        )
        .unwrap();
        assert_eq!(
            (r["active"].clone(), r["name"]["givenName"].clone()),
            (json!(false), json!("Barbara")),
            "{r}"
        );
        let r =
            apply(&user(), &request(json!([{"op": "add", "path": "name.familyName", "value": "Jensen"}])))
                .unwrap();
        assert_eq!(r["name"], json!({"givenName": "Barbara", "familyName": "Jensen"}));
        let r =
            apply(&user(), &request(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]))).unwrap();
        assert_eq!(r["emails"], json!([{"value": "b@example.com", "type": "work"}]));
        let r = apply(&user(), &request(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}])))
            .unwrap();
        assert_eq!(r["emails"][0]["value"], "new@example.com");
        let r = apply(
            &user(),
            &request(json!([{"op": "add", "path": "emails", "value": [{"value": "x@y.cn"}]}])),
        )
        .unwrap();
        assert_eq!(r["emails"].as_array().unwrap().len(), 3, "added to the values");
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let r = apply(
            &user(),
            &request(json!([{"op": "add", "path": format!("{ext}:department"), "value": "财政厅"}])),
        )
        .unwrap();
        assert_eq!(r[ext]["department"], "财政厅");
        let r = apply(&user(), &request(json!([{"op": "remove", "path": "name"}]))).unwrap();
        assert!(r.get("name").is_none());
    }

    #[test]
    fn bad_requests_are_refused_whole() {
        let bad = |ops: Value| apply(&user(), &request(ops)).unwrap_err().scim_type();
        assert_eq!(bad(json!([{"op": "move", "path": "active"}])), "invalidSyntax");
        assert_eq!(bad(json!([{"op": "replace", "path": "emails[type eq", "value": 1}])), "invalidPath");
        assert_eq!(bad(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}])), "noTarget");
        assert_eq!(bad(json!([{"op": "remove"}])), "noTarget");
        assert_eq!(bad(json!([{"op": "add", "path": "active"}])), "invalidValue");
        assert_eq!(bad(json!([{"op": "replace", "value": 3}])), "invalidValue");
        let wrong: PatchRequest =
            serde_json::from_value(json!({"schemas": ["x"], "Operations": [{"op": "add"}]})).unwrap();
        assert_eq!(apply(&user(), &wrong).unwrap_err().scim_type(), "invalidSyntax");
        assert_eq!(bad(json!([])), "invalidSyntax");
    }
}
