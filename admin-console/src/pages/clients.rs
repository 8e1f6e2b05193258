//! Department applications: register, edit, rotate secrets, disable and enable.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use idp_proto::{ClientInfo, ClientRequest, LogoutDeliveryInfo, SecretRotation};
use serde::de::IgnoredAny;

use super::table::{Header, ListQuery, csv, paginate};
use super::{Admin, Layout, Posted, field, layout, opt, page, segment};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "clients.html")]
pub struct ClientsPage {
    pub l: Layout,
    pub q: ListQuery,
    /// The sortable columns: name, type, state.
    pub heads: Vec<Header>,
    /// (client_id, name, type, scope, disabled, rotatable)
    pub rows: Vec<(String, String, String, String, bool, bool)>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    /// This list's query without the page (for the paging and export links).
    pub here: String,
}

/// The tenant's clients the query selects, sorted as it asks.
async fn selected(shared: &Shared, a: &Admin, q: &ListQuery) -> Result<Vec<ClientInfo>, String> {
    let mut list: Vec<ClientInfo> = api::get(shared, &a.token, "clients").await?;
    list.retain(|c| {
        q.matches(&[&c.name, &c.client_id])
            && (q.kind.is_empty() || c.client_type == q.kind)
            && match q.state.as_str() {
                "enabled" => !c.disabled,
                "disabled" => c.disabled,
                _ => true,
            }
    });
    match q.sort.as_str() {
        "type" => list.sort_by(|x, y| x.client_type.cmp(&y.client_type).then(x.name.cmp(&y.name))),
        "state" => list.sort_by(|x, y| x.disabled.cmp(&y.disabled).then(x.name.cmp(&y.name))),
        _ => list.sort_by(|x, y| x.name.cmp(&y.name)),
    }
    if q.desc() {
        list.reverse();
    }
    Ok(list)
}

pub async fn clients(State(shared): State<Arc<Shared>>, Query(q): Query<ListQuery>, a: Admin) -> Response {
    let (shared, a) = (&*shared, &a);
    let t = a.t;
    let mut l = layout(a, "clients", "/clients");
    let list = selected(shared, a, &q).await.unwrap_or_else(|e| {
        l.error = Some(e);
        vec![]
    });
    let paged = paginate(list, q.page_no());
    let rows = paged
        .rows
        .into_iter()
        .map(|c| {
            let rotatable = !matches!(c.client_type.as_str(), "spa" | "cas" | "saml");
            (c.client_id, c.name, c.client_type, c.scope, c.disabled, rotatable)
        })
        .collect();
    let heads = vec![q.header("name", t.name), q.header("type", t.client_type), q.header("state", t.state)];
    let here = q.with(&[("page", "")]);
    let p = ClientsPage { l, heads, rows, page: paged.page, pages: paged.pages, total: paged.total, here, q };
    page(a, &p)
}

/// `GET /clients/export`: the selected clients as CSV.
pub async fn export_clients(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<ListQuery>,
    a: Admin,
) -> Response {
    match selected(&shared, &a, &q).await {
        Ok(list) => csv(
            "clients.csv",
            &["client_id", "name", "type", "scope", "disabled"],
            list.into_iter()
                .map(|c| vec![c.client_id, c.name, c.client_type, c.scope, c.disabled.to_string()]),
        ),
        Err(e) => (axum::http::StatusCode::FORBIDDEN, a.t.api_says(&e)).into_response(),
    }
}

pub async fn register_client(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let (a, p) = (&posted.a, &posted.p);
    let new = ClientRequest {
        name: Some(field(p, "name").unwrap_or_default().into()),
        client_type: Some(field(p, "type").unwrap_or("web").into()),
        redirect_uris: field(p, "redirect_uri").map(|uri| vec![uri.into()]),
        services: field(p, "service").map(|s| vec![s.into()]),
        saml_metadata: field(p, "saml_metadata").map(String::from),
        saml_metadata_url: field(p, "saml_metadata_url").map(String::from),
        scope: field(p, "scope").map(String::from),
        location: field(p, "location").map(String::from),
        ..ClientRequest::default()
    };
    match api::post::<_, ClientInfo>(&shared, &a.token, "clients", Some(&new)).await {
        Ok(c) => shown(&posted, c, a.t.registered),
        Err(e) => posted.refused(e),
    }
}

/// Done with a client: its secret, if the answer has one, shown once on the page.
fn shown(posted: &Posted, c: ClientInfo, done: &str) -> Response {
    let message = format!("{}: {done}", c.name);
    match c.client_secret {
        Some(secret) => posted.secret((c.client_id, c.name, secret), message),
        None => posted.ok(message),
    }
}

/// `POST /clients/{id}/{rotate|disable|enable}`.
pub async fn client_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let (a, p) = (&posted.a, &posted.p);
    let t = a.t;
    if matches!(action.as_str(), "disable" | "enable") {
        let path = format!("clients/{}/{action}", segment(&id));
        return match api::post::<(), ClientInfo>(&shared, &a.token, &path, None).await {
            Ok(c) => {
                posted.ok(format!("{}: {}", c.name, if action == "disable" { t.disabled } else { t.enabled }))
            }
            Err(e) => posted.refused(e),
        };
    }
    // the overlap is chosen in days (0-30) and sent in seconds
    let overlap = match field(p, "overlap_days").unwrap_or("0").parse::<i64>() {
        Ok(d) if (0..=30).contains(&d) => d * 86_400,
        _ => return posted.refused(t.overlap_range),
    };
    let path = format!("clients/{}/rotate-secret", segment(&id));
    let rotation = SecretRotation { overlap_seconds: overlap };
    match api::post::<_, ClientInfo>(&shared, &a.token, &path, Some(&rotation)).await {
        Ok(c) => shown(&posted, c, t.rotated),
        Err(e) => posted.refused(e),
    }
}

#[derive(Template)]
#[template(path = "client.html")]
pub struct ClientPage {
    pub l: Layout,
    pub id: String,
    pub kind: String,
    pub organisation: String,
    pub name: String,
    pub redirect_uris: String,
    pub logout_uris: String,
    pub scope: String,
    /// `scope: why` lines.
    pub purposes: String,
    pub statutory: bool,
    pub min_acr: String,
    pub min_realname: i64,
    /// The upstream identity provider every sign-in goes through ("": any way).
    pub upstream: String,
    pub jwt: bool,
    pub access_ttl: String,
    pub refresh_ttl: String,
    pub sector: String,
    /// A kiosk's hall and place.
    pub location: String,
    pub backchannel_uri: String,
    pub frontchannel_uri: String,
    /// A CAS service's URLs, one per line; its ticket life, single logout and proxy callbacks.
    pub services: String,
    pub ticket_ttl: String,
    pub single_logout: bool,
    pub proxy_callbacks: String,
    /// A SAML service provider's entity ID, consumer services and default NameID format.
    pub saml_entity: String,
    pub saml_acs: String,
    pub saml_name_id: String,
    /// The back-channel logout deliveries: (created, sid, status, attempts, last error).
    pub deliveries: Vec<(String, String, String, i64, String)>,
}

pub async fn client(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    let (shared, a) = (&*shared, &a);
    let id = segment(&id);
    let mut l = layout(a, "clients", &format!("/clients/{id}"));
    let c: Option<ClientInfo> = match api::get(shared, &a.token, &format!("clients/{id}")).await {
        Ok(c) => Some(c),
        Err(e) => {
            l.error = Some(e);
            None
        }
    };
    let deliveries = deliveries(shared, a, &id).await;
    let p = match c {
        Some(c) => ClientPage {
            l,
            kind: c.client_type,
            organisation: opt(&c.organisation_id),
            name: c.name,
            redirect_uris: c.redirect_uris.join("\n"),
            logout_uris: c.post_logout_redirect_uris.join("\n"),
            scope: c.scope,
            purposes: c.purposes.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
            statutory: c.consent == "statutory",
            min_acr: opt(&c.min_acr),
            min_realname: c.min_realname_level.unwrap_or(0),
            upstream: opt(&c.upstream),
            jwt: c.access_token_format != "opaque",
            access_ttl: minutes(c.access_token_ttl),
            refresh_ttl: minutes(c.refresh_token_ttl),
            sector: opt(&c.sector),
            location: opt(&c.location),
            backchannel_uri: opt(&c.backchannel_logout_uri),
            frontchannel_uri: opt(&c.frontchannel_logout_uri),
            services: c.cas.as_ref().map(|x| x.services.join("\n")).unwrap_or_default(),
            ticket_ttl: c.cas.as_ref().map(|x| x.ticket_ttl.to_string()).unwrap_or_default(),
            single_logout: c.cas.as_ref().is_some_and(|x| x.single_logout),
            proxy_callbacks: c.cas.as_ref().map(|x| x.proxy_callbacks.join("\n")).unwrap_or_default(),
            saml_entity: c.saml.as_ref().map(|x| x.entity_id.clone()).unwrap_or_default(),
            saml_acs: c.saml.as_ref().map(|x| x.acs.join(" ")).unwrap_or_default(),
            saml_name_id: c.saml.as_ref().map(|x| x.name_id_format.clone()).unwrap_or_default(),
            deliveries,
            id,
        },
        // the client could not be read: an empty form under the problem
        None => ClientPage {
            l,
            kind: String::new(),
            organisation: String::new(),
            name: String::new(),
            redirect_uris: String::new(),
            logout_uris: String::new(),
            scope: String::new(),
            purposes: String::new(),
            statutory: false,
            min_acr: String::new(),
            min_realname: 0,
            upstream: String::new(),
            jwt: true,
            access_ttl: String::new(),
            refresh_ttl: String::new(),
            sector: String::new(),
            location: String::new(),
            backchannel_uri: String::new(),
            frontchannel_uri: String::new(),
            services: String::new(),
            ticket_ttl: String::new(),
            single_logout: false,
            proxy_callbacks: String::new(),
            saml_entity: String::new(),
            saml_acs: String::new(),
            saml_name_id: String::new(),
            deliveries,
            id,
        },
    };
    page(a, &p)
}

/// The client's back-channel logout deliveries, newest first (none when they cannot be read).
async fn deliveries(shared: &Shared, a: &Admin, id: &str) -> Vec<(String, String, String, i64, String)> {
    let path = format!("clients/{id}/logout-deliveries");
    let list: Vec<LogoutDeliveryInfo> = api::get(shared, &a.token, &path).await.unwrap_or_default();
    list.into_iter().map(|d| (a.at(d.created_at), d.sid, d.status, d.attempts, opt(&d.last_error))).collect()
}

/// `POST /clients/{id}`: the edit form, sent to the admin API as one PATCH.
pub async fn edit_client(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let (a, p) = (&posted.a, &posted.p);
    let t = a.t;
    let lines = |k: &str| -> Vec<String> {
        field(p, k)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    };
    let mut purposes = std::collections::BTreeMap::new();
    for line in lines("purposes") {
        match line.split_once(':') {
            Some((scope, why)) => {
                purposes.insert(scope.trim().to_string(), why.trim().to_string());
            }
            None => return posted.refused(format!("{}: {line}", t.purposes)),
        }
    }
    // lifetimes are typed in minutes, and a number is a number (not "abc" quietly ignored)
    let mut bad = None;
    let mut number = |k: &str, unit: i64| -> Option<i64> {
        let v = field(p, k)?;
        match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n * unit),
            _ => {
                bad.get_or_insert_with(|| format!("{}: {v}", t.field_label(k)));
                None
            }
        }
    };
    let min_realname_level = number("min_realname_level", 1);
    let access_token_ttl = number("access_ttl", 60);
    let refresh_token_ttl = number("refresh_ttl", 60);
    let ticket_ttl = number("ticket_ttl", 1);
    if let Some(bad) = bad {
        return posted.refused(format!("{}: {bad}", t.not_a_number));
    }
    let text = |k: &str| Some(field(p, k).unwrap_or_default().to_string());
    let mut change = ClientRequest {
        name: text("name"),
        scope: text("scope"),
        purposes: Some(purposes),
        consent: Some(field(p, "consent").unwrap_or("ask").into()),
        min_acr: text("min_acr"),
        min_realname_level: Some(min_realname_level.unwrap_or(0)),
        upstream: text("upstream"),
        access_token_format: Some(field(p, "access_token_format").unwrap_or("jwt").into()),
        sector: text("sector"),
        access_token_ttl,
        refresh_token_ttl,
        ..ClientRequest::default()
    };
    if field(p, "type") == Some("kiosk") {
        change.location = text("location");
    }
    if matches!(field(p, "type"), Some("cas" | "saml")) {
        // CAS services and SAML service providers have no tokens
        change.access_token_format = None;
        change.access_token_ttl = None;
        change.refresh_token_ttl = None;
    }
    if field(p, "type") == Some("saml") {
        // new metadata replaces the endpoints and certificates (a renewed SP certificate)
        change.saml_metadata = field(p, "saml_metadata").map(String::from);
    }
    if field(p, "type") == Some("cas") {
        change.services = Some(lines("services"));
        change.ticket_ttl = ticket_ttl;
        change.single_logout = Some(field(p, "single_logout") == Some("on"));
        change.proxy_callbacks = Some(lines("proxy_callbacks"));
        // a CAS service has no tokens
        change.access_token_format = None;
        change.access_token_ttl = None;
        change.refresh_token_ttl = None;
    }
    if matches!(field(p, "type"), Some("web" | "spa")) {
        change.redirect_uris = Some(lines("redirect_uris"));
        change.post_logout_redirect_uris = Some(lines("logout_uris"));
        change.backchannel_logout_uri = text("backchannel_logout_uri");
        change.frontchannel_logout_uri = text("frontchannel_logout_uri");
    }
    let path = format!("clients/{}", segment(&id));
    match api::send::<_, IgnoredAny>(&shared, &a.token, reqwest::Method::PATCH, &path, Some(&change)).await {
        Ok(_) => posted.ok(t.saved),
        Err(e) => posted.refused(e),
    }
}

/// Seconds as whole minutes for a form (rounded up: a lifetime is never shown shorter).
fn minutes(seconds: i64) -> String {
    ((seconds + 59) / 60).to_string()
}
