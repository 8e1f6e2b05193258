//! Tenants through the admin API. Creating, listing, disabling and enabling tenants belongs to
//! the system administrators of the administrators' own tenant (`admin_tenant`, by default
//! `main`), with a token of that tenant; a tenant's own rules (offered factors, sessions,
//! lockout, passwords) to its security administrators; its branding (name, logo, colours) and,
//! in a sandbox tenant, synthetic people to its system administrators. The rules and the
//! branding of every tenant are also open to the administrators' tenant's security and system
//! administrators respectively (`admin_of`), as Keycloak's master realm configures every realm.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idp_core::admin::{Caller, SYSTEM_ADMIN};
use idp_core::branding;
use idp_core::model::{Tenant, TenantPolicy};
use idp_proto::{BrandingSummary, LogoSummary, NewTenant, SyntheticPeople, TenantDetail, TenantRules};

use super::{caller, forbidden, json_body, ok, problem, refused};
use crate::state::State;
use crate::state::TenantCtx;

fn info(state: &crate::state::AppState, t: &Tenant) -> TenantDetail {
    let b = &t.settings.branding;
    TenantDetail {
        slug: t.slug.clone(),
        name: t.name.clone(),
        issuer: state.config().issuer(&t.slug),
        disabled: t.disabled,
        created_at: t.created_at,
        sandbox: t.settings.sandbox,
        factors: t
            .settings
            .factors
            .named()
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| n.into())
            .collect(),
        policy: policy_out(&t.settings.policy),
        defaults: {
            let c = state.config();
            idp_proto::TenantPolicy {
                session_idle_seconds: Some(c.sessions.idle_seconds),
                session_absolute_seconds: Some(c.sessions.absolute_seconds),
                lockout_threshold: Some(c.limits.lockout_threshold),
                lockout_seconds: Some(c.limits.lockout_seconds),
                password_min_length: Some(8),
                password_min_classes: Some(3),
                time_zone: Some(idp_core::model::DEFAULT_TIME_ZONE.into()),
                ..idp_proto::TenantPolicy::default()
            }
        },
        crypto: {
            let suite = idp_core::suite::Suite::of(&t.settings.crypto);
            idp_proto::TenantCrypto {
                profile: suite.profile.as_str().into(),
                sm2_user_id: Some(suite.sm2_user_id.clone()),
                default_sm2_user_id: false,
                algs: suite.alg_names().into_iter().map(String::from).collect(),
            }
        },
        branding: BrandingSummary {
            name_zh: b.name_zh.clone(),
            name_en: b.name_en.clone(),
            accent: b.accent.clone(),
            background: b.background.clone(),
            logo: b
                .logo
                .as_ref()
                .map(|l| LogoSummary { content_type: l.content_type.clone(), bytes: l.bytes().len() as u64 }),
            operator_zh: b.operator_zh.clone(),
            operator_en: b.operator_en.clone(),
            icp_filing: b.icp_filing.clone(),
            psb_filing: b.psb_filing.clone(),
            help_phone: b.help_phone.clone(),
            privacy_url: b.privacy_url.clone(),
        },
    }
}

fn policy_out(p: &TenantPolicy) -> idp_proto::TenantPolicy {
    idp_proto::TenantPolicy {
        session_idle_seconds: p.session_idle_seconds,
        session_absolute_seconds: p.session_absolute_seconds,
        lockout_threshold: p.lockout_threshold,
        lockout_seconds: p.lockout_seconds,
        password_min_length: p.password_min_length,
        password_min_classes: p.password_min_classes,
        api_scopes: p.api_scopes.clone(),
        refresh_reuse_seconds: p.refresh_reuse_seconds,
        time_zone: p.time_zone.clone(),
    }
}

fn policy_in(p: idp_proto::TenantPolicy) -> TenantPolicy {
    TenantPolicy {
        session_idle_seconds: p.session_idle_seconds,
        session_absolute_seconds: p.session_absolute_seconds,
        lockout_threshold: p.lockout_threshold,
        lockout_seconds: p.lockout_seconds,
        password_min_length: p.password_min_length,
        password_min_classes: p.password_min_classes,
        api_scopes: p.api_scopes,
        refresh_reuse_seconds: p.refresh_reuse_seconds,
        time_zone: p.time_zone,
    }
}

fn branding_out(b: branding::Branding) -> idp_proto::Branding {
    idp_proto::Branding {
        name_zh: b.name_zh,
        name_en: b.name_en,
        accent: b.accent,
        background: b.background,
        logo: b.logo.map(|l| idp_proto::Logo { content_type: l.content_type, data: l.data }),
        operator_zh: b.operator_zh,
        operator_en: b.operator_en,
        icp_filing: b.icp_filing,
        psb_filing: b.psb_filing,
        help_phone: b.help_phone,
        privacy_url: b.privacy_url,
    }
}

fn branding_in(b: idp_proto::Branding) -> branding::Branding {
    branding::Branding {
        name_zh: b.name_zh,
        name_en: b.name_en,
        accent: b.accent,
        background: b.background,
        logo: b.logo.map(|l| branding::Logo { content_type: l.content_type, data: l.data }),
        operator_zh: b.operator_zh,
        operator_en: b.operator_en,
        icp_filing: b.icp_filing,
        psb_filing: b.psb_filing,
        help_phone: b.help_phone,
        privacy_url: b.privacy_url,
    }
}

/// The caller, if a system administrator of the administrators' tenant.
async fn platform(state: &State, headers: &HeaderMap) -> Result<String, Response> {
    let (_, c) = caller(state, &state.config().admin_tenant.clone(), headers).await?;
    if c.roles.iter().any(|r| r == SYSTEM_ADMIN) { Ok(c.account_id) } else { Err(forbidden()) }
}

/// The tenant and an administrator for its settings and branding: one of its own, or one of
/// the administrators' tenant (platform administrators configure every tenant, each within
/// their role: security administrators the rules, system administrators the branding).
async fn admin_of(
    state: &State,
    slug: &str,
    headers: &HeaderMap,
) -> Result<(Arc<TenantCtx>, Caller), Response> {
    let platform = state.config().admin_tenant.clone();
    match caller(state, slug, headers).await {
        Err(r) if r.status() == StatusCode::UNAUTHORIZED && slug != platform => {
            let (_, c) = caller(state, &platform, headers).await.map_err(|_| r)?;
            match state.tenant(slug).await {
                Ok(Some(t)) => Ok((t, c)),
                Ok(None) => Err(problem(StatusCode::NOT_FOUND, "There is no such tenant.")),
                Err(e) => Err(super::failed(e.description)),
            }
        }
        other => other,
    }
}

/// `GET /tenants`.
pub async fn list(state: State, headers: HeaderMap) -> Response {
    if let Err(r) = platform(&state, &headers).await {
        return r;
    }
    match state.store().list_tenants().await {
        Ok(all) => ok(StatusCode::OK, &all.iter().map(|t| info(&state, t)).collect::<Vec<_>>()),
        Err(e) => super::failed(e),
    }
}

/// `POST /tenants`: its own issuer and keys at once.
pub async fn add(state: State, headers: HeaderMap, body: Bytes) -> Response {
    let by = match platform(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let n: NewTenant = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.create_tenant_by(&n.slug, n.name.as_deref(), n.sandbox, &by).await {
        Ok(t) => ok(StatusCode::CREATED, &info(&state, &t)),
        Err(e) => refused(e),
    }
}

/// `POST /tenants/{tenant}/disable|enable`.
pub async fn switch(
    state: State,
    Path((slug, what)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let by = match platform(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let disabled = match what.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return problem(StatusCode::NOT_FOUND, "No such action."),
    };
    match state.ops.set_tenant_disabled_by(&slug, disabled, &by).await {
        Ok(t) => ok(StatusCode::OK, &info(&state, &t)),
        Err(e) => refused(e),
    }
}

/// `GET /tenants/{tenant}/settings`: the tenant's rules and branding (its security
/// administrators, who set the rules, and its system administrators, who set the branding).
pub async fn settings(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match admin_of(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(idp_core::admin::Action::ManageKeys, None) && !c.roles.iter().any(|r| r == SYSTEM_ADMIN) {
        return forbidden();
    }
    // as stored now, not as this node's cache has it: an editor reads back what it just saved
    match state.ops.tenant(&t.tenant.slug).await {
        Ok(fresh) => ok(StatusCode::OK, &info(&state, &fresh)),
        Err(e) => refused(e),
    }
}

/// `PUT /tenants/{tenant}/settings`: offered factors and session/lockout policy.
pub async fn set_settings(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match admin_of(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(idp_core::admin::Action::ManageKeys, None) {
        return forbidden();
    }
    let r: TenantRules = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // everything checked before anything is written
    let crypto = match r.crypto.map(|c| (idp_core::model::CryptoProfile::parse(&c.profile), c)) {
        Some((None, _)) => {
            return problem(StatusCode::BAD_REQUEST, "crypto.profile is international, sm or dual.");
        }
        Some((Some(p), c)) => {
            if let Some(id) = &c.sm2_user_id
                && let Err(e) = crate::ops::crypto::check_sm2_user_id(id)
            {
                return refused(e);
            }
            if let Err(e) = state.ops.check_profile_allowed(&t.tenant.slug, p) {
                return refused(e);
            }
            let id = if c.default_sm2_user_id { Some(None) } else { c.sm2_user_id.map(Some) };
            Some((p, id))
        }
        None => None,
    };
    let ops = &state.ops;
    let by = &c.account_id;
    let done = async {
        let mut t = ops
            .set_tenant_rules_by(&t.tenant.slug, r.factors.as_deref(), r.policy.map(policy_in), by)
            .await?;
        if let Some((profile, id)) = crypto {
            t = ops.set_tenant_crypto_by(&t.slug, Some(profile), id, by).await?;
        }
        anyhow::Ok(t)
    };
    match done.await {
        Ok(t) => ok(StatusCode::OK, &info(&state, &t)),
        Err(e) => refused(e),
    }
}

/// `GET /tenants/{tenant}/branding`: the whole branding, the logo's data included, as stored
/// now (not as this node's cache has it), for an editor to send back what it keeps.
pub async fn branding(state: State, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let (t, c) = match admin_of(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.may(idp_core::admin::Action::ManageKeys, None) && !c.roles.iter().any(|r| r == SYSTEM_ADMIN) {
        return forbidden();
    }
    match state.ops.tenant(&t.tenant.slug).await {
        Ok(fresh) => ok(StatusCode::OK, &branding_out(fresh.settings.branding)),
        Err(e) => refused(e),
    }
}

/// `PUT /tenants/{tenant}/branding`: name, logo and colours (the tenant's system administrators).
pub async fn set_branding(
    state: State,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (t, c) = match admin_of(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.roles.iter().any(|r| r == SYSTEM_ADMIN) {
        return forbidden();
    }
    let b: idp_proto::Branding = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.set_tenant_branding_by(&t.tenant.slug, branding_in(b), &c.account_id).await {
        Ok(t) => ok(StatusCode::OK, &info(&state, &t)),
        Err(e) => refused(e),
    }
}

/// `POST /tenants/{tenant}/synthetic-people`: sandbox tenants only, their system administrators.
pub async fn synthetic(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (t, c) = match caller(&state, &slug, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !c.roles.iter().any(|r| r == SYSTEM_ADMIN) {
        return forbidden();
    }
    let p: SyntheticPeople = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.ops.synthetic_people_by(&t.tenant.slug, p.count, &c.account_id).await {
        Ok(people) => ok(StatusCode::CREATED, &people),
        Err(e) => refused(e),
    }
}
