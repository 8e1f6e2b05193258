//! The person's own profile on the account pages: the OIDC Core §5.1 standard claims that
//! `profile` and `address` release (given and family name, nickname, gender, birth date,
//! picture, website, time zone, postal address), each optional, each changed only by the
//! person. The change is audited (which fields, never their values).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use idp_core::model::{Account, Address, Profile};

use crate::http::account::{Posted, posted, show_account};
use crate::http::pages::{Texts, error_page};
use crate::http::{State, param};
use crate::state::AppState;

/// One field of the profile form.
pub struct ProfileField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    /// The input's `type` (`text` when empty) and `autocomplete` token.
    pub kind: &'static str,
    pub autocomplete: &'static str,
}

type Get = fn(&Profile) -> Option<&String>;

/// (form name, label, input type, autocomplete, read)
fn spec(t: &Texts) -> Vec<(&'static str, &'static str, &'static str, &'static str, Get)> {
    vec![
        ("family_name", t.pf_family_name, "", "family-name", |p| p.family_name.as_ref()),
        ("given_name", t.pf_given_name, "", "given-name", |p| p.given_name.as_ref()),
        ("nickname", t.pf_nickname, "", "nickname", |p| p.nickname.as_ref()),
        ("gender", t.pf_gender, "", "sex", |p| p.gender.as_ref()),
        ("birthdate", t.pf_birthdate, "date", "bday", |p| p.birthdate.as_ref()),
        ("picture", t.pf_picture, "url", "photo", |p| p.picture.as_ref()),
        ("website", t.pf_website, "url", "url", |p| p.website.as_ref()),
        ("zoneinfo", t.pf_zoneinfo, "", "", |p| p.zoneinfo.as_ref()),
        ("street_address", t.pf_street, "", "street-address", |p| {
            p.address.as_ref().and_then(|a| a.street_address.as_ref())
        }),
        ("locality", t.pf_locality, "", "address-level2", |p| {
            p.address.as_ref().and_then(|a| a.locality.as_ref())
        }),
        ("region", t.pf_region, "", "address-level1", |p| p.address.as_ref().and_then(|a| a.region.as_ref())),
        ("postal_code", t.pf_postal_code, "", "postal-code", |p| {
            p.address.as_ref().and_then(|a| a.postal_code.as_ref())
        }),
        ("country", t.pf_country, "", "country-name", |p| {
            p.address.as_ref().and_then(|a| a.country.as_ref())
        }),
    ]
}

/// The form's fields with the account's current values.
pub(crate) async fn fields(state: &AppState, account: &Account, t: &Texts) -> Vec<ProfileField> {
    let profile = state.store().account_profile(&account.id).await.ok().flatten().unwrap_or_default();
    spec(t)
        .into_iter()
        .map(|(name, label, kind, autocomplete, get)| ProfileField {
            name,
            label,
            value: get(&profile).cloned().unwrap_or_default(),
            kind,
            autocomplete,
        })
        .collect()
}

/// `POST /account/profile`: replaces the profile with the form's values.
pub async fn save(state: State, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Posted { t, lang, session, account, params } = match posted(&state, &slug, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let texts = lang.texts();
    let get = |n: &str| param(&params, n).map(str::to_string);
    let address = Address {
        formatted: None,
        street_address: get("street_address"),
        locality: get("locality"),
        region: get("region"),
        postal_code: get("postal_code"),
        country: get("country"),
    };
    let mut profile = Profile {
        given_name: get("given_name"),
        family_name: get("family_name"),
        middle_name: None,
        nickname: get("nickname"),
        picture: get("picture"),
        website: get("website"),
        gender: get("gender"),
        birthdate: get("birthdate"),
        zoneinfo: get("zoneinfo"),
        address: Some(address),
    };
    // the formatted address, as it is written in China: country, region, city, street, code
    if let Some(a) = profile.address.as_mut() {
        let parts: Vec<&str> = [&a.country, &a.region, &a.locality, &a.street_address]
            .iter()
            .filter_map(|v| v.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if !parts.is_empty() {
            a.formatted = Some(match &a.postal_code {
                Some(code) if !code.trim().is_empty() => format!("{} {}", parts.join(""), code.trim()),
                _ => parts.join(""),
            });
        }
    }
    let profile = match profile.checked() {
        Ok(p) => p,
        Err(_) => {
            return show_account(
                &state,
                &t,
                lang,
                &headers,
                &session,
                &account,
                crate::http::account::Section::Profile,
                Some(texts.pf_invalid),
            )
            .await;
        }
    };
    if profile.zoneinfo.as_deref().is_some_and(|z| crate::state::clock::time_zone(Some(z)).is_none()) {
        return show_account(
            &state,
            &t,
            lang,
            &headers,
            &session,
            &account,
            crate::http::account::Section::Profile,
            Some(texts.pf_invalid),
        )
        .await;
    }
    let now = state.env().now();
    if let Err(e) = state.store().set_account_profile(&t.tenant.id, &account.id, &profile, now).await {
        return error_page(lang, &e.into());
    }
    let set: Vec<&str> =
        spec(texts).into_iter().filter(|(.., g)| g(&profile).is_some()).map(|(n, ..)| n).collect();
    let detail = serde_json::json!({ "fields": set });
    crate::http::session::audit(
        &state,
        &t.tenant.id,
        "profile_changed",
        Some(&account.id),
        None,
        None,
        detail,
    )
    .await;
    super::show_account_done(
        &state,
        &t,
        lang,
        &headers,
        &session,
        &account,
        crate::http::account::Section::Profile,
        texts.pf_saved,
    )
    .await
}
