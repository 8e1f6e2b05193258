//! SCIM schemas (RFC 7643 §4, §8.7): the attributes this service provider keeps for Users (the
//! core schema and the enterprise extension) and Groups, described once and used three ways:
//! the `/Schemas` answer ([`Schema::to_json`]), checking what a client writes ([`clean`]), and
//! choosing what an answer carries ([`project`]).
//!
//! Attributes not described here (`addresses`, `photos`, `x509Certificates`, …) are ignored
//! when written (RFC 7644 §3.3 leaves unsupported attributes to the service provider), so a
//! client never reads back more than the schemas declare.

use serde_json::{Map, Value, json};

use super::filter::{self, AttrPath};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The longest string value kept (an HR record's field, not a document).
pub const MAX_STRING: usize = 1024;
/// The most values a multi-valued attribute may have (a group's members: [`MAX_MEMBERS`]).
pub const MAX_VALUES: usize = 50;
/// The most members a group may have (a department's staff; the body limit bounds it too).
pub const MAX_MEMBERS: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Complex,
    Reference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
    Never,
}

/// One attribute of a schema (RFC 7643 §7).
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// Unique in the tenant (`server`), else `none`.
    pub unique: bool,
    pub description: &'static str,
    pub subs: &'static [Attr],
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
}

const fn attr(name: &'static str, ty: Type, description: &'static str) -> Attr {
    Attr {
        name,
        ty,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        description,
        subs: &[],
        canonical: &[],
        reference_types: &[],
    }
}

const fn s(name: &'static str, description: &'static str) -> Attr {
    attr(name, Type::String, description)
}

impl Attr {
    const fn multi(self) -> Self {
        Attr { multi: true, ..self }
    }
    const fn required(self) -> Self {
        Attr { required: true, ..self }
    }
    const fn exact(self) -> Self {
        Attr { case_exact: true, ..self }
    }
    const fn mutability(self, mutability: Mutability) -> Self {
        Attr { mutability, ..self }
    }
    const fn returned(self, returned: Returned) -> Self {
        Attr { returned, ..self }
    }
    const fn unique(self) -> Self {
        Attr { unique: true, ..self }
    }
    const fn subs(self, subs: &'static [Attr]) -> Self {
        Attr { ty: Type::Complex, subs, ..self }
    }
    const fn canonical(self, canonical: &'static [&'static str]) -> Self {
        Attr { canonical, ..self }
    }
    const fn refs(self, reference_types: &'static [&'static str]) -> Self {
        Attr { ty: Type::Reference, reference_types, ..self }
    }

    fn to_json(&self) -> Value {
        let mut a = json!({
            "name": self.name,
            "type": match self.ty {
                Type::String => "string",
                Type::Boolean => "boolean",
                Type::Complex => "complex",
                Type::Reference => "reference",
            },
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            },
            "returned": match self.returned {
                Returned::Always => "always",
                Returned::Default => "default",
                Returned::Never => "never",
            },
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.subs.is_empty() {
            a["subAttributes"] = self.subs.iter().map(Attr::to_json).collect();
        }
        if !self.canonical.is_empty() {
            a["canonicalValues"] = json!(self.canonical);
        }
        if !self.reference_types.is_empty() {
            a["referenceTypes"] = json!(self.reference_types);
        }
        a
    }
}

/// A schema: its URN and attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attr],
}

impl Schema {
    /// The schema as `/Schemas` describes it (RFC 7643 §7), with its location under `base`.
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attr::to_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", self.id)},
        })
    }

    fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

const KINDS: &[&str] = &["work", "home", "other"];

/// `emails`, `phoneNumbers`: a value, its kind and whether it is the primary one.
const TYPED: [Attr; 4] = [
    s("value", "The value."),
    s("display", "A human-readable name of the value."),
    s("type", "The kind of value.").canonical(KINDS),
    attr("primary", Type::Boolean, "Whether this is the primary value."),
];

const ROLE: [Attr; 4] = [
    s("value", "The role's name, as the HR system calls it; the client's mapping decides what it grants."),
    s("display", "A human-readable name of the role."),
    s("type", "A label of the role's function."),
    attr("primary", Type::Boolean, "Whether this is the primary role."),
];

const GROUP_REF: [Attr; 4] = [
    s("value", "The group's id.").exact().mutability(Mutability::ReadOnly),
    s("$ref", "The group's URI.").refs(&["Group"]).mutability(Mutability::ReadOnly),
    s("display", "The group's name.").mutability(Mutability::ReadOnly),
    s("type", "How the user is in the group: direct.")
        .canonical(&["direct"])
        .mutability(Mutability::ReadOnly),
];

const NAME: [Attr; 6] = [
    s("formatted", "The full name, as it is displayed."),
    s("familyName", "The family name (姓)."),
    s("givenName", "The given name (名)."),
    s("middleName", "The middle name(s)."),
    s("honorificPrefix", "The honorific prefix."),
    s("honorificSuffix", "The honorific suffix."),
];

static USER_ATTRS: [Attr; 15] = [
    s("userName", "The account's username here (kept in lower case): unique in the tenant.")
        .required()
        .unique(),
    s("name", "The person's name; `formatted` (or family and given name) becomes the account's name.")
        .subs(&NAME),
    s("displayName", "The name as displayed."),
    s("nickName", "A casual name."),
    s("title", "The job title."),
    s("userType", "The kind of user (e.g. Employee, Contractor)."),
    s("preferredLanguage", "The preferred written or spoken language (RFC 7231 Accept-Language)."),
    s("locale", "The default location for localising dates, numbers and currency."),
    s("timezone", "The time zone (IANA name)."),
    attr(
        "active",
        Type::Boolean,
        "Whether the account may sign in: false disables it and ends its sessions.",
    ),
    s("password", "A first password, checked against the tenant's rules; never returned.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
    s("emails", "Email addresses; the primary (or first) becomes the account's, unverified.")
        .multi()
        .subs(&TYPED),
    s("phoneNumbers", "Phone numbers, kept as HR data: they do not become a way to sign in.")
        .multi()
        .subs(&TYPED),
    s("groups", "The groups (departments) the user is a staff member of.")
        .multi()
        .subs(&GROUP_REF)
        .mutability(Mutability::ReadOnly),
    s("roles", "The user's roles; staff memberships carry the roles the client's mapping gives them.")
        .multi()
        .subs(&ROLE),
];

const MANAGER: [Attr; 3] = [
    s("value", "The manager's id.").exact(),
    s("$ref", "The manager's URI.").refs(&["User"]),
    s("displayName", "The manager's name.").mutability(Mutability::ReadOnly),
];

static ENTERPRISE_ATTRS: [Attr; 6] = [
    s("employeeNumber", "The employee number."),
    s("costCenter", "The cost centre."),
    s("organization", "The organisation."),
    s("division", "The division."),
    s("department", "The department."),
    s("manager", "The user's manager.").subs(&MANAGER),
];

const MEMBER: [Attr; 4] = [
    s("value", "The member's id (a User provisioned by the same client).")
        .exact()
        .mutability(Mutability::Immutable),
    s("$ref", "The member's URI.").refs(&["User"]).mutability(Mutability::Immutable),
    s("display", "The member's username.").mutability(Mutability::ReadOnly),
    s("type", "The member's kind: User.").canonical(&["User"]).mutability(Mutability::Immutable),
];

static GROUP_ATTRS: [Attr; 2] = [
    s("displayName", "The department's name.").required(),
    s("members", "The staff of the department.").multi().subs(&MEMBER),
];

pub static USER_SCHEMA: Schema =
    Schema { id: USER, name: "User", description: "User Account", attributes: &USER_ATTRS };
pub static ENTERPRISE_SCHEMA: Schema = Schema {
    id: ENTERPRISE,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &ENTERPRISE_ATTRS,
};
pub static GROUP_SCHEMA: Schema =
    Schema { id: GROUP, name: "Group", description: "Group (a department)", attributes: &GROUP_ATTRS };

/// A resource type (RFC 7643 §6): its core schema and extensions.
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static Schema,
    pub extensions: &'static [&'static Schema],
}

pub static USERS: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    description: "Staff accounts",
    schema: &USER_SCHEMA,
    extensions: &[&ENTERPRISE_SCHEMA],
};
pub static GROUPS: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    description: "Departments",
    schema: &GROUP_SCHEMA,
    extensions: &[],
};

/// Every schema, for `/Schemas`.
pub fn all() -> [&'static Schema; 3] {
    [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA]
}

impl ResourceType {
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter().map(|e| json!({"schema": e.id, "required": false})).collect::<Vec<_>>(),
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", self.name)},
        })
    }

    fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions.iter().copied().find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// The attribute `path` names (`None` for `id`, `externalId`, `meta` and unknown names).
    pub fn attr_of(&self, path: &AttrPath) -> Option<&'static Attr> {
        let schema = match &path.urn {
            Some(u) if u.eq_ignore_ascii_case(self.schema.id) => self.schema,
            Some(u) => self.extension(u)?,
            None => self.schema,
        };
        let a = schema.attr(&path.attr)?;
        match &path.sub {
            Some(sub) => a.subs.iter().find(|x| x.name.eq_ignore_ascii_case(sub)),
            None => Some(a),
        }
    }
}

/// Why what a client wrote is refused: SCIM's `scimType` and a detail in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scim_type}: {detail}")]
pub struct Invalid {
    pub scim_type: &'static str,
    pub detail: String,
}

fn invalid<T>(detail: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid { scim_type: "invalidValue", detail: detail.into() })
}

fn clean_scalar(a: &Attr, v: &Value, at: &str) -> Result<Value, Invalid> {
    match (a.ty, v) {
        (Type::Boolean, Value::Bool(_)) => Ok(v.clone()),
        // some HR systems write booleans as strings ("True", "false")
        (Type::Boolean, Value::String(t)) if t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        (Type::Boolean, Value::String(t)) if t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        (Type::Boolean, _) => invalid(format!("{at} is a boolean")),
        (Type::String | Type::Reference, Value::String(t)) => {
            if t.chars().count() > MAX_STRING {
                return invalid(format!("{at} is longer than {MAX_STRING} characters"));
            }
            if t.chars().any(crate::profile::invisible) {
                return invalid(format!("{at} holds control characters"));
            }
            Ok(v.clone())
        }
        (Type::String | Type::Reference, _) => invalid(format!("{at} is a string")),
        (Type::Complex, Value::Object(o)) => {
            let mut out = Map::new();
            for (k, v) in o {
                let Some(sub) = a.subs.iter().find(|s| s.name.eq_ignore_ascii_case(k)) else { continue };
                if sub.mutability == Mutability::ReadOnly || v.is_null() {
                    continue;
                }
                out.insert(sub.name.to_string(), clean_scalar(sub, v, &format!("{at}.{}", sub.name))?);
            }
            Ok(Value::Object(out))
        }
        (Type::Complex, _) => invalid(format!("{at} is an object")),
    }
}

fn clean_attr(a: &Attr, v: &Value, at: &str) -> Result<Option<Value>, Invalid> {
    if v.is_null() || a.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    if !a.multi {
        if v.is_array() {
            return invalid(format!("{at} takes one value"));
        }
        return clean_scalar(a, v, at).map(Some);
    }
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let most = if a.name == "members" { MAX_MEMBERS } else { MAX_VALUES };
    if items.len() > most {
        return invalid(format!("{at} has more than {most} values"));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items.into_iter().filter(|i| !i.is_null()) {
        let c = clean_scalar(a, item, at)?;
        if c.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        out.push(c);
    }
    let primaries = out.iter().filter(|i| i.get("primary") == Some(&Value::Bool(true))).count();
    if primaries > 1 {
        return invalid(format!("{at} has more than one primary value"));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn clean_object(
    schema: &Schema,
    o: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), Invalid> {
    for (k, v) in o {
        if let Some(a) = schema.attr(k)
            && let Some(c) = clean_attr(a, v, a.name)?
        {
            out.insert(a.name.to_string(), c);
        }
    }
    Ok(())
}

/// What a client wrote (a whole resource: POST, PUT, or a PATCH's result), as it is kept: the
/// attributes of `rt`'s schemas under their own names, read-only ones dropped (`id`, `meta`,
/// `groups`, a group's member names), unknown ones ignored, each value checked against its
/// type, size and number, at most one `primary` per attribute, the required ones present.
/// `externalId` is kept; `password` too (the caller takes it out before keeping anything).
pub fn clean(rt: &ResourceType, input: &Value) -> Result<Value, Invalid> {
    let Some(o) = input.as_object() else { return invalid("a resource is a JSON object") };
    let schemas: Vec<&str> = match filter::get(input, "schemas") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !schemas.iter().any(|s| s.eq_ignore_ascii_case(rt.schema.id)) {
        return invalid(format!("schemas must list {}", rt.schema.id));
    }
    let mut out = Map::new();
    let mut listed = vec![Value::String(rt.schema.id.into())];
    clean_object(rt.schema, o, &mut out)?;
    for (k, v) in o {
        if k.eq_ignore_ascii_case("externalId") {
            match v {
                Value::String(t)
                    if t.chars().count() <= MAX_STRING && !t.chars().any(crate::profile::invisible) =>
                {
                    out.insert("externalId".into(), v.clone());
                }
                Value::Null => {}
                _ => return invalid("externalId is a string"),
            }
        } else if let Some(ext) = rt.extension(k) {
            let Some(e) = v.as_object() else {
                if v.is_null() {
                    continue;
                }
                return invalid(format!("{} is an object", ext.id));
            };
            let mut inner = Map::new();
            clean_object(ext, e, &mut inner)?;
            if !inner.is_empty() {
                out.insert(ext.id.to_string(), Value::Object(inner));
                listed.push(Value::String(ext.id.into()));
            }
        }
    }
    for a in rt.schema.attributes.iter().filter(|a| a.required) {
        let empty = match out.get(a.name) {
            None => true,
            Some(Value::String(t)) => t.trim().is_empty(),
            Some(_) => false,
        };
        if empty {
            return invalid(format!("{} is required", a.name));
        }
    }
    out.insert("schemas".into(), Value::Array(listed));
    Ok(Value::Object(out))
}

/// The attributes an answer carries (RFC 7644 §3.4.2.5): with `attributes`, those (and `id`,
/// `schemas`), else all but `excluded`; never what is `returned: never`.
pub fn project(
    rt: &ResourceType,
    mut resource: Value,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Some(o) = resource.as_object_mut() else { return resource };
    o.retain(|k, _| rt.schema.attr(k).is_none_or(|a| a.returned != Returned::Never));
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for (k, v) in o.iter() {
            if ["id", "schemas"].contains(&k.as_str()) {
                kept.insert(k.clone(), v.clone());
                continue;
            }
            let is_ext = rt.extension(k).is_some();
            let wanted: Vec<&AttrPath> = attributes
                .iter()
                .filter(|p| match (&p.urn, is_ext) {
                    (Some(u), true) => u.eq_ignore_ascii_case(k),
                    (Some(u), false) => {
                        u.eq_ignore_ascii_case(rt.schema.id) && p.attr.eq_ignore_ascii_case(k)
                    }
                    (None, false) => p.attr.eq_ignore_ascii_case(k),
                    (None, true) => false,
                })
                .collect();
            if wanted.is_empty() {
                continue;
            }
            if is_ext {
                // the whole extension, or some of its attributes
                if wanted.iter().any(|p| p.urn.is_none() || p.attr.is_empty()) {
                    kept.insert(k.clone(), v.clone());
                } else if let Some(inner) = v.as_object() {
                    let part: Map<String, Value> = inner
                        .iter()
                        .filter(|(ik, _)| wanted.iter().any(|p| p.attr.eq_ignore_ascii_case(ik)))
                        .map(|(ik, iv)| (ik.clone(), iv.clone()))
                        .collect();
                    if !part.is_empty() {
                        kept.insert(k.clone(), Value::Object(part));
                    }
                }
            } else if wanted.iter().any(|p| p.sub.is_none()) {
                kept.insert(k.clone(), v.clone());
            } else {
                let subs: Vec<&str> = wanted.iter().filter_map(|p| p.sub.as_deref()).collect();
                kept.insert(k.clone(), only_subs(v, &subs));
            }
        }
        *o = kept;
    } else {
        for p in excluded {
            let key = match &p.urn {
                Some(u) if p.attr.is_empty() => {
                    o.retain(|k, _| !k.eq_ignore_ascii_case(u));
                    continue;
                }
                Some(u) if !u.eq_ignore_ascii_case(rt.schema.id) => {
                    if let Some(Value::Object(inner)) =
                        o.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(u)).map(|(_, v)| v)
                    {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(&p.attr));
                    }
                    continue;
                }
                _ => p.attr.clone(),
            };
            if ["id", "schemas"].iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                continue;
            }
            match &p.sub {
                None => o.retain(|k, _| !k.eq_ignore_ascii_case(&key)),
                Some(sub) => {
                    if let Some(v) = o.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)).map(|(_, v)| v)
                    {
                        drop_sub(v, sub);
                    }
                }
            }
        }
    }
    resource
}

fn only_subs(v: &Value, subs: &[&str]) -> Value {
    let pick = |o: &Map<String, Value>| -> Value {
        Value::Object(
            o.iter()
                .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    match v {
        Value::Object(o) => pick(o),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| i.as_object().map_or_else(|| i.clone(), pick)).collect())
        }
        other => other.clone(),
    }
}

fn drop_sub(v: &mut Value, sub: &str) {
    match v {
        Value::Object(o) => o.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_sub(i, sub)),
        _ => {}
    }
}

/// The paths of an `attributes` or `excludedAttributes` parameter (comma-separated); a bare
/// extension URN names the whole extension.
pub fn paths(rt: &ResourceType, list: Option<&str>) -> Result<Vec<AttrPath>, Invalid> {
    let Some(list) = list else { return Ok(vec![]) };
    if list.len() > filter::MAX_LEN {
        return invalid("the attribute list is too long");
    }
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match rt.extension(p) {
            Some(ext) => Ok(AttrPath { urn: Some(ext.id.to_string()), attr: String::new(), sub: None }),
            None => filter::parse_attr_path(p).or_else(|e| invalid(format!("{p}: {e}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests;
