//! Pairwise subject identifiers (OIDC Core §8.1): clients of one sector see the same `sub` for a
//! person, clients of another sector a different one, clients without a sector the public one;
//! ID token, UserInfo and introspection agree, and a JWT access token with a pairwise `sub`
//! still works at UserInfo.

use idp_core::model::{AccessTokenFormat, ClientSettings, ClientType};

use crate::browser::Browser;
use crate::common::{Backend, TestServer, auth_url};
use crate::rp;

/// (ID token sub, UserInfo sub, introspection sub) for `who` at `client`.
async fn subs(
    s: &TestServer,
    b: &Browser,
    client: &str,
    secret: &str,
    who: &str,
) -> (String, String, String) {
    let cb = b.authorize(s, &auth_url(&s.issuer, client, ""), who).await.callback();
    let t = rp::redeem(s, client, secret, &cb["code"]).await;
    let id = rp::id_token(&t);
    let info = rp::userinfo_of(s, &t).await;
    let intro = rp::introspect(s, client, secret, t["access_token"].as_str().unwrap()).await;
    let get = |v: &serde_json::Value| v["sub"].as_str().unwrap_or_else(|| panic!("no sub: {v}")).to_string();
    (get(&id), get(&info), get(&intro))
}

async fn pairwise(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let account = s.add_account("mo").await;
    let sector = |url: &str, format| ClientSettings {
        sector: Some(url.into()),
        access_token_format: format,
        ..ClientSettings::default()
    };
    let (a1, a1s) =
        s.add_client(ClientType::Web, sector("https://civil.example", AccessTokenFormat::Jwt)).await;
    let (a2, a2s) =
        s.add_client(ClientType::Web, sector("https://civil.example", AccessTokenFormat::Opaque)).await;
    let (b1, b1s) =
        s.add_client(ClientType::Web, sector("https://tax.example", AccessTokenFormat::Jwt)).await;
    let (p, ps) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let b = Browser::new();
    let one = subs(&s, &b, &a1, a1s.as_deref().unwrap(), "mo").await;
    let two = subs(&s, &b, &a2, a2s.as_deref().unwrap(), "mo").await;
    let other = subs(&s, &b, &b1, b1s.as_deref().unwrap(), "mo").await;
    let public = subs(&s, &b, &p, ps.as_deref().unwrap(), "mo").await;
    for (id, info, intro) in [&one, &two, &other, &public] {
        assert!(
            id == info && info == intro,
            "ID token, UserInfo and introspection agree: {id} {info} {intro}"
        );
    }
    assert_eq!(one.0, two.0, "one sector, one sub");
    assert_ne!(one.0, other.0, "another sector, another sub");
    assert_eq!(public.0, account, "no sector: the public sub");
    assert!(
        one.0 != account && other.0 != account && !one.0.contains(&account),
        "pairwise subs hide the account id"
    );
}
crate::both_backends!(pairwise_subjects_per_sector, pairwise);
