//! CAS 3.0 (Apereo "CAS Protocol 3.0 Specification", https://apereo.github.io/cas/development/protocol/CAS-Protocol-Specification.html):
//! the rules of the CAS front-end that need no HTTP.
//!
//! - A CAS service is a client of type `cas` in the client register ([`CasSettings`]): consent,
//!   purposes, levels and acting contexts apply to it as to an OpenID Connect client; its
//!   attributes are the claims of the scopes the person consented to.
//! - Service URLs are matched against registered patterns ([`matches`]): an exact URL, or an
//!   origin-and-path prefix ending in `/*`; never a regular expression.
//! - A service ticket (`ST-…`) is an authorization code of the service's client, bound to the
//!   service URL as its redirect URI: single use, short-lived (10 s by default), and redeemed
//!   through the same atomic store operation as an OpenID Connect code.
//! - Answers are the specification's XML (namespace `http://www.yale.edu/tp/cas`) or, with
//!   `format=JSON`, its JSON form ([`success`], [`failure`]).
//! - Single logout is the SAML `LogoutRequest` CAS servers POST to each service that validated a
//!   ticket in the session ([`logout_request`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod validate;

use crate::identifiers::CalendarDate;
use crate::model::{Authorization, Client, ClientType};

/// The prefix of service tickets (CAS 3.0 §3.1.1).
pub const SERVICE_TICKET_PREFIX: &str = "ST-";
/// The prefix of proxy tickets (§3.2.1).
pub const PROXY_TICKET_PREFIX: &str = "PT-";
/// The prefix of proxy-granting tickets (§3.3.1) and of their IOUs (§3.4.1).
pub const PGT_PREFIX: &str = "PGT-";
pub const PGT_IOU_PREFIX: &str = "PGTIOU-";
/// How long a proxy-granting ticket lives at most (it dies with its session before that).
pub const PGT_TTL: i64 = 2 * 3600;
/// The longest proxy chain accepted (each proxy adds one).
pub const MAX_PROXY_CHAIN: usize = 4;
/// How long a service ticket lives unless the service's registration says otherwise.
pub const DEFAULT_TICKET_TTL: i64 = 10;
/// The longest life a registration may give its tickets.
pub const MAX_TICKET_TTL: i64 = 300;
/// The longest service URL accepted (the specification allows the server to refuse long ones).
pub const MAX_SERVICE_LEN: usize = 2048;
/// The longest ticket accepted (§3.7: at least 32 characters must be accepted, at most 256).
pub const MAX_TICKET_LEN: usize = 256;

/// A CAS service's registration, in its client's settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CasSettings {
    /// Where the service's tickets may go: exact URLs, or prefixes ending in `/*`.
    pub services: Vec<String>,
    /// Seconds a ticket lives (`None`: [`DEFAULT_TICKET_TTL`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_ttl: Option<i64>,
    /// Whether the service is sent the CAS `logoutRequest` when a session it took part in ends.
    pub single_logout: bool,
    /// Where the service may receive proxy-granting tickets (`pgtUrl`, §2.5.4): https URLs or
    /// prefixes as for `services`. Empty: the service may not proxy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_callbacks: Vec<String>,
}

impl Default for CasSettings {
    fn default() -> Self {
        Self { services: vec![], ticket_ttl: None, single_logout: true, proxy_callbacks: vec![] }
    }
}

impl CasSettings {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
    pub fn ticket_ttl(&self) -> i64 {
        self.ticket_ttl.unwrap_or(DEFAULT_TICKET_TTL)
    }
}

/// A `/cas/login` request, kept with the interaction until the sign-in ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasLogin {
    /// The service's client.
    pub client_id: String,
    /// The service URL as the service sent it; the ticket is bound to exactly this string.
    pub service: String,
    /// What the service receives, as scopes: `openid` (who the person is) and its registered
    /// scopes.
    pub release: Vec<String>,
    /// `renew`: a fresh sign-in, whatever session there is.
    pub renew: bool,
    /// `gateway`: never a page; back to the service without a ticket instead.
    pub gateway: bool,
    /// `method=POST`: the ticket goes back in a form POST rather than the query.
    pub post: bool,
    /// The page language the service asked for (`locale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// Checks a registered service pattern: an absolute https URL (http only for loopback), no
/// user information or fragment; a prefix ends in `/*` (its path ends with a slash) and has no
/// query.
pub fn valid_pattern(p: &str) -> Result<(), String> {
    let (text, prefix) = match p.strip_suffix('*') {
        Some(t) => (t, true),
        None => (p, false),
    };
    if p.len() > MAX_SERVICE_LEN || text.contains('*') {
        return Err(format!("{p:?}: a service is an exact URL or a prefix ending in /* (no other wildcard)"));
    }
    let u = url::Url::parse(text).map_err(|e| format!("{p:?} is not a URL: {e}"))?;
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err(format!("{p:?} must not contain user information or a fragment"));
    }
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
        return Err(format!("{p:?} must use https (http only for localhost)"));
    }
    if prefix && (!text.ends_with('/') || u.query().is_some()) {
        return Err(format!("{p:?}: a prefix ends with /* and has no query"));
    }
    // what the parser would make of it must be what was written (no dot segments, no case or
    // port tricks), so that the prefix test on the text and on the parsed URL agree
    if u.as_str() != text {
        return Err(format!("{p:?} is not in its normal form (write it as {:?})", u.as_str()));
    }
    Ok(())
}

/// Checks a registered proxy callback pattern: as [`valid_pattern`], and https always (§2.5.4:
/// the callback's certificate proves who receives the ticket).
pub fn valid_callback(p: &str) -> Result<(), String> {
    valid_pattern(p)?;
    if !p.starts_with("https://") {
        return Err(format!("{p:?}: a proxy callback uses https"));
    }
    Ok(())
}

/// Whether `service` is a URL in its normal form, as a service may send it: parsed and written
/// back unchanged (no dot segments, default ports, upper-case hosts), no user information or
/// fragment, not too long.
pub fn normal_service(service: &str) -> bool {
    if service.len() > MAX_SERVICE_LEN {
        return false;
    }
    let Ok(u) = url::Url::parse(service) else { return false };
    u.as_str() == service && u.fragment().is_none() && u.username().is_empty() && u.password().is_none()
}

/// Whether `pattern` allows `service`, already known to be in its normal form
/// ([`normal_service`]). An exact pattern without a query allows the same URL with any query; a
/// prefix allows the URLs under its path on the same origin, but never a path that a server
/// could read as leaving the prefix (`;` path parameters as in `..;`, encoded slashes or
/// backslashes).
fn allows(pattern: &str, service: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => service.strip_prefix(prefix).is_some_and(|rest| {
            let path = rest.split('?').next().unwrap_or_default().to_ascii_lowercase();
            !path.contains(';') && !path.contains("%2f") && !path.contains("%5c")
        }),
        None => {
            service == pattern
                || (!pattern.contains('?')
                    && service.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('?')))
        }
    }
}

/// Whether `service` (as sent by the service) is one `pattern` allows: in its normal form (so
/// the text compared is what a browser would visit) and allowed by the pattern.
pub fn matches(pattern: &str, service: &str) -> bool {
    normal_service(service) && allows(pattern, service)
}

/// Whether two registered patterns could allow the same service URL: then one service could
/// receive the other's tickets, so a tenant never has both.
pub fn overlaps(a: &str, b: &str) -> bool {
    let base = |p: &str| {
        p.strip_suffix('*').map(|x| (x.to_string(), true)).unwrap_or_else(|| (p.to_string(), false))
    };
    let ((pa, wa), (pb, wb)) = (base(a), base(b));
    // an exact pattern without a query also stands for the URL with any query
    let exact_key = |p: &str| p.split('?').next().unwrap_or_default().to_string();
    match (wa, wb) {
        (true, true) => pa.starts_with(&pb) || pb.starts_with(&pa),
        (true, false) => pb.starts_with(&pa),
        (false, true) => pa.starts_with(&pb),
        (false, false) => {
            exact_key(&pa) == exact_key(&pb) && (!pa.contains('?') || !pb.contains('?') || pa == pb)
        }
    }
}

/// The enabled CAS service of `clients` whose registration allows `service`: the one with the
/// longest matching pattern; none when two services match equally well (registration refuses
/// overlapping patterns, so that happens only with data written otherwise).
pub fn service_of<'a>(clients: &'a [Client], service: &str) -> Option<&'a Client> {
    if !normal_service(service) {
        return None;
    }
    let mut best: Option<(usize, &Client)> = None;
    let mut tie = false;
    for c in clients.iter().filter(|c| c.client_type == ClientType::Cas && !c.disabled) {
        let Some(len) = c.settings.cas.services.iter().filter(|p| allows(p, service)).map(|p| p.len()).max()
        else {
            continue;
        };
        match best {
            Some((b, _)) if b > len => {}
            Some((b, _)) if b == len => tie = true,
            _ => {
                best = Some((len, c));
                tie = false;
            }
        }
    }
    if tie { None } else { best.map(|(_, c)| c) }
}

/// The answer format (§2.5.1 `format`, XML by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

/// A validation's failure codes (§2.5.3).
pub mod code {
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    pub const INVALID_TICKET_SPEC: &str = "INVALID_TICKET_SPEC";
    pub const INVALID_TICKET: &str = "INVALID_TICKET";
    pub const INVALID_SERVICE: &str = "INVALID_SERVICE";
    pub const UNAUTHORIZED_SERVICE_PROXY: &str = "UNAUTHORIZED_SERVICE_PROXY";
    pub const UNAUTHORIZED_SERVICE: &str = "UNAUTHORIZED_SERVICE";
    pub const INVALID_PROXY_CALLBACK: &str = "INVALID_PROXY_CALLBACK";
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

/// A successful validation: who, and what the service may know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    pub user: String,
    /// Attribute name and values, in order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The IOU of a proxy-granting ticket delivered to the service's callback.
    pub pgt_iou: Option<String>,
    /// The proxies a proxy ticket went through, the most recent first (§2.6.2).
    pub proxies: Vec<String>,
}

/// What a validation tells the service about the person: the released claims (flattened to
/// strings, one level of objects as `claim_field`) and the authentication itself.
pub fn attributes(
    released: &Map<String, Value>,
    authz: &Authorization,
    new_login: bool,
) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    // the authentication first, as the protocol's schema lists it
    if let Some(t) = authz.auth_time {
        out.push(("authenticationDate".into(), vec![CalendarDate::rfc3339_utc(t)]));
    }
    out.push(("isFromNewLogin".into(), vec![new_login.to_string()]));
    out.push(("longTermAuthenticationRequestTokenUsed".into(), vec!["false".into()]));
    if let Some(acr) = &authz.acr {
        out.push(("authnContextClass".into(), vec![acr.clone()]));
    }
    if !authz.amr.is_empty() {
        out.push(("authenticationMethod".into(), authz.amr.clone()));
    }
    out.extend(flatten(released));
    out
}

/// The released claims as named string values (for protocols whose attributes are strings):
/// `sub` left out (the protocol names the person its own way), an email address or phone
/// number only when verified, one level of objects flattened to `claim_field`, arrays as
/// several values, names that are not plain identifiers left out.
pub fn flatten(released: &Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut add = |name: String, v: &Value| {
        let values = match v {
            Value::Null => return,
            Value::Array(items) => items.iter().map(text).collect(),
            other => vec![text(other)],
        };
        if element_name(&name) {
            out.push((name, values));
        }
    };
    // an address that is not verified is not released as one: a protocol whose parties read
    // attributes (not a `_verified` flag beside them) could link an account by it
    let verified = |flag: &str| released.get(flag) == Some(&Value::Bool(true));
    for (claim, v) in released {
        if claim == "sub"
            || (claim == "email" && !verified("email_verified"))
            || (claim == "phone_number" && !verified("phone_number_verified"))
        {
            continue;
        }
        match v {
            Value::Object(fields) => {
                for (field, fv) in fields {
                    add(format!("{claim}_{field}"), fv);
                }
            }
            other => add(claim.clone(), other),
        }
    }
    out
}

/// A safe XML element name (claims are ASCII identifiers; anything else is left out).
fn element_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && n.len() <= 64
}

/// Escapes text for XML content and attribute values; characters XML 1.0 cannot carry at all
/// are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

const CAS_NS: &str = "http://www.yale.edu/tp/cas";

/// The `authenticationSuccess` answer (§2.5.2, §2.5.7 JSON).
pub fn success(format: Format, s: &Success) -> String {
    match format {
        Format::Xml => {
            let mut x = format!(
                "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\">\n  <cas:authenticationSuccess>\n    <cas:user>{}</cas:user>\n",
                escape(&s.user)
            );
            if !s.attributes.is_empty() {
                x.push_str("    <cas:attributes>\n");
                for (name, values) in &s.attributes {
                    for v in values {
                        x.push_str(&format!("      <cas:{name}>{}</cas:{name}>\n", escape(v)));
                    }
                }
                x.push_str("    </cas:attributes>\n");
            }
            if let Some(iou) = &s.pgt_iou {
                x.push_str(&format!(
                    "    <cas:proxyGrantingTicket>{}</cas:proxyGrantingTicket>\n",
                    escape(iou)
                ));
            }
            if !s.proxies.is_empty() {
                x.push_str("    <cas:proxies>\n");
                for p in &s.proxies {
                    x.push_str(&format!("      <cas:proxy>{}</cas:proxy>\n", escape(p)));
                }
                x.push_str("    </cas:proxies>\n");
            }
            x.push_str("  </cas:authenticationSuccess>\n</cas:serviceResponse>\n");
            x
        }
        Format::Json => {
            let attributes: Map<String, Value> =
                s.attributes.iter().map(|(n, v)| (n.clone(), Value::from(v.clone()))).collect();
            let mut ok = Map::new();
            ok.insert("user".into(), Value::from(s.user.clone()));
            if let Some(iou) = &s.pgt_iou {
                ok.insert("proxyGrantingTicket".into(), Value::from(iou.clone()));
            }
            if !s.proxies.is_empty() {
                ok.insert("proxies".into(), Value::from(s.proxies.clone()));
            }
            if !attributes.is_empty() {
                ok.insert("attributes".into(), Value::Object(attributes));
            }
            serde_json::json!({"serviceResponse": {"authenticationSuccess": ok}}).to_string()
        }
    }
}

/// The `authenticationFailure` answer (§2.5.3).
pub fn failure(format: Format, code: &str, description: &str) -> String {
    match format {
        Format::Xml => format!(
            "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\">\n  <cas:authenticationFailure code=\"{}\">{}</cas:authenticationFailure>\n</cas:serviceResponse>\n",
            escape(code),
            escape(description)
        ),
        Format::Json => serde_json::json!({
            "serviceResponse": {"authenticationFailure": {"code": code, "description": description}}
        })
        .to_string(),
    }
}

/// The `/proxy` answers (§2.7.2): a proxy ticket, or why not.
pub fn proxy_answer(format: Format, outcome: Result<&str, (&str, &str)>) -> String {
    match (format, outcome) {
        (Format::Xml, Ok(pt)) => format!(
            "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\">\n  <cas:proxySuccess>\n    <cas:proxyTicket>{}</cas:proxyTicket>\n  </cas:proxySuccess>\n</cas:serviceResponse>\n",
            escape(pt)
        ),
        (Format::Xml, Err((code, why))) => format!(
            "<cas:serviceResponse xmlns:cas=\"{CAS_NS}\">\n  <cas:proxyFailure code=\"{}\">{}</cas:proxyFailure>\n</cas:serviceResponse>\n",
            escape(code),
            escape(why)
        ),
        (Format::Json, Ok(pt)) => {
            serde_json::json!({"serviceResponse": {"proxySuccess": {"proxyTicket": pt}}}).to_string()
        }
        (Format::Json, Err((code, why))) => {
            serde_json::json!({"serviceResponse": {"proxyFailure": {"code": code, "description": why}}})
                .to_string()
        }
    }
}

/// The single-logout message (§2.3.3, "SAML 2.0 LogoutRequest"): the session index is the
/// ticket the service validated.
pub fn logout_request(id: &str, now: i64, ticket: &str) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\">\
         <saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>",
        escape(id),
        CalendarDate::rfc3339_utc(now),
        escape(ticket)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_exact_urls_or_path_prefixes() {
        assert!(valid_pattern("https://app.example/cas/login").is_ok());
        assert!(valid_pattern("https://app.example/gov/*").is_ok());
        assert!(valid_pattern("http://127.0.0.1:8080/*").is_ok());
        for bad in [
            "http://app.example/",
            "https://app.example/gov*",
            "https://*.example/",
            "https://app.example/a/*/b",
            "https://u@app.example/",
            "https://app.example/#x",
            "https://app.example/a/../b",
            "https://APP.example/",
            "https://app.example/x?y/*",
            "javascript:alert(1)",
        ] {
            assert!(valid_pattern(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_service_matches_only_what_its_pattern_allows() {
        let exact = "https://app.example/app";
        assert!(matches(exact, "https://app.example/app"));
        assert!(matches(exact, "https://app.example/app?x=1"));
        assert!(!matches(exact, "https://app.example/app2"));
        assert!(!matches(exact, "https://app.example/app/x"));
        assert!(!matches("https://app.example/app?a=1", "https://app.example/app?a=1&b=2"));
        let prefix = "https://app.example/gov/*";
        assert!(matches(prefix, "https://app.example/gov/"));
        assert!(matches(prefix, "https://app.example/gov/a/b?c=d"));
        for bad in [
            "https://app.example/gov",
            "https://app.example/govx/",
            "https://app.example/gov/../admin",
            "https://app.example/gov/%2e%2e/admin",
            "https://app.example.evil/gov/",
            "https://app.example@evil.example/gov/",
            "https://app.example/gov/#frag",
            "https://app.example:443/gov/x",
            "http://app.example/gov/",
            "https://app.example/gov/..;/admin/",
            "https://app.example/gov/a%2F..%2Fadmin",
            "https://app.example/gov/a%5c..%5cadmin",
        ] {
            assert!(!matches(prefix, bad), "{bad} matched");
        }
        assert!(matches(prefix, "https://app.example/gov/a?x=..;y"), "the query is the service's own");
    }

    #[test]
    fn overlapping_patterns_are_found() {
        assert!(overlaps("https://a/x", "https://a/x"));
        assert!(overlaps("https://a/x", "https://a/x?y=1"));
        assert!(!overlaps("https://a/x?y=1", "https://a/x?y=2"));
        assert!(overlaps("https://a/gov/*", "https://a/gov/x"));
        assert!(overlaps("https://a/gov/x", "https://a/gov/*"));
        assert!(overlaps("https://a/*", "https://a/gov/*"));
        assert!(!overlaps("https://a/gov/*", "https://a/govx/*"));
        assert!(!overlaps("https://a/x", "https://a/y"));
    }

    #[test]
    fn answers_escape_what_they_carry() {
        let s = Success {
            user: "a<b>&\"".into(),
            attributes: vec![
                ("name".into(), vec!["张三 <x>".into()]),
                ("roles".into(), vec!["a".into(), "b".into()]),
            ],
            pgt_iou: Some("PGTIOU-1".into()),
            proxies: vec!["https://p1/cb".into()],
        };
        let xml = success(Format::Xml, &s);
        assert!(xml.contains("<cas:user>a&lt;b&gt;&amp;&quot;</cas:user>"));
        assert!(xml.contains("<cas:name>张三 &lt;x&gt;</cas:name>"));
        assert_eq!(xml.matches("<cas:roles>").count(), 2);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().tag_name().namespace(), Some(CAS_NS));
        let json: Value = serde_json::from_str(&success(Format::Json, &s)).unwrap();
        assert_eq!(
            json["serviceResponse"]["authenticationSuccess"]["attributes"]["roles"],
            serde_json::json!(["a", "b"])
        );
        assert_eq!(
            json["serviceResponse"]["authenticationSuccess"]["proxies"],
            serde_json::json!(["https://p1/cb"])
        );
        // the schema's order: user, attributes, proxyGrantingTicket, proxies
        let (a, p, x) =
            (xml.find("<cas:attributes>"), xml.find("<cas:proxyGrantingTicket>"), xml.find("<cas:proxies>"));
        assert!(a < p && p < x, "{xml}");
        for answer in
            [proxy_answer(Format::Xml, Ok("PT-1")), proxy_answer(Format::Xml, Err(("INVALID_TICKET", "<x>")))]
        {
            assert!(roxmltree::Document::parse(&answer).is_ok(), "{answer}");
        }
        let f = failure(Format::Xml, code::INVALID_TICKET, "no <such> ticket");
        assert!(roxmltree::Document::parse(&f).is_ok() && f.contains("code=\"INVALID_TICKET\""));
        assert_eq!(escape("a\u{1}b"), "ab");
    }

    #[test]
    fn attributes_are_flat_strings_with_the_authentication() {
        let released = serde_json::json!({
            "sub": "s", "name": "张三", "realname_level": 3, "email_verified": true,
            "org": {"id": "o1", "name": "厅"}, "roles": ["a", "b"], "bad name": "x"
        });
        let authz = Authorization {
            tenant_id: "t".into(),
            client_id: "c".into(),
            account_id: Some("a".into()),
            scope: vec![],
            sid: None,
            auth_time: Some(0),
            acr: Some("aal2".into()),
            amr: vec!["pwd".into(), "otp".into()],
            nonce: None,
            act_as: "self".into(),
            context: None,
            claims: None,
            resource: None,
            consented_at: None,
        };
        let a = attributes(released.as_object().unwrap(), &authz, true);
        let get = |n: &str| a.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("sub"), None);
        assert_eq!(get("bad name"), None);
        assert_eq!(get("realname_level").unwrap(), ["3"]);
        assert_eq!(get("org_name").unwrap(), ["厅"]);
        assert_eq!(get("roles").unwrap(), ["a", "b"]);
        assert_eq!(get("authenticationDate").unwrap(), ["1970-01-01T00:00:00Z"]);
        assert_eq!(get("isFromNewLogin").unwrap(), ["true"]);
        assert_eq!(get("authenticationMethod").unwrap(), ["pwd", "otp"]);
    }

    #[test]
    fn the_logout_request_names_the_ticket() {
        let x = logout_request("LR-1", 0, "ST-abc");
        let doc = roxmltree::Document::parse(&x).unwrap();
        let idx = doc.descendants().find(|n| n.tag_name().name() == "SessionIndex").unwrap();
        assert_eq!(idx.text(), Some("ST-abc"));
    }
}
