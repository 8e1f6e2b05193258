//! Department applications: register, edit, rotate secrets, disable and enable.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Admin, Layout, Posted, field, layout, page, rows, segment, txt};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "clients.html")]
pub struct ClientsPage {
    pub l: Layout,
    /// (client_id, name, type, scope, disabled, rotatable)
    pub rows: Vec<(String, String, String, String, bool, bool)>,
    /// A secret to show once.
    pub secret: Option<Shown>,
}

/// A client secret shown once.
pub struct Shown {
    pub client: String,
    pub secret: String,
}

async fn clients_page(shared: &Shared, a: &Admin, secret: Option<Shown>, error: Option<String>) -> Response {
    let t = a.t;
    let mut l = layout(a, "clients", "/clients");
    let list = match api::get(shared, &a.token, "clients").await {
        Ok(v) => rows(&v),
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .iter()
        .map(|c| {
            let kind = txt(c, "type");
            let rotatable = kind != "spa";
            (txt(c, "client_id"), txt(c, "name"), kind, txt(c, "scope"), c["disabled"] == true, rotatable)
        })
        .collect();
    if error.is_some() {
        l.error = error;
    }
    page(t, &ClientsPage { l, rows, secret })
}

pub async fn clients(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    clients_page(&shared, &a, None, None).await
}

pub async fn register_client(State(shared): State<Arc<Shared>>, Posted { a, p }: Posted) -> Response {
    let mut new =
        json!({"name": field(&p, "name").unwrap_or_default(), "type": field(&p, "type").unwrap_or("web")});
    if let Some(uri) = field(&p, "redirect_uri") {
        new["redirect_uris"] = json!([uri]);
    }
    if let Some(scope) = field(&p, "scope") {
        new["scope"] = json!(scope);
    }
    if let Some(place) = field(&p, "location") {
        new["location"] = json!(place);
    }
    match api::post(&shared, &a.token, "clients", &new).await {
        Ok(c) => {
            let secret = c["client_secret"]
                .as_str()
                .map(|x| Shown { client: txt(&c, "client_id"), secret: x.to_string() });
            clients_page(&shared, &a, secret, None).await
        }
        Err(e) => clients_page(&shared, &a, None, Some(e)).await,
    }
}

/// `POST /clients/{id}/{rotate|disable|enable}`.
pub async fn client_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    Posted { a, p }: Posted,
) -> Response {
    if matches!(action.as_str(), "disable" | "enable") {
        let path = format!("clients/{}/{action}", segment(&id));
        let error = api::post(&shared, &a.token, &path, &json!({})).await.err();
        return clients_page(&shared, &a, None, error).await;
    }
    let overlap: i64 = field(&p, "overlap").and_then(|v| v.parse().ok()).unwrap_or(0);
    let path = format!("clients/{}/rotate-secret", segment(&id));
    match api::post(&shared, &a.token, &path, &json!({"overlap_seconds": overlap})).await {
        Ok(c) => {
            let secret = c["client_secret"]
                .as_str()
                .map(|x| Shown { client: txt(&c, "client_id"), secret: x.to_string() });
            clients_page(&shared, &a, secret, None).await
        }
        Err(e) => clients_page(&shared, &a, None, Some(e)).await,
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
    pub jwt: bool,
    pub access_ttl: String,
    pub refresh_ttl: String,
    pub sector: String,
    /// A kiosk's hall and place.
    pub location: String,
    pub backchannel_uri: String,
    pub frontchannel_uri: String,
    /// The back-channel logout deliveries: (created, sid, status, attempts, last error).
    pub deliveries: Vec<(String, String, String, i64, String)>,
}

async fn client_page(
    shared: &Shared,
    a: &Admin,
    id: &str,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let t = a.t;
    let id = segment(id);
    let mut l = layout(a, "clients", &format!("/clients/{id}"));
    let c = api::get(shared, &a.token, &format!("clients/{id}")).await.unwrap_or_else(|e| {
        l.error = Some(e);
        Value::Null
    });
    l.message = message;
    if error.is_some() {
        l.error = error;
    }
    let lines = |v: &Value| {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")
    };
    let purposes = c["purposes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n");
    let p = ClientPage {
        l,
        kind: txt(&c, "type"),
        organisation: txt(&c, "organisation_id"),
        name: txt(&c, "name"),
        redirect_uris: lines(&c["redirect_uris"]),
        logout_uris: lines(&c["post_logout_redirect_uris"]),
        scope: txt(&c, "scope"),
        purposes,
        statutory: c["consent"] == "statutory",
        min_acr: txt(&c, "min_acr"),
        min_realname: c["min_realname_level"].as_i64().unwrap_or(0),
        jwt: c["access_token_format"] != "opaque",
        access_ttl: txt(&c, "access_token_ttl"),
        refresh_ttl: txt(&c, "refresh_token_ttl"),
        sector: txt(&c, "sector"),
        location: txt(&c, "location"),
        backchannel_uri: txt(&c, "backchannel_logout_uri"),
        frontchannel_uri: txt(&c, "frontchannel_logout_uri"),
        deliveries: deliveries(shared, a, &id).await,
        id,
    };
    page(t, &p)
}

/// The client's back-channel logout deliveries, newest first (none when they cannot be read).
async fn deliveries(shared: &Shared, a: &Admin, id: &str) -> Vec<(String, String, String, i64, String)> {
    let list =
        api::get(shared, &a.token, &format!("clients/{id}/logout-deliveries")).await.unwrap_or_default();
    list.as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                super::utc(d["created_at"].as_i64().unwrap_or(0)),
                txt(d, "sid"),
                txt(d, "status"),
                d["attempts"].as_i64().unwrap_or(0),
                txt(d, "last_error"),
            )
        })
        .collect()
}

pub async fn client(State(shared): State<Arc<Shared>>, Path(id): Path<String>, a: Admin) -> Response {
    client_page(&shared, &a, &id, None, None).await
}

/// `POST /clients/{id}`: the edit form, sent to the admin API as one PATCH.
pub async fn edit_client(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Posted { a, p }: Posted,
) -> Response {
    let t = a.t;
    let lines = |k: &str| -> Vec<String> {
        field(&p, k)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    };
    let mut purposes = serde_json::Map::new();
    for line in lines("purposes") {
        match line.split_once(':') {
            Some((scope, why)) => {
                purposes.insert(scope.trim().to_string(), json!(why.trim()));
            }
            None => {
                return client_page(&shared, &a, &id, None, Some(format!("{}: {line}", t.purposes))).await;
            }
        }
    }
    let number = |k: &str| field(&p, k).and_then(|v| v.parse::<i64>().ok());
    let mut change = json!({
        "name": field(&p, "name").unwrap_or_default(),
        "scope": field(&p, "scope").unwrap_or_default(),
        "purposes": purposes,
        "consent": field(&p, "consent").unwrap_or("ask"),
        "min_acr": field(&p, "min_acr").unwrap_or_default(),
        "min_realname_level": number("min_realname_level").unwrap_or(0),
        "access_token_format": field(&p, "access_token_format").unwrap_or("jwt"),
        "sector": field(&p, "sector").unwrap_or_default(),
    });
    if field(&p, "type") == Some("kiosk") {
        change["location"] = json!(field(&p, "location").unwrap_or_default());
    }
    if matches!(field(&p, "type"), Some("web" | "spa")) {
        change["redirect_uris"] = json!(lines("redirect_uris"));
        change["post_logout_redirect_uris"] = json!(lines("logout_uris"));
        for k in ["backchannel_logout_uri", "frontchannel_logout_uri"] {
            change[k] = json!(field(&p, k).unwrap_or_default().trim());
        }
    }
    for (k, f) in [("access_token_ttl", "access_ttl"), ("refresh_token_ttl", "refresh_ttl")] {
        if let Some(n) = number(f) {
            change[k] = json!(n);
        }
    }
    let path = format!("clients/{}", segment(&id));
    match api::send(&shared, &a.token, reqwest::Method::PATCH, &path, Some(&change)).await {
        Ok(_) => client_page(&shared, &a, &id, Some(t.saved.into()), None).await,
        Err(e) => client_page(&shared, &a, &id, None, Some(e)).await,
    }
}
