//! The SCIM 2.0 service provider (RFC 7643, RFC 7644) at `/t/{tenant}/scim/v2`, for HR systems
//! provisioning staff: Users are accounts, Groups are departments under the client's
//! registered parent organisation, a group's members are staff memberships (source
//! `scim:{client}`) carrying the roles the client's mapping gives the user's `roles`.
//!
//! Who may call: a `service` client registered for SCIM (`ClientSettings::scim`) with an access
//! token of its own (`client_credentials`, scope `scim`). A client sees and changes only what
//! it provisioned (`scim_resources`): an account made otherwise (a citizen's, another client's)
//! is neither listed nor taken over; its username is a `uniqueness` conflict. Discovery
//! (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`) needs no token (RFC 7644 §4).
//!
//! The schemas, filters, PATCH and listing are `idp_core::scim`; this module holds the HTTP
//! shape (errors, ETags, content types) and dispatch, shared by the single requests and `/Bulk`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idp_core::model::{Client, ClientType};
use idp_core::org::Membership;
use idp_core::scim::list::Query;
use idp_core::scim::schema::{self, GROUPS, Invalid, USERS};
use serde_json::{Value, json};

use crate::state::{AppState, TenantCtx};

mod bulk;
mod groups;
mod users;

/// The media type of SCIM messages (RFC 7644 §8.1).
const MEDIA: &str = "application/scim+json";

/// A refusal, as SCIM answers it (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "There is no such resource.")
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
    /// A failure of this server: logged, answered without its detail.
    pub fn failed(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "a SCIM request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "The request could not be completed; try again.")
    }
    pub fn json(&self) -> Value {
        let mut v =
            json!({"schemas": [schema::ERROR], "status": self.status.as_str(), "detail": self.detail});
        if let Some(t) = self.scim_type {
            v["scimType"] = json!(t);
        }
        v
    }
}

impl From<Invalid> for ScimError {
    fn from(e: Invalid) -> Self {
        ScimError::bad(e.scim_type, e.detail)
    }
}

impl From<idp_core::StoreError> for ScimError {
    fn from(e: idp_core::StoreError) -> Self {
        match e {
            idp_core::StoreError::Conflict(_) => ScimError::conflict("The value is taken."),
            other => ScimError::failed(other),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut res = scim_json(self.status, &self.json());
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\", error=\"invalid_token\""),
            );
        }
        res
    }
}

pub type Result<T> = std::result::Result<T, ScimError>;

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA));
    res
}

/// The caller: a tenant and a SCIM client with a live token of its own.
pub struct Scim {
    pub state: Arc<AppState>,
    pub t: Arc<TenantCtx>,
    pub client: Client,
    pub settings: idp_core::scim::Settings,
    /// `{issuer}/scim/v2`
    pub base: String,
    /// `scim:{client}`, the source of the memberships it makes.
    pub source: String,
}

async fn tenant(state: &AppState, slug: &str) -> Result<Arc<TenantCtx>> {
    match state.tenant(slug).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(ScimError::not_found()),
        Err(e) => Err(ScimError::failed(e.description)),
    }
}

fn base(t: &TenantCtx) -> String {
    format!("{}/scim/v2", t.endpoints.issuer)
}

impl Scim {
    /// The SCIM client behind the request's access token, or the refusal: 401 without a live
    /// token, 403 for a token that is a person's, lacks the `scim` scope, names another
    /// resource, or whose client is no longer a SCIM client.
    pub async fn caller(state: Arc<AppState>, slug: &str, headers: &HeaderMap) -> Result<Scim> {
        let t = tenant(&state, slug).await?;
        let unauthorized =
            || ScimError::new(StatusCode::UNAUTHORIZED, None, "A valid access token is required.");
        let token = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            Some(v) if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") => v[7..].trim().to_string(),
            _ => return Err(unauthorized()),
        };
        let at = match state.read_ctx(&t).access_token(&token).await {
            Ok(Some(at)) => at,
            Ok(None) => return Err(unauthorized()),
            Err(e) => return Err(ScimError::failed(e.description)),
        };
        let forbidden = |why: &str| ScimError::new(StatusCode::FORBIDDEN, None, why);
        let base = base(&t);
        if at.authz.account_id.is_some() {
            return Err(forbidden("SCIM takes a client's own token (client_credentials), not a person's."));
        }
        if !at.authz.scope.iter().any(|s| s == idp_core::scim::SCOPE) {
            return Err(forbidden("The access token lacks the scim scope."));
        }
        if at.authz.resource.as_deref().is_some_and(|r| r.trim_end_matches('/') != base) {
            return Err(forbidden("The access token is for another resource."));
        }
        let client =
            state.store().client(&t.tenant.id, &at.authz.client_id).await.map_err(ScimError::failed)?;
        let Some(client) = client.filter(|c| !c.disabled && c.client_type == ClientType::Service) else {
            return Err(forbidden("The client may not provision by SCIM."));
        };
        let scoped = client.settings.scope.split(' ').any(|s| s == idp_core::scim::SCOPE);
        let Some(settings) = client.settings.scim.clone().filter(|_| scoped) else {
            return Err(forbidden("The client may not provision by SCIM."));
        };
        let source = idp_core::scim::source(&client.client_id);
        Ok(Scim { state, t, client, settings, base, source })
    }

    pub fn now(&self) -> i64 {
        self.state.env().now()
    }

    pub fn tenant_id(&self) -> &str {
        &self.t.tenant.id
    }

    /// Audits what the client did.
    pub async fn audit(&self, kind: &str, account: Option<&str>, mut detail: Value) -> Result<()> {
        detail["via"] = json!("scim");
        detail["client"] = json!(self.client.client_id);
        let by = self.source.clone();
        self.state.ops.audit_by(self.tenant_id(), kind, account, detail, &by).await.map_err(ScimError::failed)
    }

    /// The client's active memberships (those it made) of an account, or in an organisation.
    pub async fn memberships_of_account(&self, account_id: &str) -> Result<Vec<Membership>> {
        let now = self.now();
        let all = self.state.store().memberships(account_id).await?;
        Ok(all.into_iter().filter(|m| m.source.as_deref() == Some(&self.source) && m.active(now)).collect())
    }

    pub async fn memberships_in(&self, org_id: &str) -> Result<Vec<Membership>> {
        let now = self.now();
        let all = self.state.store().members_of(self.tenant_id(), org_id).await?;
        Ok(all.into_iter().filter(|m| m.source.as_deref() == Some(&self.source) && m.active(now)).collect())
    }

    /// Makes `account` staff of `org` with `roles`.
    pub async fn join(&self, account_id: &str, org_id: &str, roles: &[String]) -> Result<()> {
        let m = Membership {
            id: idp_core::crypto::random_token(self.state.env(), 9).replace(['-', '_'], "x"),
            tenant_id: self.tenant_id().to_string(),
            account_id: account_id.to_string(),
            organisation_id: org_id.to_string(),
            kind: "staff".into(),
            roles: roles.to_vec(),
            created_at: self.now(),
            revoked_at: None,
            matters: vec![],
            starts_at: None,
            expires_at: None,
            confirmed_at: None,
            granted_by: None,
            source: Some(self.source.clone()),
        };
        self.state.store().insert_membership(&m).await?;
        let detail = json!({"membership": m.id, "organisation": org_id, "kind": "staff", "roles": roles});
        self.audit("membership_granted", Some(account_id), detail).await
    }

    /// Ends a membership the client made.
    pub async fn end(&self, m: &Membership, why: &str) -> Result<()> {
        if let Some(m) = self.state.store().revoke_membership(self.tenant_id(), &m.id, self.now()).await? {
            let detail = json!({"membership": m.id, "organisation": m.organisation_id, "reason": why});
            self.audit("membership_ended", Some(&m.account_id), detail).await?;
        }
        Ok(())
    }

    pub fn location(&self, rt: &schema::ResourceType, id: &str) -> String {
        format!("{}{}/{id}", self.base, rt.endpoint)
    }
}

/// `meta` of a resource, and its weak ETag (RFC 7644 §3.14): a digest of everything else it
/// shows, so any change to the account, department or memberships behind it changes it too.
pub fn finish(
    rt: &schema::ResourceType,
    location: String,
    created: i64,
    modified: i64,
    mut v: Value,
) -> Value {
    let digest = idp_core::crypto::sha256_hex(v.to_string().as_bytes());
    let version = format!("W/\"{}\"", &digest[..20]);
    v["meta"] = json!({
        "resourceType": rt.name,
        "created": idp_core::identifiers::CalendarDate::rfc3339_utc(created),
        "lastModified": idp_core::identifiers::CalendarDate::rfc3339_utc(modified),
        "location": location,
        "version": version,
    });
    v
}

fn version_of(v: &Value) -> Option<&str> {
    v.get("meta")?.get("version")?.as_str()
}

/// Whether `If-Match` (when given) names the resource's current version.
pub fn check_if_match(if_match: Option<&str>, current: &Value) -> Result<()> {
    let Some(wanted) = if_match else { return Ok(()) };
    let strip = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_string();
    let now = version_of(current).map(strip).unwrap_or_default();
    if wanted.split(',').any(|w| w.trim() == "*" || strip(w) == now) {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "The resource changed since that version: read it again.",
        ))
    }
}

/// What one operation answers (a single request's response, or one of `/Bulk`'s).
pub struct Outcome {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl Outcome {
    fn resource(status: StatusCode, v: Value) -> Outcome {
        Outcome { status, body: Some(v) }
    }
    pub fn location(&self) -> Option<&str> {
        self.body.as_ref()?.get("meta")?.get("location")?.as_str()
    }
    pub fn version(&self) -> Option<&str> {
        version_of(self.body.as_ref()?)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    fn of(endpoint: &str) -> Option<Kind> {
        match endpoint {
            "Users" => Some(Kind::User),
            "Groups" => Some(Kind::Group),
            _ => None,
        }
    }
}

/// One operation on a resource: the single requests and `/Bulk` both come here.
pub async fn dispatch(
    s: &Scim,
    method: &Method,
    kind: Kind,
    id: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Result<Outcome> {
    let need_body =
        || body.clone().ok_or_else(|| ScimError::bad("invalidSyntax", "The request needs a body."));
    let out = match (kind, method.as_str(), id) {
        (Kind::User, "POST", None) => {
            Outcome::resource(StatusCode::CREATED, users::create(s, need_body()?).await?)
        }
        (Kind::User, "PUT", Some(id)) => {
            Outcome::resource(StatusCode::OK, users::replace(s, id, need_body()?, if_match, false).await?)
        }
        (Kind::User, "PATCH", Some(id)) => {
            Outcome::resource(StatusCode::OK, users::replace(s, id, need_body()?, if_match, true).await?)
        }
        (Kind::User, "DELETE", Some(id)) => {
            users::delete(s, id, if_match).await?;
            Outcome { status: StatusCode::NO_CONTENT, body: None }
        }
        (Kind::Group, "POST", None) => {
            Outcome::resource(StatusCode::CREATED, groups::create(s, need_body()?).await?)
        }
        (Kind::Group, "PUT", Some(id)) => {
            Outcome::resource(StatusCode::OK, groups::replace(s, id, need_body()?, if_match, false).await?)
        }
        (Kind::Group, "PATCH", Some(id)) => {
            Outcome::resource(StatusCode::OK, groups::replace(s, id, need_body()?, if_match, true).await?)
        }
        (Kind::Group, "DELETE", Some(id)) => {
            groups::delete(s, id, if_match).await?;
            Outcome { status: StatusCode::NO_CONTENT, body: None }
        }
        _ => {
            return Err(ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "That method is not allowed here.",
            ));
        }
    };
    Ok(out)
}

/// The request's body as JSON: SCIM's media type or plain JSON (RFC 7644 §3.1).
fn body_json(headers: &HeaderMap, body: std::result::Result<Bytes, BytesRejection>) -> Result<Value> {
    // a body over the limit (or unreadable) is refused as SCIM refuses, not in plain text
    let body = body.map_err(|e| ScimError::new(e.status(), None, e.body_text()))?;
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(MEDIA) && !media.eq_ignore_ascii_case("application/json") {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Send application/scim+json (or application/json).",
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("The body is not JSON: {e}")))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn answer(kind: Kind, out: Outcome) -> Response {
    let Some(body) = &out.body else { return out.status.into_response() };
    let mut res = scim_json(out.status, &project_default(kind, body.clone()));
    if let Some(v) = out.version().and_then(|v| HeaderValue::from_str(v).ok()) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if out.status == StatusCode::CREATED
        && let Some(l) = out.location().and_then(|l| HeaderValue::from_str(l).ok())
    {
        res.headers_mut().insert(header::LOCATION, l);
    }
    res
}

fn rt_of(kind: Kind) -> &'static schema::ResourceType {
    match kind {
        Kind::User => &USERS,
        Kind::Group => &GROUPS,
    }
}

fn project_default(kind: Kind, v: Value) -> Value {
    schema::project(rt_of(kind), v, &[], &[])
}

/// The `ListResponse` of a search (from a URL or a `SearchRequest`).
async fn found(s: &Scim, kind: Kind, query: Query) -> Result<Response> {
    let search = query.check(rt_of(kind))?;
    let resources = match kind {
        Kind::User => users::all(s, &search).await?,
        Kind::Group => groups::all(s, &search).await?,
    };
    Ok(scim_json(StatusCode::OK, &search.answer(rt_of(kind), resources)))
}

/// The record of a resource the client provisioned (404 for anyone else's).
pub async fn owned(s: &Scim, kind: &str, id: &str) -> Result<idp_core::scim::Record> {
    s.state
        .store()
        .scim_record(s.tenant_id(), kind, id)
        .await?
        .filter(|r| r.client_id == s.client.client_id)
        .ok_or_else(ScimError::not_found)
}

async fn one(s: &Scim, kind: Kind, id: &str) -> Result<Value> {
    match kind {
        Kind::User => users::read(s, id).await,
        Kind::Group => groups::read(s, id).await,
    }
}

/// An endpoint this provider does not have: `/Me` is answered as RFC 7644 §3.11 asks (501),
/// anything else as not found.
fn no_endpoint(endpoint: &str) -> ScimError {
    if endpoint == "Me" {
        ScimError::new(
            StatusCode::NOT_IMPLEMENTED,
            None,
            "/Me is not offered: a SCIM client acts for itself.",
        )
    } else {
        ScimError::not_found()
    }
}

/// The caller and the resource type a request to `/{endpoint}…` is for.
async fn opened(
    state: Arc<AppState>,
    slug: &str,
    endpoint: &str,
    headers: &HeaderMap,
) -> Result<(Scim, Kind)> {
    let kind = Kind::of(endpoint).ok_or_else(|| no_endpoint(endpoint))?;
    Ok((Scim::caller(state, slug, headers).await?, kind))
}

async fn list(
    State(state): State<Arc<AppState>>,
    Path((slug, ep)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let (s, kind) = opened(state, &slug, &ep, &headers).await?;
        let q = q.unwrap_or_default();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let query = Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        found(&s, kind, query).await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn search(
    State(state): State<Arc<AppState>>,
    Path((slug, ep)): Path<(String, String)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let (s, kind) = opened(state, &slug, &ep, &headers).await?;
        let body = body_json(&headers, body)?;
        let schemas_ok = body
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == schema::SEARCH));
        if !schemas_ok {
            return Err(ScimError::bad("invalidValue", format!("schemas must list {}", schema::SEARCH)));
        }
        let query: Query =
            serde_json::from_value(body).map_err(|e| ScimError::bad("invalidSyntax", e.to_string()))?;
        found(&s, kind, query).await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn create(
    State(state): State<Arc<AppState>>,
    Path((slug, ep)): Path<(String, String)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let (s, kind) = opened(state, &slug, &ep, &headers).await?;
        let body = body_json(&headers, body)?;
        let out = dispatch(&s, &Method::POST, kind, None, Some(body), None).await?;
        Ok::<_, ScimError>(answer(kind, out))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn get_one(
    State(state): State<Arc<AppState>>,
    Path((slug, ep, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let (s, kind) = opened(state, &slug, &ep, &headers).await?;
        let v = one(&s, kind, &id).await?;
        let version = version_of(&v).unwrap_or_default().to_string();
        if let Some(none_match) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok())
            && none_match.split(',').any(|w| w.trim() == version || w.trim() == "*")
        {
            let mut res = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&version) {
                res.headers_mut().insert(header::ETAG, v);
            }
            return Ok(res);
        }
        let q = q.unwrap_or_default();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let attributes = schema::paths(rt_of(kind), get("attributes"))?;
        let excluded = schema::paths(rt_of(kind), get("excludedAttributes"))?;
        let mut res = scim_json(StatusCode::OK, &schema::project(rt_of(kind), v, &attributes, &excluded));
        if let Ok(v) = HeaderValue::from_str(&version) {
            res.headers_mut().insert(header::ETAG, v);
        }
        Ok::<_, ScimError>(res)
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn change(
    State(state): State<Arc<AppState>>,
    Path((slug, ep, id)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let (s, kind) = opened(state, &slug, &ep, &headers).await?;
        let body = if method == Method::DELETE { None } else { Some(body_json(&headers, body)?) };
        let out = dispatch(&s, &method, kind, Some(&id), body, if_match(&headers).as_deref()).await?;
        Ok::<_, ScimError>(answer(kind, out))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn bulk(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        let s = Scim::caller(state, &slug, &headers).await?;
        let body = body_json(&headers, body)?;
        Ok::<_, ScimError>(scim_json(StatusCode::OK, &bulk::run(&s, body).await?))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

fn listing(items: Vec<Value>) -> Value {
    json!({"schemas": [schema::LIST], "totalResults": items.len(), "startIndex": 1, "itemsPerPage": items.len(), "Resources": items})
}

async fn service_provider_config(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let run = async {
        let t = tenant(&state, &slug).await?;
        let base = base(&t);
        Ok::<_, ScimError>(scim_json(
            StatusCode::OK,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
                "patch": {"supported": true},
                "bulk": {"supported": true, "maxOperations": bulk::MAX_OPERATIONS, "maxPayloadSize": crate::http::BODY_LIMIT},
                "filter": {"supported": true, "maxResults": idp_core::scim::list::MAX_RESULTS},
                "changePassword": {"supported": true},
                "sort": {"supported": true},
                "etag": {"supported": true},
                "authenticationSchemes": [{
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "An access token of the client's own (client_credentials) with the scim scope.",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": true,
                }],
                "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
            }),
        ))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn resource_types(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let run = async {
        let base = base(&*tenant(&state, &slug).await?);
        Ok::<_, ScimError>(scim_json(
            StatusCode::OK,
            &listing(vec![USERS.to_json(&base), GROUPS.to_json(&base)]),
        ))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn resource_type(
    State(state): State<Arc<AppState>>,
    Path((slug, name)): Path<(String, String)>,
) -> Response {
    let run = async {
        let base = base(&*tenant(&state, &slug).await?);
        let rt = [&USERS, &GROUPS].into_iter().find(|r| r.name == name).ok_or_else(ScimError::not_found)?;
        Ok::<_, ScimError>(scim_json(StatusCode::OK, &rt.to_json(&base)))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn schemas(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let run = async {
        let base = base(&*tenant(&state, &slug).await?);
        Ok::<_, ScimError>(scim_json(
            StatusCode::OK,
            &listing(schema::all().iter().map(|s| s.to_json(&base)).collect()),
        ))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn one_schema(
    State(state): State<Arc<AppState>>,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let run = async {
        let base = base(&*tenant(&state, &slug).await?);
        let s = schema::all().into_iter().find(|s| s.id == id).ok_or_else(ScimError::not_found)?;
        Ok::<_, ScimError>(scim_json(StatusCode::OK, &s.to_json(&base)))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// What the rest of the site answers for a path it does not have, under `/scim/v2/` (a
/// trailing slash, a path too deep): a SCIM error, which SCIM clients can read.
pub fn not_found() -> Response {
    ScimError::not_found().into_response()
}

pub fn routes() -> Router<Arc<AppState>> {
    const B: &str = "/t/{tenant}/scim/v2";
    Router::new()
        .route(&format!("{B}/ServiceProviderConfig"), get(service_provider_config))
        .route(&format!("{B}/ResourceTypes"), get(resource_types))
        .route(&format!("{B}/ResourceTypes/{{name}}"), get(resource_type))
        .route(&format!("{B}/Schemas"), get(schemas))
        .route(&format!("{B}/Schemas/{{id}}"), get(one_schema))
        .route(&format!("{B}/Bulk"), post(bulk))
        .route(&format!("{B}/{{endpoint}}"), get(list).post(create))
        .route(&format!("{B}/{{endpoint}}/.search"), post(search))
        .route(&format!("{B}/{{endpoint}}/{{id}}"), get(get_one).put(change).patch(change).delete(change))
        .method_not_allowed_fallback(|| async {
            ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "That method is not allowed here.")
                .into_response()
        })
}
