//! The `Store` contract: every method of the storage port, asserted identically on SQLite and
//! PostgreSQL, including tenant isolation, the one-shot code, refresh rotation and replay.

use std::sync::atomic::{AtomicUsize, Ordering};

use idp_core::model::{
    AccessTokenFormat, Account, AuditEvent, AuthCode, AuthRequest, Authorization, Client, ClientSettings,
    ClientType, Grant, Interaction, PendingSignIn, RefreshToken, ResponseMode, Session, SigningAlg,
    SigningKeyRecord, Tenant, TenantSettings, TotpCredential,
};
use idp_core::ports::{Issue, Redeem, Rotate};
use idp_core::signin::FrontRequest;
use idp_core::token::TokenResponse;
use idp_core::{OAuthError, Store, StoreError};

use crate::common::{Backend, TestDb};

pub(crate) const T1: &str = "tenant-a";
pub(crate) const T2: &str = "tenant-b";

/// What an issue closure returns.
type Out = Result<(Issue, TokenResponse), OAuthError>;

/// Asserts that a value matches a pattern, printing the value otherwise.
macro_rules! is {
    ($e:expr, $p:pat) => {{
        let v = $e;
        assert!(matches!(v, $p), "{}: got {v:?}", stringify!($p));
    }};
}

fn tenant(id: &str, slug: &str, created_at: i64) -> Tenant {
    Tenant {
        id: id.into(),
        slug: slug.into(),
        name: format!("Tenant {slug}"),
        created_at,
        disabled: false,
        settings: TenantSettings::default(),
    }
}

pub(crate) fn client(tenant_id: &str, client_id: &str, created_at: i64) -> Client {
    Client {
        tenant_id: tenant_id.into(),
        client_id: client_id.into(),
        name: "Department App".into(),
        client_type: ClientType::Web,
        secret_hash: Some("secret-hash-1".into()),
        settings: ClientSettings {
            redirect_uris: vec!["https://app.example.test/cb".into()],
            access_token_format: AccessTokenFormat::Opaque,
            organisation: Some("Example Bureau".into()),
            ..Default::default()
        },
        disabled: false,
        created_at,
    }
}

pub(crate) fn account(tenant_id: &str, id: &str, username: &str, phone: Option<&str>) -> Account {
    Account {
        id: id.into(),
        tenant_id: tenant_id.into(),
        username: username.into(),
        name: Some(format!("{username} 张")),
        phone: phone.map(str::to_string),
        phone_verified_at: None,
        email_verified_at: None,
        email: Some(format!("{username}@example.test")),
        password_hash: Some("$argon2id$v=19$hash".into()),
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        roles: vec!["admin".into()],
        locale: Some("zh-CN".into()),
        created_at: 100,
        updated_at: 100,
    }
}

pub(crate) fn session(n: u32, expires_at: i64) -> Session {
    Session {
        id_hash: format!("sess-hash-{n}"),
        sid: format!("sid-{n}"),
        tenant_id: T1.into(),
        account_id: "acc-1".into(),
        auth_time: 100,
        amr: vec!["pwd".into(), "otp".into()],
        acr: "aal1".into(),
        min_acr: Some("aal2".into()),
        act_context: None,
        created_at: 100,
        last_seen: 100,
        expires_at,
    }
}

fn interaction(id: &str, expires_at: i64) -> Interaction {
    let request = AuthRequest {
        client_id: "web-1".into(),
        redirect_uri: "https://app.example.test/cb".into(),
        response_mode: ResponseMode::FormPost,
        scope: vec!["openid".into(), "email".into()],
        state: Some("st".into()),
        nonce: Some("n".into()),
        code_challenge: Some("ch".into()),
        prompt: vec!["login".into()],
        max_age: Some(60),
        login_hint: Some("alice".into()),
        ui_locales: Some("zh-CN en".into()),
        claims_locales: None,
        acr_values: None,
        claims_acr: None,
        claims: None,
        resource: None,
        idp_hint: None,
    };
    Interaction {
        id: id.into(),
        tenant_id: T1.into(),
        front: FrontRequest::Oidc(request),
        browser_hash: "browser-hash-1".into(),
        session_sid: None,
        pending: None,
        act_context: None,
        created_at: 100,
        expires_at,
    }
}

pub(crate) fn authz() -> Authorization {
    Authorization {
        tenant_id: T1.into(),
        client_id: "web-1".into(),
        account_id: Some("acc-1".into()),
        scope: vec!["openid".into(), "offline_access".into()],
        sid: Some("sid-1".into()),
        auth_time: Some(100),
        acr: Some("aal1".into()),
        amr: vec!["pwd".into()],
        nonce: Some("n-1".into()),
        act_as: "self".into(),
        context: None,
        claims: None,
        resource: None,
        consented_at: Some(1_000),
    }
}

pub(crate) fn code(hash: &str, family: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        family_id: family.into(),
        authz: authz(),
        redirect_uri: "https://app.example.test/cb".into(),
        code_challenge: Some("challenge-1".into()),
        expires_at: 10_000,
        consumed: false,
    }
}

fn refresh(hash: &str, family: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        authz: authz(),
        created_at: 100,
        expires_at: 90_000,
        used: false,
        revoked: false,
    }
}

fn response(access_token: &str) -> TokenResponse {
    TokenResponse {
        access_token: access_token.into(),
        token_type: "Bearer".into(),
        expires_in: 600,
        refresh_token: None,
        id_token: None,
        scope: "openid offline_access".into(),
    }
}

/// The records a successful closure writes: a refresh token of `family` (and the family row
/// through which its self-contained access token `at` would be revoked).
fn issue(at: &str, rt: &str, family: &str) -> Out {
    let refresh = refresh(rt, family);
    Ok((
        Issue {
            family: Some((family.into(), refresh.expires_at)),
            refresh_token: Some(refresh),
            audit: vec![],
            spare_on_loss: false,
            cas_ticket: None,
            live_session: None,
        },
        response(at),
    ))
}

/// A rotation closure writing the successor `next` and an access token `at-{next}`.
fn successor(next: &'static str) -> impl Fn(&RefreshToken) -> Out + Send + Sync {
    move |rt: &RefreshToken| issue(&format!("at-{next}"), next, &rt.family_id)
}

/// The port has no `insert_refresh_token`: a first refresh token is written by redeeming a code.
async fn seed_refresh(s: &dyn Store, rt: &RefreshToken) {
    let code_hash = format!("seed-{}", rt.token_hash);
    s.insert_code(&code(&code_hash, &rt.family_id)).await.unwrap();
    let rt = rt.clone();
    let seed = move |_: &AuthCode| -> Out {
        let family = Some((rt.family_id.clone(), rt.expires_at));
        Ok((
            Issue {
                family,
                refresh_token: Some(rt.clone()),
                audit: vec![],
                spare_on_loss: false,
                cas_ticket: None,
                live_session: None,
            },
            response("none"),
        ))
    };
    is!(s.redeem_code(&code_hash, T1, "web-1", &seed).await.unwrap(), Redeem::Issued(..));
}

/// Reads the refresh token and rotates it, as the token endpoint does.
async fn rotate<'a>(
    s: &dyn Store,
    hash: &str,
    f: &'a (dyn Fn(&RefreshToken) -> Out + Send + Sync),
) -> idp_core::ports::Result<Rotate<TokenResponse>> {
    let token = s.refresh_token(hash).await?.expect("refresh token exists");
    s.rotate_refresh_token(&token, f).await
}

async fn at_revoked(s: &dyn Store, jti: &str, family: &str) -> bool {
    s.access_token_revoked(jti, Some(family), "no-tenant", "no-client").await.unwrap()
}

async fn rt_revoked(s: &dyn Store, hash: &str) -> bool {
    s.refresh_token(hash).await.unwrap().expect("refresh token exists").revoked
}

pub(crate) async fn acc(s: &dyn Store, id: &str) -> Account {
    s.account(T1, id).await.unwrap().expect("account exists")
}

async fn contract(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let store = idp_store::connect(&db.url).await.expect("store opens");
    let s: &dyn Store = store.as_ref();
    let name = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    assert_eq!(s.backend(), name);
    s.ping().await.unwrap();

    purge(s).await;
    tenants_and_keys(s).await;
    clients(s).await;
    crate::store_contract_accounts::accounts(s).await;
    sessions_and_interactions(s).await;
    grants(s).await;
    codes(s).await;
    refresh_rotation(s).await;
    access_tokens_and_families(s).await;
    totp_and_recovery_codes(s).await;
    crate::store_contract_webauthn::webauthn(s).await;
    crate::store_contract_webauthn::settings_and_phones(s).await;
    crate::store_contract_org::organisations(s).await;
    crate::store_contract_upstream::upstreams(s).await;
    audit(s).await;
    crate::store_contract_logout::logout(s).await;
}

/// `purge_expired` removes what expired before `now`; codes only long after (replay detection).
async fn purge(s: &dyn Store) {
    assert_eq!(s.purge_expired(1_000_000).await.unwrap(), 0, "nothing to purge yet");
    for (n, exp) in [(1, 100), (2, 300)] {
        s.insert_interaction(&interaction(&format!("int-{n}"), exp)).await.unwrap();
        s.insert_session(&session(n, exp)).await.unwrap();
        assert!(s.remember_assertion_jti(T1, "web-1", &format!("purge-jti-{n}"), exp).await.unwrap());
        s.revoke_access_token(&format!("purge-at-{n}"), exp).await.unwrap();
        let code = AuthCode { expires_at: exp, ..code(&format!("purge-code-{n}"), "purge-fam") };
        s.insert_code(&code).await.unwrap();
        // written through a seeding code that expires at 10 000
        seed_refresh(s, &RefreshToken { expires_at: exp, ..refresh(&format!("purge-rt-{n}"), "purge-fam") })
            .await;
    }
    assert_eq!(s.purge_expired(50).await.unwrap(), 0);
    // at 200: interaction, session, jti, revoked access token and refresh token of set 1 go, and
    // the record that the codes' client took part in that session (sid-1); its code stays
    assert_eq!(s.purge_expired(200).await.unwrap(), 6);
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), None);
    assert!(s.interaction(T1, "int-2").await.unwrap().is_some());
    assert_eq!(s.session(T1, "sess-hash-1").await.unwrap(), None);
    assert!(s.session(T1, "sess-hash-2").await.unwrap().is_some());
    assert!(s.remember_assertion_jti(T1, "web-1", "purge-jti-1", 100).await.unwrap(), "forgotten");
    assert!(!s.remember_assertion_jti(T1, "web-1", "purge-jti-2", 300).await.unwrap(), "still known");
    assert!(
        !s.access_token_revoked("purge-at-1", None, "no-tenant", "no-client").await.unwrap(),
        "forgotten: it has expired anyway"
    );
    assert!(s.access_token_revoked("purge-at-2", None, "no-tenant", "no-client").await.unwrap());
    assert_eq!(s.refresh_token("purge-rt-1").await.unwrap(), None);
    assert!(s.refresh_token("purge-rt-2").await.unwrap().is_some());
    let expired = |_: &AuthCode| -> Out { Err(OAuthError::invalid_grant("The code has expired.")) };
    is!(s.redeem_code("purge-code-1", T1, "web-1", &expired).await.unwrap(), Redeem::Refused(_));
    // long after: the rest (jti 1 again, set 2, both codes, both seeding codes, the token
    // family the seeding wrote and the record of whose family it was) is gone
    assert_eq!(s.purge_expired(1_000_000).await.unwrap(), 12);
    assert_eq!(s.interaction(T1, "int-2").await.unwrap(), None);
    assert_eq!(s.refresh_token("purge-rt-2").await.unwrap(), None);
    is!(s.redeem_code("purge-code-1", T1, "web-1", &expired).await.unwrap(), Redeem::NotFound);
    assert_eq!(s.purge_expired(1_000_000).await.unwrap(), 0);
}

async fn tenants_and_keys(s: &dyn Store) {
    assert!(s.list_tenants().await.unwrap().is_empty());
    let (a, b) = (tenant(T1, "alpha", 100), tenant(T2, "beta", 200));
    s.insert_tenant(&b).await.unwrap();
    s.insert_tenant(&a).await.unwrap();
    assert_eq!(s.tenant_by_slug("alpha").await.unwrap(), Some(a.clone()));
    assert_eq!(s.tenant_by_slug("beta").await.unwrap(), Some(b.clone()));
    assert_eq!(s.tenant_by_slug("gamma").await.unwrap(), None);
    assert_eq!(s.list_tenants().await.unwrap(), vec![a, b], "ordered by creation");
    is!(s.insert_tenant(&tenant("tenant-c", "alpha", 300)).await, Err(StoreError::Conflict(_)));
    is!(s.insert_tenant(&tenant(T1, "delta", 300)).await, Err(StoreError::Conflict(_)));
    assert_eq!(s.list_tenants().await.unwrap().len(), 2);

    let key = |kid: &str, alg, created_at| SigningKeyRecord {
        kid: kid.into(),
        tenant_id: T1.into(),
        alg,
        sealed_private_key: vec![0, 1, 2, 255, 254],
        created_at,
        active: created_at == 101,
        activates_at: created_at,
        retires_at: None,
        revoked_at: None,
    };
    s.insert_signing_key(&key("kid-2", SigningAlg::RS256, 101)).await.unwrap();
    s.insert_signing_key(&key("kid-1", SigningAlg::ES256, 100)).await.unwrap();
    let keys = s.signing_keys(T1).await.unwrap();
    let seen: Vec<_> = keys.iter().map(|k| (k.kid.as_str(), k.tenant_id.as_str(), k.alg, k.active)).collect();
    assert_eq!(seen, vec![("kid-1", T1, SigningAlg::ES256, false), ("kid-2", T1, SigningAlg::RS256, true)]);
    assert!(keys.iter().all(|k| k.sealed_private_key == vec![0, 1, 2, 255, 254]), "bytes round-trip");
    assert!(s.signing_keys(T2).await.unwrap().is_empty(), "keys are per tenant");
    is!(s.insert_signing_key(&key("kid-1", SigningAlg::EdDSA, 102)).await, Err(StoreError::Conflict(_)));
    // a later ES256 key replaces kid-1: kid-1 retires (once), other algorithms are untouched
    let later = SigningKeyRecord { activates_at: 500, ..key("kid-3", SigningAlg::ES256, 400) };
    s.insert_signing_key(&later).await.unwrap();
    s.retire_signing_keys(T1, SigningAlg::ES256, "kid-3", 900).await.unwrap();
    s.retire_signing_keys(T1, SigningAlg::ES256, "kid-3", 999).await.unwrap();
    let keys = s.signing_keys(T1).await.unwrap();
    let retires: Vec<_> = keys.iter().map(|k| (k.kid.as_str(), k.retires_at, k.activates_at)).collect();
    assert_eq!(retires, vec![("kid-1", Some(900), 100), ("kid-2", None, 101), ("kid-3", None, 500)]);
    // revoking: once, in its tenant only
    assert!(!s.revoke_signing_key(T2, "kid-2", 700).await.unwrap());
    assert!(s.revoke_signing_key(T1, "kid-2", 700).await.unwrap());
    assert!(!s.revoke_signing_key(T1, "kid-2", 800).await.unwrap());
    let k2 = s.signing_keys(T1).await.unwrap().into_iter().find(|k| k.kid == "kid-2").unwrap();
    assert_eq!(k2.revoked_at, Some(700));
    let orphan =
        SigningKeyRecord { tenant_id: "no-such-tenant".into(), ..key("kid-9", SigningAlg::ES256, 1) };
    assert!(s.insert_signing_key(&orphan).await.is_err(), "a key needs its tenant");
}

async fn clients(s: &dyn Store) {
    let web = client(T1, "web-1", 100);
    let svc = Client {
        client_type: ClientType::Service,
        secret_hash: None,
        settings: ClientSettings { scope: "api".into(), ..Default::default() },
        ..client(T1, "svc-1", 101)
    };
    s.insert_client(&svc).await.unwrap();
    s.insert_client(&web).await.unwrap();
    // The same client_id may exist in another tenant; it is a different client.
    let other = Client { name: "Other Tenant App".into(), ..client(T2, "web-1", 100) };
    s.insert_client(&other).await.unwrap();
    s.insert_client(&client(T1, "only-a", 102)).await.unwrap();

    assert_eq!(s.client(T1, "web-1").await.unwrap(), Some(web.clone()));
    assert_eq!(s.client(T2, "web-1").await.unwrap(), Some(other.clone()));
    assert_eq!(s.client(T2, "only-a").await.unwrap(), None, "tenant isolation");
    assert_eq!(s.client(T1, "nope").await.unwrap(), None);
    let ids: Vec<String> = s.list_clients(T1).await.unwrap().into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, vec!["web-1", "svc-1", "only-a"], "ordered by creation");
    assert_eq!(s.list_clients(T2).await.unwrap(), vec![other.clone()]);
    // by type, per tenant; cached, but a change through this store is seen at once
    let of_type = async |tenant: &str, kind: ClientType| -> Vec<String> {
        s.clients_of_type(tenant, kind).await.unwrap().into_iter().map(|c| c.client_id).collect()
    };
    assert_eq!(of_type(T1, ClientType::Service).await, vec!["svc-1"]);
    assert!(of_type(T2, ClientType::Service).await.is_empty(), "tenant isolation");
    let svc2 = Client { client_id: "svc-2".into(), ..svc.clone() };
    s.insert_client(&svc2).await.unwrap();
    assert_eq!(of_type(T1, ClientType::Service).await, vec!["svc-1", "svc-2"], "a new one at once");
    s.set_client_disabled(T1, "svc-2", true).await.unwrap();
    let listed = s.clients_of_type(T1, ClientType::Service).await.unwrap();
    assert!(listed.iter().any(|c| c.client_id == "svc-2" && c.disabled), "a change at once");
    is!(s.insert_client(&client(T1, "web-1", 200)).await, Err(StoreError::Conflict(_)));
    assert!(s.insert_client(&client("no-such-tenant", "x", 1)).await.is_err(), "a client needs its tenant");

    s.set_client_secret(T1, "web-1", "secret-hash-2").await.unwrap();
    let secret = |c: Option<Client>| c.unwrap().secret_hash;
    assert_eq!(secret(s.client(T1, "web-1").await.unwrap()).as_deref(), Some("secret-hash-2"));
    assert_eq!(secret(s.client(T2, "web-1").await.unwrap()).as_deref(), Some("secret-hash-1"), "B untouched");
    s.set_client_disabled(T1, "web-1", true).await.unwrap();
    assert!(s.client(T1, "web-1").await.unwrap().unwrap().disabled);
    assert!(!s.client(T2, "web-1").await.unwrap().unwrap().disabled, "only tenant A's client");
    s.set_client_disabled(T1, "web-1", false).await.unwrap();
    assert!(!s.client(T1, "web-1").await.unwrap().unwrap().disabled);
    is!(s.set_client_secret(T1, "nope", "h").await, Err(StoreError::NotFound));
    is!(s.set_client_secret(T2, "only-a", "h").await, Err(StoreError::NotFound));
    is!(s.set_client_disabled(T1, "nope", true).await, Err(StoreError::NotFound));
    is!(s.set_client_disabled(T2, "only-a", true).await, Err(StoreError::NotFound));
    assert_eq!(s.client(T1, "only-a").await.unwrap(), Some(client(T1, "only-a", 102)), "untouched");

    // client assertion jti: once per (tenant, client, jti)
    assert!(s.remember_assertion_jti(T1, "web-1", "jti-1", 1000).await.unwrap());
    assert!(!s.remember_assertion_jti(T1, "web-1", "jti-1", 1000).await.unwrap(), "replay");
    assert!(!s.remember_assertion_jti(T1, "web-1", "jti-1", 2000).await.unwrap(), "replay, other expiry");
    assert!(s.remember_assertion_jti(T1, "svc-1", "jti-1", 1000).await.unwrap(), "other client");
    assert!(s.remember_assertion_jti(T2, "web-1", "jti-1", 1000).await.unwrap(), "other tenant");
}

async fn sessions_and_interactions(s: &dyn Store) {
    s.insert_session(&session(1, 5000)).await.unwrap();
    s.insert_session(&session(2, 5000)).await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-1").await.unwrap(), Some(session(1, 5000)));
    assert_eq!(s.session(T2, "sess-hash-1").await.unwrap(), None, "tenant isolation");
    assert_eq!(s.session(T1, "nope").await.unwrap(), None);
    let same_sid = Session { id_hash: "sess-hash-9".into(), ..session(1, 5000) };
    is!(s.insert_session(&same_sid).await, Err(StoreError::Conflict(_)));
    s.touch_session("sess-hash-1", 777).await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-1").await.unwrap().unwrap().last_seen, 777);
    assert_eq!(s.session(T1, "sess-hash-2").await.unwrap().unwrap().last_seen, 100);
    // a step-up raises the session's methods and level; another tenant cannot
    let mfa = vec!["pwd".to_string(), "otp".to_string(), "mfa".to_string()];
    s.upgrade_session(T2, "sid-2", &mfa, "aal2").await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-2").await.unwrap().unwrap().acr, "aal1");
    s.upgrade_session(T1, "sid-2", &mfa, "aal2").await.unwrap();
    let up = s.session(T1, "sess-hash-2").await.unwrap().unwrap();
    assert_eq!((up.amr, up.acr.as_str()), (mfa, "aal2"));
    // the acting context switched to on the account pages; another tenant cannot set it
    s.set_session_context(T2, "sid-2", Some("m-1")).await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-2").await.unwrap().unwrap().act_context, None);
    s.set_session_context(T1, "sid-2", Some("m-1")).await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-2").await.unwrap().unwrap().act_context.as_deref(), Some("m-1"));
    s.set_session_context(T1, "sid-2", None).await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-2").await.unwrap().unwrap().act_context, None);
    s.delete_session(T2, "sid-1").await.unwrap();
    assert!(s.session(T1, "sess-hash-1").await.unwrap().is_some(), "another tenant cannot delete it");
    s.delete_session(T1, "sid-1").await.unwrap();
    assert_eq!(s.session(T1, "sess-hash-1").await.unwrap(), None);
    assert!(s.session(T1, "sess-hash-2").await.unwrap().is_some());

    let i = interaction("int-1", 700);
    s.insert_interaction(&i).await.unwrap();
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), Some(i.clone()));
    assert_eq!(s.interaction(T2, "int-1").await.unwrap(), None, "tenant isolation");
    is!(s.insert_interaction(&i).await, Err(StoreError::Conflict(_)));
    s.set_interaction_session("int-1", "sid-2").await.unwrap();
    let signed_in = Interaction { session_sid: Some("sid-2".into()), ..i };
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), Some(signed_in.clone()));
    let pending = PendingSignIn { account_id: "acc-1".into(), amr: vec!["pwd".into()], auth_time: 300 };
    s.set_interaction_pending("int-1", Some(&pending)).await.unwrap();
    let waiting = Interaction { pending: Some(pending), ..signed_in.clone() };
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), Some(waiting));
    s.set_interaction_pending("int-1", None).await.unwrap();
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), Some(signed_in));
    s.delete_interaction("int-1").await.unwrap();
    assert_eq!(s.interaction(T1, "int-1").await.unwrap(), None);
    s.delete_interaction("int-1").await.unwrap();
}

async fn grants(s: &dyn Store) {
    let g = |tenant_id: &str, scopes: &[&str], at| Grant {
        tenant_id: tenant_id.into(),
        account_id: "acc-1".into(),
        client_id: "web-1".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        created_at: at,
        updated_at: at,
    };
    assert_eq!(s.grant(T1, "acc-1", "web-1").await.unwrap(), None);
    s.upsert_grant(&g(T1, &["openid"], 100)).await.unwrap();
    assert_eq!(s.grant(T1, "acc-1", "web-1").await.unwrap(), Some(g(T1, &["openid"], 100)));
    assert_eq!(s.grant(T2, "acc-1", "web-1").await.unwrap(), None, "tenant isolation");
    assert_eq!(s.grant(T1, "acc-1", "svc-1").await.unwrap(), None);
    assert_eq!(s.grant(T1, "acc-2", "web-1").await.unwrap(), None);
    s.upsert_grant(&g(T1, &["openid", "email", "phone"], 300)).await.unwrap();
    let replaced = s.grant(T1, "acc-1", "web-1").await.unwrap().unwrap();
    assert_eq!(replaced.scopes, vec!["openid", "email", "phone"], "scopes replaced, not merged");
    assert_eq!((replaced.created_at, replaced.updated_at), (100, 300), "created_at kept");
    s.upsert_grant(&g(T1, &["profile"], 400)).await.unwrap();
    assert_eq!(s.grant(T1, "acc-1", "web-1").await.unwrap().unwrap().scopes, vec!["profile"]);
    s.upsert_grant(&g(T2, &["email"], 500)).await.unwrap();
    assert_eq!(s.grant(T2, "acc-1", "web-1").await.unwrap(), Some(g(T2, &["email"], 500)));
    assert_eq!(s.grant(T1, "acc-1", "web-1").await.unwrap().unwrap().scopes, vec!["profile"], "A untouched");
}

async fn codes(s: &dyn Store) {
    let calls = AtomicUsize::new(0);
    let good = |c: &AuthCode| -> Out {
        calls.fetch_add(1, Ordering::SeqCst);
        issue("at-code-1", "rt-code-1", &c.family_id)
    };
    let c1 = code("code-1", "fam-code");
    s.insert_code(&c1).await.unwrap();
    is!(s.insert_code(&c1).await, Err(StoreError::Conflict(_)));
    match s.redeem_code("code-1", T1, "web-1", &good).await.unwrap() {
        Redeem::Issued(got, resp) => {
            assert_eq!(AuthCode { consumed: false, ..got }, c1, "the stored code is handed over");
            assert_eq!(resp, response("at-code-1"));
        }
        other => panic!("expected Issued, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!at_revoked(s, "at-code-1", "fam-code").await);
    assert_eq!(s.refresh_token("rt-code-1").await.unwrap(), Some(refresh("rt-code-1", "fam-code")));
    // another client, or the same client id in another tenant, presenting the used code: not
    // found, and nothing revoked
    for (tenant, client) in [(T1, "web-2"), (T2, "web-1")] {
        is!(s.redeem_code("code-1", tenant, client, &good).await.unwrap(), Redeem::NotFound);
    }
    assert!(!at_revoked(s, "at-code-1", "fam-code").await && !rt_revoked(s, "rt-code-1").await);
    // a second redemption: Replayed, and what was issued is revoked
    is!(s.redeem_code("code-1", T1, "web-1", &good).await.unwrap(), Redeem::Replayed);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the closure is not run on replay");
    assert_eq!(s.family_revocation("fam-code").await.unwrap().as_deref(), Some("code_replay"));
    assert!(at_revoked(s, "at-code-1", "fam-code").await && rt_revoked(s, "rt-code-1").await);
    assert!(!at_revoked(s, "at-unrelated", "fam-unrelated").await, "other families are untouched");
    is!(s.redeem_code("no-such-code", T1, "web-1", &good).await.unwrap(), Redeem::NotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // a refused redemption consumes the code anyway and writes nothing
    s.insert_code(&code("code-2", "fam-code-2")).await.unwrap();
    let refuse = |_: &AuthCode| -> Out { Err(OAuthError::invalid_grant("redirect_uri does not match.")) };
    match s.redeem_code("code-2", T1, "web-1", &refuse).await.unwrap() {
        Redeem::Refused(e) => {
            assert_eq!((e.code, e.description.as_str()), ("invalid_grant", "redirect_uri does not match."))
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    let fresh = |c: &AuthCode| issue("at-code-2", "rt-code-2", &c.family_id);
    is!(s.redeem_code("code-2", T1, "web-1", &fresh).await.unwrap(), Redeem::Replayed);
    assert_eq!(s.refresh_token("rt-code-2").await.unwrap(), None);

    // if writing the issued records fails, nothing happened: the code can still be redeemed
    s.insert_code(&code("code-3", "fam-code-3")).await.unwrap();
    let clash = |c: &AuthCode| issue("at-code-3", "rt-code-1", &c.family_id);
    is!(s.redeem_code("code-3", T1, "web-1", &clash).await, Err(StoreError::Conflict(_)));
    assert_eq!(s.refresh_token("rt-code-1").await.unwrap().unwrap().family_id, "fam-code", "rolled back");
    let ok3 = |c: &AuthCode| issue("at-code-3", "rt-code-3", &c.family_id);
    is!(s.redeem_code("code-3", T1, "web-1", &ok3).await.unwrap(), Redeem::Issued(..));
}

async fn refresh_rotation(s: &dyn Store) {
    seed_refresh(s, &refresh("rt-1", "fam-rt")).await;
    match rotate(s, "rt-1", &successor("rt-2")).await.unwrap() {
        Rotate::Rotated(old, resp) => {
            assert_eq!(RefreshToken { used: false, ..old }, refresh("rt-1", "fam-rt"));
            assert_eq!(resp.access_token, "at-rt-2");
        }
        other => panic!("expected Rotated, got {other:?}"),
    }
    assert!(s.refresh_token("rt-1").await.unwrap().unwrap().used, "marked used");
    let rt2 = s.refresh_token("rt-2").await.unwrap();
    assert_eq!(rt2, Some(refresh("rt-2", "fam-rt")), "successor written in the same transaction");
    is!(rotate(s, "rt-2", &successor("rt-3")).await.unwrap(), Rotate::Rotated(..));
    // replaying the first token revokes the whole family, successors included
    is!(rotate(s, "rt-1", &successor("rt-x")).await.unwrap(), Rotate::Replayed);
    assert_eq!(s.refresh_token("rt-x").await.unwrap(), None);
    for rt in ["rt-1", "rt-2", "rt-3"] {
        assert!(rt_revoked(s, rt).await, "{rt}");
    }
    assert!(at_revoked(s, "at-rt-2", "fam-rt").await && at_revoked(s, "at-rt-3", "fam-rt").await);
    assert!(!at_revoked(s, "at-code-3", "fam-code-3").await, "other families are untouched");
    is!(rotate(s, "rt-3", &successor("rt-y")).await.unwrap(), Rotate::Replayed);
    assert_eq!(s.refresh_token("nope").await.unwrap(), None);

    // a refused rotation rolls back: the token stays usable
    seed_refresh(s, &refresh("rt-r1", "fam-r")).await;
    let refuse =
        |_: &RefreshToken| -> Out { Err(OAuthError::invalid_scope("The scope admin was not granted.")) };
    match rotate(s, "rt-r1", &refuse).await.unwrap() {
        Rotate::Refused(e) => assert_eq!(e.code, "invalid_scope"),
        other => panic!("expected Refused, got {other:?}"),
    }
    let r1 = s.refresh_token("rt-r1").await.unwrap().unwrap();
    assert!(!r1.used && !r1.revoked, "not consumed by a refusal");
    // a failed write rolls back too (the successor's records already exist)
    is!(rotate(s, "rt-r1", &successor("rt-2")).await, Err(StoreError::Conflict(_)));
    assert!(!s.refresh_token("rt-r1").await.unwrap().unwrap().used, "rolled back");
    is!(rotate(s, "rt-r1", &successor("rt-r2")).await.unwrap(), Rotate::Rotated(..));
    assert!(!rt_revoked(s, "rt-r2").await);

    // a token revoked (not used) is refused as a replay
    seed_refresh(s, &refresh("rt-v1", "fam-v")).await;
    s.revoke_family("fam-v", "withdrawn").await.unwrap();
    is!(rotate(s, "rt-v1", &successor("rt-v2")).await.unwrap(), Rotate::Replayed);
    assert_eq!(s.refresh_token("rt-v2").await.unwrap(), None);
}

/// Access tokens are self-contained: the store only knows which were revoked, on their own or
/// with their family.
async fn access_tokens_and_families(s: &dyn Store) {
    assert!(!s.access_token_revoked("at-plain", None, "no-tenant", "no-client").await.unwrap());
    s.revoke_access_token("at-plain", 700).await.unwrap();
    assert!(s.access_token_revoked("at-plain", None, "no-tenant", "no-client").await.unwrap());
    assert!(
        s.access_token_revoked("at-plain", Some("fam-unrelated"), "no-tenant", "no-client").await.unwrap()
    );
    s.revoke_access_token("at-plain", 700).await.unwrap();
    assert!(!s.access_token_revoked("nope", None, "no-tenant", "no-client").await.unwrap());

    seed_refresh(s, &refresh("rt-f1", "fam-f")).await;
    seed_refresh(s, &refresh("rt-g1", "fam-g")).await;
    assert!(!at_revoked(s, "at-f1", "fam-f").await);
    assert_eq!(s.family_revocation("fam-f").await.unwrap(), None);
    s.revoke_family("fam-f", "revoked").await.unwrap();
    // the first reason stays
    s.revoke_family("fam-f", "refresh_replay").await.unwrap();
    assert_eq!(s.family_revocation("fam-f").await.unwrap().as_deref(), Some("revoked"));
    assert!(at_revoked(s, "at-f1", "fam-f").await && at_revoked(s, "at-f2", "fam-f").await);
    assert!(rt_revoked(s, "rt-f1").await);
    assert!(
        !at_revoked(s, "at-g1", "fam-g").await && !rt_revoked(s, "rt-g1").await,
        "other family untouched"
    );
    s.revoke_family("no-such-family", "revoked").await.unwrap();
}

/// TOTP enrolment is pending until confirmed; a confirmed credential is not overwritten; each
/// time step is recorded once (a replay or an older step is refused); recovery codes work once.
async fn totp_and_recovery_codes(s: &dyn Store) {
    let cred = |secret: &[u8], at| TotpCredential {
        account_id: "acc-1".into(),
        tenant_id: T1.into(),
        sealed_secret: secret.to_vec(),
        confirmed: false,
        last_step: None,
        created_at: at,
        kind: idp_core::totp::OtpKind::Rfc6238,
    };
    assert_eq!(s.totp("acc-1").await.unwrap(), None);
    assert!(s.begin_totp(&cred(b"first", 10)).await.unwrap());
    assert!(s.begin_totp(&cred(b"second", 20)).await.unwrap(), "a pending enrolment restarts");
    assert_eq!(s.totp("acc-1").await.unwrap(), Some(cred(b"second", 20)));
    assert!(!s.record_totp_step("acc-1", 5).await.unwrap(), "not before confirmation");
    assert!(s.confirm_totp("acc-1", 100).await.unwrap());
    assert!(!s.confirm_totp("acc-1", 101).await.unwrap(), "confirmed once");
    assert!(!s.begin_totp(&cred(b"third", 30)).await.unwrap(), "a confirmed credential stays");
    let got = s.totp("acc-1").await.unwrap().unwrap();
    assert_eq!(
        (got.confirmed, got.last_step, got.sealed_secret.as_slice()),
        (true, Some(100), &b"second"[..])
    );
    assert!(!s.record_totp_step("acc-1", 100).await.unwrap(), "the confirming step is used");
    assert!(!s.record_totp_step("acc-1", 99).await.unwrap(), "older");
    assert!(s.record_totp_step("acc-1", 101).await.unwrap());
    assert!(!s.record_totp_step("acc-1", 101).await.unwrap(), "replayed");
    assert!(!s.record_totp_step("acc-nobody", 500).await.unwrap());

    let hashes: Vec<String> = (0..3).map(|i| format!("hash-{i}")).collect();
    s.replace_recovery_codes("acc-1", &hashes).await.unwrap();
    assert_eq!(s.recovery_codes_left("acc-1").await.unwrap(), 3);
    assert!(s.use_recovery_code("acc-1", "hash-1", 50).await.unwrap());
    assert!(!s.use_recovery_code("acc-1", "hash-1", 51).await.unwrap(), "once");
    assert!(!s.use_recovery_code("acc-2", "hash-0", 51).await.unwrap(), "another account's");
    assert_eq!(s.recovery_codes_left("acc-1").await.unwrap(), 2);
    s.replace_recovery_codes("acc-1", &["new-0".to_string()]).await.unwrap();
    assert!(!s.use_recovery_code("acc-1", "hash-0", 52).await.unwrap(), "replaced");
    assert_eq!(s.recovery_codes_left("acc-1").await.unwrap(), 1);

    s.delete_totp("acc-1").await.unwrap();
    assert_eq!(s.totp("acc-1").await.unwrap(), None);
    assert_eq!(s.recovery_codes_left("acc-1").await.unwrap(), 1, "they serve any second factor");
    s.replace_recovery_codes("acc-1", &[]).await.unwrap();
    assert_eq!(s.recovery_codes_left("acc-1").await.unwrap(), 0);
    assert!(s.begin_totp(&cred(b"again", 40)).await.unwrap(), "after removal, enrolment starts anew");
    // an operator assigns a GM/T 0021 hardware token: confirmed at once, in place of the app
    let token = TotpCredential {
        confirmed: true,
        kind: idp_core::totp::OtpKind::Sm3 { period: 60 },
        ..cred(b"token-seed", 50)
    };
    s.put_totp(&token).await.unwrap();
    assert_eq!(s.totp("acc-1").await.unwrap(), Some(token.clone()));
    assert!(s.record_totp_step("acc-1", 7).await.unwrap(), "confirmed");
    s.put_totp(&TotpCredential { sealed_secret: b"other".to_vec(), ..token }).await.unwrap();
    let got = s.totp("acc-1").await.unwrap().unwrap();
    assert_eq!((got.sealed_secret.as_slice(), got.last_step), (&b"other"[..], None), "replaced, anew");
    s.delete_totp("acc-1").await.unwrap();
}

async fn audit(s: &dyn Store) {
    let event = |tenant_id: Option<&str>, kind: &str, at| AuditEvent {
        tenant_id: tenant_id.map(str::to_string),
        kind: kind.into(),
        account_id: Some("acc-1".into()),
        client_id: Some("web-1".into()),
        ip: Some("192.0.2.1".into()),
        detail: serde_json::json!({"reason": "password", "n": at}),
        at,
    };
    assert!(s.audit_events(T1, 10).await.unwrap().is_empty());
    s.append_audit(&event(Some(T1), "login_success", 10)).await.unwrap();
    s.append_audit(&event(Some(T2), "login_failure", 20)).await.unwrap();
    s.append_audit(&event(None, "bootstrap", 30)).await.unwrap();
    s.append_audit(&event(Some(T1), "token_issued", 40)).await.unwrap();
    s.append_audit(&event(Some(T1), "logout", 50)).await.unwrap();
    let kinds = |v: Vec<AuditEvent>| v.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds(s.audit_events(T1, 10).await.unwrap()), vec!["logout", "token_issued", "login_success"]);
    assert_eq!(kinds(s.audit_events(T1, 2).await.unwrap()), vec!["logout", "token_issued"]);
    assert_eq!(s.audit_events(T2, 10).await.unwrap(), vec![event(Some(T2), "login_failure", 20)]);
    assert!(s.audit_events("tenant-z", 10).await.unwrap().is_empty());
    // one account's events of one kind
    assert_eq!(kinds(s.account_events(T1, "acc-1", "logout", 10).await.unwrap()), vec!["logout"]);
    assert!(s.account_events(T1, "acc-1", "claims_released", 10).await.unwrap().is_empty());
    assert!(s.account_events(T2, "acc-1", "logout", 10).await.unwrap().is_empty(), "tenant isolation");
}

crate::both_backends!(store_contract_suite, contract);
