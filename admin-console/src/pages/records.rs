//! Signing keys.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use idp_proto::{KeyInfo, KeyRevocation, KeyRotation};
use serde::de::IgnoredAny;

use super::{Admin, Layout, Posted, layout, page, segment};
use crate::{Shared, api};

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub l: Layout,
    /// (kid, alg, state, activates, retires)
    pub rows: Vec<(String, String, String, String, String)>,
    /// The tenant's cryptography profile (docs/cryptography.md), when it could be read.
    pub crypto: Option<idp_proto::TenantCrypto>,
    /// The algorithms a new key may be rotated in for: the profile's.
    pub algs: Vec<String>,
}

pub async fn keys(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    let shared = &*shared;
    let a = &a;
    let mut l = layout(a, "keys", "/keys");
    let list: Vec<KeyInfo> = match api::get(shared, &a.token, "keys").await {
        Ok(v) => v,
        Err(e) => {
            l.error = Some(e);
            vec![]
        }
    };
    let rows = list
        .into_iter()
        .map(|k| (k.kid, k.alg, k.state, a.at(k.activates_at), a.at_opt(k.retires_at)))
        .collect();
    let crypto =
        api::get::<idp_proto::TenantDetail>(shared, &a.token, "settings").await.ok().map(|t| t.crypto);
    let algs = match crypto.as_ref().map(|c| c.algs.clone()) {
        Some(algs) if !algs.is_empty() => algs,
        _ => ["ES256", "RS256", "PS256", "EdDSA"].map(String::from).to_vec(),
    };
    page(a, &KeysPage { l, rows, crypto, algs })
}

/// `POST /keys/{kid}/revoke`.
pub async fn revoke_key(
    State(shared): State<Arc<Shared>>,
    Path(kid): Path<String>,
    posted: Posted,
) -> Response {
    let path = format!("keys/{}/revoke", segment(&kid));
    // the kid typed in the confirmation, which the idp asks of the key signing administrators' tokens
    let confirm = KeyRevocation { confirm: posted.field("confirm_name").map(String::from) };
    match api::post::<_, IgnoredAny>(&shared, &posted.a.token, &path, Some(&confirm)).await {
        Ok(_) => posted.ok(format!("{} {kid}", posted.a.t.revoked)),
        Err(e) => posted.refused(e),
    }
}

/// `POST /keys/profile`: moves the tenant to another cryptography profile or SM2 user ID (the
/// idp lets its security administrators only; docs/cryptography.md).
pub async fn move_profile(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let crypto = idp_proto::TenantCrypto {
        profile: posted.field("profile").unwrap_or_default().to_string(),
        sm2_user_id: posted.field("sm2_user_id").map(str::trim).filter(|s| !s.is_empty()).map(String::from),
        default_sm2_user_id: false,
        algs: vec![],
    };
    let rules = idp_proto::TenantRules { crypto: Some(crypto), ..Default::default() };
    match api::send::<_, IgnoredAny>(&shared, &posted.a.token, reqwest::Method::PUT, "settings", Some(&rules))
        .await
    {
        Ok(_) => posted.ok(posted.a.t.profile_moved),
        Err(e) => posted.refused(e),
    }
}

pub async fn rotate_key(State(shared): State<Arc<Shared>>, posted: Posted) -> Response {
    let alg = posted.field("alg").unwrap_or("ES256");
    let rotation = KeyRotation { alg: alg.into() };
    match api::post::<_, IgnoredAny>(&shared, &posted.a.token, "keys/rotate", Some(&rotation)).await {
        Ok(_) => posted.ok(posted.a.t.rotated),
        Err(e) => posted.refused(e),
    }
}
