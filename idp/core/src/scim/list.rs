//! Listing resources (RFC 7644 §3.4.2): a filter, a sort and a page, applied to the resources
//! a client may see, as SCIM JSON. The query comes from a URL (`GET /Users?filter=…`) or from
//! a `SearchRequest` body (`POST /Users/.search`).

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{Value, json};

use super::filter::{self, AttrPath, Filter};
use super::schema::{self, Invalid, ResourceType};

/// The largest page (`count`) answered, as `/ServiceProviderConfig` says (`filter.maxResults`).
pub const MAX_RESULTS: usize = 200;

/// A search, as given (URL parameters or a `SearchRequest`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub sort_by: Option<String>,
    #[serde(default)]
    pub sort_order: Option<String>,
    #[serde(default)]
    pub start_index: Option<i64>,
    #[serde(default)]
    pub count: Option<i64>,
    /// Comma-separated in a URL; a list in a `SearchRequest` (joined when read).
    #[serde(default, deserialize_with = "list_or_string")]
    pub attributes: Option<String>,
    #[serde(default, deserialize_with = "list_or_string")]
    pub excluded_attributes: Option<String>,
}

fn list_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::One(s)) => Some(s),
        Some(Either::Many(v)) => Some(v.join(",")),
    })
}

/// A search, checked.
#[derive(Debug)]
pub struct Search {
    pub filter: Option<Filter>,
    sort_by: Option<AttrPath>,
    descending: bool,
    /// 1-based.
    start: usize,
    count: usize,
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Query {
    /// Reads URL parameters (`filter`, `sortBy`, `sortOrder`, `startIndex`, `count`,
    /// `attributes`, `excludedAttributes`; others are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Query, Invalid> {
        let mut q = Query::default();
        let number = |v: &str, name: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| Invalid { scim_type: "invalidValue", detail: format!("{name} is a number") })
        };
        for (k, v) in pairs {
            match k {
                "filter" => q.filter = Some(v.to_string()),
                "sortBy" => q.sort_by = Some(v.to_string()),
                "sortOrder" => q.sort_order = Some(v.to_string()),
                "startIndex" => q.start_index = Some(number(v, k)?),
                "count" => q.count = Some(number(v, k)?),
                "attributes" => q.attributes = Some(v.to_string()),
                "excludedAttributes" => q.excluded_attributes = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(q)
    }

    /// Checks the search for resources of `rt`.
    pub fn check(&self, rt: &ResourceType) -> Result<Search, Invalid> {
        let filter = match self.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(f) => {
                Some(filter::parse(f).map_err(|e| Invalid { scim_type: "invalidFilter", detail: e.0 })?)
            }
        };
        let sort_by = match self.sort_by.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(p) => Some(
                filter::parse_attr_path(p).map_err(|e| Invalid { scim_type: "invalidValue", detail: e.0 })?,
            ),
        };
        let descending = match self.sort_order.as_deref() {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(_) => {
                return Err(Invalid {
                    scim_type: "invalidValue",
                    detail: "sortOrder is ascending or descending".into(),
                });
            }
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0
        let start = self.start_index.unwrap_or(1).max(1) as usize;
        let count = self.count.map_or(MAX_RESULTS, |c| c.clamp(0, MAX_RESULTS as i64) as usize);
        Ok(Search {
            filter,
            sort_by,
            descending,
            start,
            count,
            attributes: schema::paths(rt, self.attributes.as_deref())?,
            excluded: schema::paths(rt, self.excluded_attributes.as_deref())?,
        })
    }
}

/// The value a resource sorts by: a multi-valued attribute's primary (or first) value.
fn sort_key<'v>(rt: &ResourceType, r: &'v Value, path: &AttrPath) -> Option<&'v Value> {
    let holder = match &path.urn {
        Some(u) if !u.eq_ignore_ascii_case(rt.schema.id) => filter::get(r, u)?,
        _ => r,
    };
    let mut v = filter::get(holder, &path.attr)?;
    if let Value::Array(items) = v {
        v = items.iter().find(|i| i.get("primary") == Some(&Value::Bool(true))).or(items.first())?;
    }
    let v = match &path.sub {
        Some(sub) => filter::get(v, sub),
        None if v.is_object() => filter::get(v, "value"),
        None => Some(v),
    };
    v.filter(|v| !v.is_null())
}

fn compare(a: Option<&Value>, b: Option<&Value>, exact: bool) -> Ordering {
    match (a, b) {
        // RFC 7644 §3.4.2.3: resources without the value come last in either order, so the
        // caller reverses only the present ones
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::String(x)), Some(Value::String(y))) if !exact => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// The value `f` requires `attr` (a core attribute) to equal, if it does: `attr eq "v"`, alone
/// or as a side of an `and`.
fn equals<'f>(f: &'f Filter, attr: &str) -> Option<&'f str> {
    match f {
        Filter::Compare(p, filter::Op::Eq, Value::String(v))
            if p.sub.is_none()
                && p.attr.eq_ignore_ascii_case(attr)
                && p.urn.as_deref().is_none_or(|u| {
                    u.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:")
                }) =>
        {
            Some(v)
        }
        Filter::And(a, b) => equals(a, attr).or_else(|| equals(b, attr)),
        _ => None,
    }
}

impl Search {
    /// The value the filter requires a core attribute to equal (`userName eq "li"`), so that
    /// the caller can read that one resource instead of every one; the filter itself is still
    /// applied to what it reads.
    pub fn equals(&self, attr: &str) -> Option<&str> {
        equals(self.filter.as_ref()?, attr)
    }

    /// The `ListResponse` of `resources` (all a client may see, unprojected): those matching
    /// the filter, sorted, the page asked for, each with the attributes asked for.
    pub fn answer(&self, rt: &ResourceType, mut resources: Vec<Value>) -> Value {
        if let Some(f) = &self.filter {
            resources.retain(|r| filter::matches(f, r));
        }
        if let Some(path) = &self.sort_by {
            let exact = rt.attr_of(path).is_some_and(|a| a.case_exact)
                || ["id", "externalId"].iter().any(|n| n.eq_ignore_ascii_case(&path.attr));
            resources.sort_by(|a, b| {
                let (ka, kb) = (sort_key(rt, a, path), sort_key(rt, b, path));
                let o = compare(ka, kb, exact);
                if self.descending && ka.is_some() && kb.is_some() { o.reverse() } else { o }
            });
        }
        let total = resources.len();
        let page: Vec<Value> = resources
            .into_iter()
            .skip(self.start - 1)
            .take(self.count)
            .map(|r| schema::project(rt, r, &self.attributes, &self.excluded))
            .collect();
        let mut out = json!({
            "schemas": [schema::LIST],
            "totalResults": total,
            "startIndex": self.start,
            "itemsPerPage": page.len(),
        });
        if !page.is_empty() {
            out["Resources"] = Value::Array(page);
        }
        out
    }
}
