//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parsed into a small tree and
//! evaluated against a resource as SCIM JSON. Attribute names are case-insensitive; string
//! comparisons too, except for the attributes RFC 7643 makes case-exact (`id`, `externalId`,
//! `value` of references, `$ref`). A multi-valued attribute matches when one of its values does
//! (a complex one by its `value`, or by the sub-attribute named).
//!
//! Bounded: at most [`MAX_LEN`] characters and [`MAX_DEPTH`] levels of nesting, so a hostile
//! filter costs no more than a long honest one.

use serde_json::Value;

/// The longest filter or path accepted.
pub const MAX_LEN: usize = 2048;
/// The deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 32;

/// An attribute path: `[urn:]attr[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN, when written (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, Op, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: a value of the multi-valued attribute matches the inner filter
    /// (whose paths are relative to that value).
    Values(AttrPath, Box<Filter>),
}

/// A PATCH operation's path: an attribute, optionally narrowed to the values matching a
/// filter, optionally to one sub-attribute of those values.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// After a value filter: `emails[type eq "work"].value`.
    pub sub: Option<String>,
}

/// What is wrong with a filter: SCIM's `invalidFilter` (or `invalidPath` for a PATCH path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn err<T>(why: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(why.into()))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self, FilterError> {
        if text.len() > MAX_LEN {
            return err(format!("longer than {MAX_LEN} characters"));
        }
        Ok(Parser { s: text.as_bytes(), i: 0, depth: 0 })
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// A keyword (case-insensitive) followed by a space or `(`, or the end.
    fn keyword(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        let Some(found) = self.s.get(self.i..end) else { return false };
        let next_ok = matches!(self.s.get(end), None | Some(b' ') | Some(b'('));
        if found.eq_ignore_ascii_case(word.as_bytes()) && next_ok {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!("nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn filter(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        loop {
            self.ws();
            if self.keyword("or") {
                self.ws();
                let right = self.and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        loop {
            let save = self.i;
            self.ws();
            if self.keyword("and") {
                self.ws();
                let right = self.unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                self.i = save;
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.ws();
        if self.keyword("not") {
            self.ws();
            if self.peek() != Some(b'(') {
                return err("not is followed by a filter in parentheses");
            }
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(b'(') {
            self.deeper()?;
            self.i += 1;
            let f = self.filter()?;
            self.ws();
            if self.peek() != Some(b')') {
                return err("a parenthesis is not closed");
            }
            self.i += 1;
            self.depth -= 1;
            return Ok(f);
        }
        let path = self.path()?;
        if self.peek() == Some(b'[') {
            self.deeper()?;
            self.i += 1;
            let inner = self.filter()?;
            self.ws();
            if self.peek() != Some(b']') {
                return err("a value filter is not closed with ]");
            }
            self.i += 1;
            self.depth -= 1;
            return Ok(Filter::Values(path, Box::new(inner)));
        }
        if self.peek() != Some(b' ') {
            return err(format!("an operator after {}", path.attr));
        }
        self.ws();
        let op_start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        let op = String::from_utf8_lossy(&self.s[op_start..self.i]).to_ascii_lowercase();
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return err(format!("{other:?} is not an operator")),
        };
        if self.peek() != Some(b' ') {
            return err("a value after the operator");
        }
        self.ws();
        let value = self.value()?;
        Ok(Filter::Compare(path, op, value))
    }

    /// `[urn:]name[.sub]`; a URN is everything up to the last `:` before the name.
    fn path(&mut self) -> Result<AttrPath, FilterError> {
        let start = self.i;
        while self.i < self.s.len() && !matches!(self.s[self.i], b' ' | b'[' | b']' | b'(' | b')') {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| FilterError("not text".into()))?;
        parse_attr_path(text)
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        match self.peek() {
            Some(b'"') => {
                // a JSON string, escapes included
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() {
                    match self.s[self.i] {
                        b'\\' => self.i += 2,
                        b'"' => {
                            self.i += 1;
                            let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("\"\"");
                            return serde_json::from_str(text)
                                .map_err(|_| FilterError("a bad string".into()));
                        }
                        _ => self.i += 1,
                    }
                }
                err("a string is not closed")
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b' ' | b')' | b']') {
                    self.i += 1;
                }
                let word = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    _ => match serde_json::from_str::<serde_json::Number>(word) {
                        Ok(n) => Ok(Value::Number(n)),
                        Err(_) => err(format!("{word:?} is not a value")),
                    },
                }
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '$')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

/// Parses `[urn:]name[.sub]`.
pub fn parse_attr_path(text: &str) -> Result<AttrPath, FilterError> {
    let (urn, rest) = match text.rfind(':') {
        Some(i) if text[..i].to_ascii_lowercase().starts_with("urn:") => {
            (Some(text[..i].to_string()), &text[i + 1..])
        }
        Some(_) => return err(format!("{text:?} is not an attribute")),
        None => (None, text),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    if !is_name(attr) || sub.is_some_and(|s| !is_name(s)) {
        return err(format!("{text:?} is not an attribute"));
    }
    Ok(AttrPath { urn, attr: attr.to_string(), sub: sub.map(str::to_string) })
}

/// Parses a filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(text)?;
    let f = p.filter()?;
    p.ws();
    if p.i != p.s.len() {
        return err(format!("unexpected text at character {}", p.i + 1));
    }
    Ok(f)
}

/// Parses a PATCH path: `attr`, `urn:…:attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`.
pub fn parse_patch_path(text: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(text)?;
    let attr = p.path()?;
    let mut out = PatchPath { attr, filter: None, sub: None };
    if p.peek() == Some(b'[') {
        p.i += 1;
        out.filter = Some(p.filter()?);
        p.ws();
        if p.peek() != Some(b']') {
            return err("a value filter is not closed with ]");
        }
        p.i += 1;
        if p.peek() == Some(b'.') {
            let rest = std::str::from_utf8(&p.s[p.i + 1..]).unwrap_or_default();
            if !is_name(rest) {
                return err(format!("{rest:?} is not a sub-attribute"));
            }
            out.sub = Some(rest.to_string());
            p.i = p.s.len();
        }
    }
    if p.i != p.s.len() {
        return err(format!("unexpected text at character {}", p.i + 1));
    }
    Ok(out)
}

/// The member of `object` named `name`, case-insensitively.
pub fn get<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The values a path names in `resource` (several for a multi-valued attribute).
fn values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let holder = match &path.urn {
        Some(urn) => match get(resource, urn) {
            Some(v) => v,
            // the core schema's URN may be written before a core attribute
            None if urn.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:") => resource,
            None => return vec![],
        },
        None => resource,
    };
    let Some(v) = get(holder, &path.attr) else { return vec![] };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        Some(sub) => items.into_iter().filter_map(|i| get(i, sub)).collect(),
        // a multi-valued complex attribute compares by its `value`
        None => {
            items.into_iter().map(|i| if i.is_object() { get(i, "value").unwrap_or(i) } else { i }).collect()
        }
    }
}

fn case_exact(path: &AttrPath) -> bool {
    let name = path.sub.as_deref().unwrap_or(&path.attr);
    ["id", "externalId", "value", "$ref"].iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn compare(v: &Value, op: Op, want: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (v, want) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = if exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            match op {
                Op::Co => return a.contains(&b),
                Op::Sw => return a.starts_with(&b),
                Op::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            match a.partial_cmp(&b) {
                Some(o) => o,
                None => return false,
            }
        }
        (Value::Bool(a), Value::Bool(b)) if matches!(op, Op::Eq | Op::Ne) => a.cmp(b),
        (_, Value::Null) => {
            return match op {
                Op::Eq => v.is_null(),
                Op::Ne => !v.is_null(),
                _ => false,
            };
        }
        _ => return op == Op::Ne,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

/// Whether `resource` (SCIM JSON) matches `f`.
pub fn matches(f: &Filter, resource: &Value) -> bool {
    match f {
        Filter::Present(p) => values(resource, p).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        Filter::Compare(p, op, want) => {
            let found = values(resource, p);
            if found.is_empty() {
                // an absent attribute is unequal to anything, and equal to null
                return match (op, want) {
                    (Op::Eq, Value::Null) => true,
                    (Op::Ne, v) => !v.is_null(),
                    _ => false,
                };
            }
            let exact = case_exact(p);
            if *op == Op::Ne {
                found.iter().all(|v| compare(v, Op::Ne, want, exact))
            } else {
                found.iter().any(|v| compare(v, *op, want, exact))
            }
        }
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(a) => !matches(a, resource),
        Filter::Values(p, inner) => {
            let holder = match &p.urn {
                Some(urn) => get(resource, urn).unwrap_or(&Value::Null),
                None => resource,
            };
            match get(holder, &p.attr) {
                Some(Value::Array(items)) => items.iter().any(|i| matches(inner, i)),
                Some(v @ Value::Object(_)) => matches(inner, v),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests;
