//! Upstream identity providers (identity brokering): listed, added, disabled, enabled and
//! removed by security administrators. The client secret is typed once and never shown.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use idp_proto::{UpstreamInfo, UpstreamRequest};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, layout, page, segment};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "upstreams.html")]
pub struct UpstreamsPage {
    pub l: Layout,
    pub rows: Vec<UpstreamInfo>,
}

impl UpstreamsPage {
    /// The button's words in the page's language.
    pub fn name_of(&self, u: &UpstreamInfo) -> String {
        let (zh, en) = (u.settings["name_zh"].as_str(), u.settings["name_en"].as_str());
        let (first, second) = if self.l.t.html_lang == "en" { (en, zh) } else { (zh, en) };
        first.filter(|n| !n.is_empty()).or(second).unwrap_or(&u.id).to_string()
    }
}

pub async fn upstreams(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let mut l = layout(&a, "upstreams", "/upstreams");
    let rows = match api::get::<Vec<UpstreamInfo>>(&shared, &a.token, "upstreams").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    page(&a, &UpstreamsPage { l, rows })
}

/// `POST /upstreams`: the form's fields, and the advanced settings (JSON) they are merged into.
pub async fn add_upstream(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let t = posted.a.t;
    let field = |n: &str| posted.field(n).map(str::trim).unwrap_or_default().to_string();
    let mut settings = match field("settings").as_str() {
        "" => serde_json::json!({}),
        text => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => v,
            _ => return posted.refused(t.upstream_settings_json),
        },
    };
    for name in ["name_zh", "name_en"] {
        if !field(name).is_empty() {
            settings[name] = field(name).into();
        }
    }
    settings["create_accounts"] = posted.field("create_accounts").is_some().into();
    settings["link_by_id_number"] = posted.field("link_by_id_number").is_some().into();
    let secret = field("client_secret");
    let req = UpstreamRequest {
        id: field("id"),
        issuer: field("issuer"),
        client_id: field("client_id"),
        auth: Some(field("auth")).filter(|a| !a.is_empty()),
        client_secret: Some(secret).filter(|s| !s.is_empty()),
        saml_metadata: Some(field("saml_metadata")).filter(|m| !m.trim().is_empty()),
        settings,
    };
    match api::post::<_, IgnoredAny>(&shared, &posted.a.token, "upstreams", Some(&req)).await {
        Ok(_) => posted.ok(format!("{} {}", t.upstream_added, req.id)),
        Err(e) => posted.refused(e),
    }
}

/// `POST /upstreams/{id}/{action}`: `disable`, `enable` or `remove`.
pub async fn upstream_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let path = format!("upstreams/{}", segment(&id));
    let done = match action.as_str() {
        "disable" | "enable" => {
            api::post::<(), IgnoredAny>(&shared, &posted.a.token, &format!("{path}/{action}"), None).await
        }
        "remove" => {
            api::send::<(), IgnoredAny>(&shared, &posted.a.token, reqwest::Method::DELETE, &path, None).await
        }
        _ => Err(posted.a.t.upstream_unknown_action.to_string()),
    };
    match done {
        Ok(_) => posted.ok(format!("{} {id}", posted.a.t.saved)),
        Err(e) => posted.refused(e),
    }
}
