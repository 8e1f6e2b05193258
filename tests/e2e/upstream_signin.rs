//! Signing in through an upstream OpenID provider (identity brokering), end to end: a
//! department app's authorization request, the "sign in with …" link on the sign-in page, the
//! upstream (`upstream_op::FakeOp`), the callback, and the app's tokens. What must work: a first
//! sign-in creating and linking an account and binding the verified identity at the level the
//! operator's rule gives, with its evidence in `verified_claims`; the second reaching the same
//! account; linking by proving an account here, or by a verified number; the upstream's
//! `acr` counted through `acr_map`; `idp_hint`; `private_key_jwt`. And what must be refused:
//! every spoiled ID token, RFC 9207 mix-ups, a replayed or carried-off callback, a cancelled
//! sign-in, a disabled upstream, an identity that is not the account's.

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType, LevelRule, UpstreamAuth, UpstreamSettings};
use idp_server::ops::upstreams::NewUpstream;
use serde_json::{Value, json};

use crate::browser::{Browser, Step, extract, form_action};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::rp::{id_token, redeem};
use crate::upstream_op::{CLIENT_ID, FakeOp, Iss, SECRET, Tamper};

const NUMBER: &str = "220102199003070013";
const NUMBER2: &str = "11010519491231002X";
const NUMBER3: &str = "440304198512120031";

fn settings() -> UpstreamSettings {
    UpstreamSettings {
        name_zh: "国家政务服务平台".into(),
        name_en: "the national platform".into(),
        levels: vec![LevelRule { trust_framework: Some("cn_gov".into()), level: 2, ..Default::default() }],
        acr_map: [("urn:gov:high".to_string(), "aal2".to_string())].into(),
        request_verified_claims: true,
        create_accounts: true,
        ..Default::default()
    }
}

async fn add_upstream(s: &TestServer, op: &FakeOp, id: &str, settings: UpstreamSettings) {
    let n = NewUpstream {
        id: id.into(),
        issuer: op.issuer.clone(),
        client_id: CLIENT_ID.into(),
        auth: UpstreamAuth::ClientSecretBasic,
        client_secret: Some(SECRET.into()),
        settings,
    };
    s.ops.add_upstream_by("main", n, "test").await.unwrap();
    settle().await;
}

/// The nodes see a change of the tenant's upstreams at their next poll of the change counter.
pub async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
}

/// What the national platform asserts about a person verified against the register.
fn verified(number: &str) -> Value {
    json!({
        "acr": "urn:gov:low",
        "verified_claims": {
            "verification": {
                "trust_framework": "cn_gov", "time": "2026-11-30T08:00:00Z",
                "evidence": [{"type": "electronic_record", "check_details": [{"check_method": "data", "txn": "gov-txn-1"}]}]
            },
            "claims": {"name": "艾达", "id_number": number}
        }
    })
}

/// The "sign in with …" link of the sign-in page for upstream `id`.
pub(crate) fn upstream_link(body: &str, id: &str) -> Option<String> {
    let end = body.find(&format!("/via/{id}\""))?;
    let start = body[..end].rfind("href=\"")? + 6;
    Some(body[start..end + 5 + id.len()].to_string())
}

/// From a sign-in page through the upstream and back: the step after the callback, and the
/// callback's address.
async fn through(b: &Browser, s: &TestServer, login: &str) -> (Step, String) {
    let href = upstream_link(login, "gov").unwrap_or_else(|| panic!("no upstream link: {login}"));
    let to_op = b.get(s, &format!("{}{href}", s.base)).await.left();
    let callback = at_op(b, to_op.as_str()).await;
    (b.get(s, &callback).await, callback)
}

/// The fake upstream answers at once: its redirect back.
async fn at_op(b: &Browser, url: &str) -> String {
    let res = b.http.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "{url}");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// An app's sign-in through the upstream to its code: consent given where asked.
async fn app_sign_in(b: &Browser, s: &TestServer, client: &str, extra: &str) -> Step {
    let (_, _, login) = b.get(s, &auth_url(&s.issuer, client, extra)).await.page();
    let (step, _) = through(b, s, &login).await;
    consent_if_asked(b, s, step).await
}

/// Answers the question whether to link an upstream's answer to the account just signed in to.
async fn answer_link(b: &Browser, s: &TestServer, page: &str, decision: &str) -> Step {
    let csrf = extract(page, "csrf").expect("csrf");
    b.post_form(s, &form_action(page), &[("csrf", &csrf), ("decision", decision)]).await
}

pub(crate) async fn consent_if_asked(b: &Browser, s: &TestServer, step: Step) -> Step {
    match step {
        Step::Page { ref body, .. } if body.contains("value=\"allow\"") => {
            b.consent(s, &body.clone(), true).await
        }
        other => other,
    }
}

pub(crate) fn app() -> ClientSettings {
    ClientSettings { scope: "openid profile realname".into(), ..ClientSettings::default() }
}

/// An app's request for the verified name and its evidence in the ID token.
pub(crate) fn asking_verified_claims(s: &TestServer, client: &str) -> String {
    let claims = json!({"id_token": {"realname_level": null, "verified_claims": {
        "verification": {"trust_framework": null, "assurance_level": null, "evidence": null},
        "claims": {"name": null}}}});
    let extra = format!("&{}", serde_urlencoded::to_string([("claims", claims.to_string())]).unwrap());
    auth_url(&s.issuer, client, &extra).replace("scope=openid", "scope=openid%20profile%20realname")
}

async fn first_sign_in_creates_links_and_binds(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let op = FakeOp::start().await;
    op.set(|o| o.claims = verified(NUMBER));
    add_upstream(&s, &op, "gov", settings()).await;
    let (client, secret) = s.add_client(ClientType::Web, app()).await;
    let secret = secret.unwrap();
    let tenant = s.tenant_id().await;
    let before = s.ops.store.list_accounts(&tenant).await.unwrap().len();

    let b = Browser::new();
    let (_, _, login) = b.get(&s, &asking_verified_claims(&s, &client)).await.page();
    assert!(login.contains("通过国家政务服务平台登录"), "the button in plain words: {login}");
    let (step, callback) = through(&b, &s, &login).await;
    // what went to the upstream: the code flow with PKCE S256, a nonce, the claims asked for
    let asked = op.state.lock().unwrap().last_authorize.clone();
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert!(asked["nonce"].len() >= 43 && asked["state"].len() >= 43);
    assert_eq!(asked["redirect_uri"], format!("{}/upstream/gov/callback", s.issuer));
    assert!(asked["claims"].contains("verified_claims"));
    let cb = consent_if_asked(&b, &s, step).await.callback();
    let tokens = redeem(&s, &client, &secret, &cb["code"]).await;
    let id = id_token(&tokens);
    assert_eq!(id["amr"], json!(["fed"]), "{id}");
    assert_eq!(id["acr"], "aal1", "urn:gov:low is not in acr_map");
    assert_eq!(id["realname_level"], 2, "{id}");
    let evidence = &id["verified_claims"]["verification"]["evidence"][0];
    assert_eq!(evidence["type"], "vouch", "{id}");
    assert_eq!(evidence["attestation"]["reference_number"], "gov-txn-1");
    assert_eq!(evidence["attestation"]["voucher"]["organization"], "gov");
    assert_eq!(id["verified_claims"]["claims"]["name"], "艾达");

    let account = id["sub"].as_str().unwrap().to_string();
    let links = s.ops.store.upstream_links(&account).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].via.as_str(), links[0].subject.as_str()), ("created", "gov-subject-1"));
    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    let has = |kind: &str| events.iter().any(|e| e.kind == kind && e.detail.to_string().contains("upstream"));
    assert!(has("account_registered") && has("upstream_linked") && has("realname_bound"));

    // a replayed callback finds nothing
    let (_, status, page) = b.get(&s, &callback).await.page();
    assert_eq!(status, 400);
    assert!(page.contains("本次登录已过期或无效"), "{page}");

    // the second sign-in, in another browser, reaches the same account; acr_map counts an
    // upstream's strong sign-in as aal2 for an account without roles
    op.set(|o| o.claims["acr"] = json!("urn:gov:high"));
    let b2 = Browser::new();
    let cb = app_sign_in(&b2, &s, &client, "").await.callback();
    let id = id_token(&redeem(&s, &client, &secret, &cb["code"]).await);
    assert_eq!(id["sub"], account.as_str());
    assert_eq!((id["acr"].as_str(), id["amr"].clone()), (Some("aal2"), json!(["fed", "mfa"])), "{id}");
    let accounts = s.ops.store.list_accounts(&tenant).await.unwrap();
    assert_eq!(accounts.len(), before + 1, "no second account");

    // the account pages list the link; the only way into this account cannot be unlinked
    let (_, _, page) = b2.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(page.contains("data-upstream=\"gov\"") && page.contains("国家政务服务平台"), "{page}");
    let csrf = extract(&page, "csrf").unwrap();
    let (_, _, page) = b2.post_form(&s, "/t/main/account/links/gov/remove", &[("csrf", &csrf)]).await.page();
    assert!(page.contains("这是您登录本账号的唯一方式"), "{page}");
    assert_eq!(s.ops.store.upstream_links(&account).await.unwrap().len(), 1);
    // nor without the form's token
    let (_, status, _) =
        b2.post_form(&s, "/t/main/account/links/gov/remove", &[("csrf", "forged")]).await.page();
    assert_eq!(status, 403);
}
crate::both_backends!(first_sign_in, first_sign_in_creates_links_and_binds);

async fn linking_rules(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.realname.provider = "simulator".into()).await else {
        return;
    };
    let op = FakeOp::start().await;
    let no_creation = UpstreamSettings { create_accounts: false, link_by_id_number: true, ..settings() };
    add_upstream(&s, &op, "gov", no_creation).await;
    let (client, secret) = s.add_client(ClientType::Web, app()).await;
    let secret = secret.unwrap();
    let lin = s.add_account("lin").await;
    let mei = s.add_account("mei").await;

    // nothing links lin's upstream subject: she proves her account here, and the two are linked
    op.set(|o| o.subject = "lin-at-gov".into());
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (step, _) = through(&b, &s, &login).await;
    let (_, _, page) = step.page();
    assert!(page.contains("请用您在本平台的账号登录一次"), "asked to prove her account: {page}");
    // signed in, she is asked in plain words; declining links nothing
    let (_, _, page) = b.sign_in(&s, &page, "lin", PASSWORD).await.page();
    assert!(page.contains("id=\"link-yes\"") && page.contains("国家政务服务平台"), "{page}");
    let cb = consent_if_asked(&b, &s, answer_link(&b, &s, &page, "skip").await).await.callback();
    assert_eq!(id_token(&redeem(&s, &client, &secret, &cb["code"]).await)["sub"], lin.as_str());
    assert!(s.ops.store.upstream_links(&lin).await.unwrap().is_empty(), "declined: not linked");
    // the next time she agrees
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = through(&b, &s, &login).await.0.page();
    let (_, _, page) = b.sign_in(&s, &page, "lin", PASSWORD).await.page();
    let cb = consent_if_asked(&b, &s, answer_link(&b, &s, &page, "link").await).await.callback();
    assert_eq!(id_token(&redeem(&s, &client, &secret, &cb["code"]).await)["sub"], lin.as_str());
    let links = s.ops.store.upstream_links(&lin).await.unwrap();
    assert_eq!(links.iter().map(|l| l.via.as_str()).collect::<Vec<_>>(), ["proved_local"]);
    // from then on the upstream alone is enough
    let b = Browser::new();
    let cb = app_sign_in(&b, &s, &client, "").await.callback();
    assert_eq!(id_token(&redeem(&s, &client, &secret, &cb["code"]).await)["sub"], lin.as_str());
    // signed in through the upstream alone, she cannot unlink it (nor change her account): she
    // has a password of her own
    let (_, _, page) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    let (_, _, page) = b.post_form(&s, "/t/main/account/links/gov/remove", &[("csrf", &csrf)]).await.page();
    assert!(page.contains("请先退出，再用本平台的账号重新登录"), "{page}");
    assert_eq!(s.ops.store.upstream_links(&lin).await.unwrap().len(), 1);
    // signed in with it, she may (and then links again by proving her account)
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    b.sign_in(&s, &login, "lin", PASSWORD).await.page();
    let (_, _, page) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    b.post_form(&s, "/t/main/account/links/gov/remove", &[("csrf", &csrf)]).await.page();
    assert!(s.ops.store.upstream_links(&lin).await.unwrap().is_empty(), "unlinked");
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = through(&b, &s, &login).await.0.page();
    let (_, _, page) = b.sign_in(&s, &page, "lin", PASSWORD).await.page();
    consent_if_asked(&b, &s, answer_link(&b, &s, &page, "link").await).await.callback();
    assert_eq!(s.ops.store.upstream_links(&lin).await.unwrap().len(), 1, "linked again");

    // mei bound her number at level 2 here; the upstream verified the same number: linked
    bind_at_level_2(&s, &mei, NUMBER).await;
    op.set(|o| {
        o.subject = "mei-at-gov".into();
        o.claims = verified(NUMBER);
    });
    let cb = app_sign_in(&Browser::new(), &s, &client, "").await.callback();
    assert_eq!(id_token(&redeem(&s, &client, &secret, &cb["code"]).await)["sub"], mei.as_str());
    assert_eq!(s.ops.store.upstream_links(&mei).await.unwrap()[0].via, "verified_id");

    // lin is bound to her own number; her upstream subject now asserts mei's: not lin's
    // identity, refused, and nothing changes
    bind_at_level_2(&s, &lin, NUMBER3).await;
    op.set(|o| o.subject = "lin-at-gov".into());
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, status, page) = through(&b, &s, &login).await.0.page();
    assert_eq!(status, 403);
    assert!(page.contains("与您在本平台绑定的实名信息不一致"), "{page}");
    assert_eq!(s.ops.store.real_name(&lin).await.unwrap().unwrap().level, 2, "lin's binding stays");
    // a subject asserting no identity still reaches lin
    op.set(|o| o.claims = json!({}));
    let cb = app_sign_in(&Browser::new(), &s, &client, "").await.callback();
    assert_eq!(id_token(&redeem(&s, &client, &secret, &cb["code"]).await)["sub"], lin.as_str());

    // an interaction that carried an earlier session (here: to a consent page) confirms no
    // link: only a sign-in made after the upstream's answer arrived does
    let kai = s.add_account("kai").await;
    let (other, _) = s.add_client(ClientType::Web, app()).await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    b.sign_in(&s, &login, "kai", PASSWORD).await.page();
    let (url, _, page) = b.get(&s, &auth_url(&s.issuer, &other, "")).await.page();
    assert!(page.contains("value=\"allow\""), "{page}");
    op.set(|o| {
        o.subject = "stranger-at-gov".into();
        o.claims = json!({});
    });
    let to_op = b.get(&s, &format!("{url}/via/gov")).await.left();
    let callback = at_op(&b, to_op.as_str()).await;
    let (_, _, page) = b.get(&s, &callback).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    b.post_form(&s, &format!("{url}/link"), &[("csrf", &csrf), ("decision", "link")]).await;
    assert!(s.ops.store.upstream_links(&kai).await.unwrap().is_empty(), "nothing linked to kai");

    // an account holding roles is never linked by a number: its holder proves it
    let boss = idp_server::ops::NewAccount {
        username: "boss".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["staff".into()],
    };
    let boss = s.ops.add_account("main", boss).await.unwrap().id;
    bind_at_level_2(&s, &boss, NUMBER2).await;
    op.set(|o| {
        o.subject = "boss-at-gov".into();
        o.claims = verified(NUMBER2);
    });
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = through(&b, &s, &login).await.0.page();
    assert!(page.contains("请用您在本平台的账号登录一次"), "{page}");
}
crate::both_backends!(linking, linking_rules);

/// Binds `account` at level 2 as the verification provider would, directly in the store.
async fn bind_at_level_2(s: &TestServer, account: &str, number: &str) {
    let tenant = s.tenant_id().await;
    let kek = &s.ops.kek;
    let record = idp_core::model::RealName {
        account_id: account.into(),
        tenant_id: tenant.clone(),
        level: 2,
        name: "艾达".into(),
        id_type: "resident_id".into(),
        id_sealed: idp_core::realname::seal_id(
            kek,
            &idp_core::SystemEnv,
            idp_core::crypto::SealAlg::Aes256Gcm,
            &tenant,
            number,
        ),
        id_hash: idp_core::realname::id_hash(kek, &tenant, number),
        id_masked: "2201**********0013".into(),
        method: "provider".into(),
        verifier: "simulator".into(),
        verified_at: 1,
        evidence: None,
    };
    assert!(s.ops.store.put_real_name(&record).await.unwrap());
}

/// Each spoiled answer ends at the sign-in page with a plain message, audited with its reason,
/// and nobody is signed in or linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spoiled_answers_are_refused() {
    let Some(s) = TestServer::start(Backend::Sqlite).await else { return };
    let op = FakeOp::start().await;
    add_upstream(&s, &op, "gov", settings()).await;
    let (client, _) = s.add_client(ClientType::Web, app()).await;
    let tenant = s.tenant_id().await;
    let before = s.ops.store.list_accounts(&tenant).await.unwrap().len();
    let failed = |page: &str| page.contains("通过该方式登录未能完成");

    for tamper in [
        Tamper::OtherKey,
        Tamper::AlgNone,
        Tamper::Hs256,
        Tamper::WrongAud,
        Tamper::ExtraAud,
        Tamper::WrongIss,
        Tamper::WrongNonce,
        Tamper::Expired,
        Tamper::Stale,
        Tamper::NoSub,
        Tamper::OtherAzp,
    ] {
        op.set(|o| o.tamper = tamper);
        let b = Browser::new();
        let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
        let (_, status, page) = through(&b, &s, &login).await.0.page();
        assert!(status == 200 && failed(&page), "{tamper:?}: {status} {page}");
    }
    op.set(|o| o.tamper = Tamper::Nothing);

    // RFC 9207: another issuer named in the answer; none where the upstream promises one
    for (iss, advertise) in [(Iss::Other("http://127.0.0.1:9/op".into()), false), (Iss::Missing, true)] {
        op.set(|o| {
            o.iss = iss.clone();
            o.advertise_iss = advertise;
        });
        let b = Browser::new();
        let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
        let (_, _, page) = through(&b, &s, &login).await.0.page();
        assert!(failed(&page), "{iss:?}: {page}");
    }
    op.set(|o| {
        o.iss = Iss::Missing;
        o.advertise_iss = false;
    });

    // the person cancels at the upstream: back to the ways of signing in
    op.set(|o| o.error = Some("access_denied".into()));
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = through(&b, &s, &login).await.0.page();
    assert!(failed(&page) && page.contains("name=\"password\""), "{page}");
    op.set(|o| o.error = None);

    // a callback carried to another browser signs nobody in there (and is spent)
    let victim = Browser::new();
    let (_, _, login) = victim.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let href = upstream_link(&login, "gov").unwrap();
    let to_op = victim.get(&s, &format!("{}{href}", s.base)).await.left();
    let callback = at_op(&victim, to_op.as_str()).await;
    let (_, status, _) = Browser::new().get(&s, &callback).await.page();
    assert_eq!(status, 400);
    let (_, status, _) = victim.get(&s, &callback).await.page();
    assert_eq!(status, 400, "spent");
    // a state nobody issued
    let forged = format!("{}/upstream/gov/callback?code=code-1&state=forged", s.issuer);
    assert_eq!(victim.get(&s, &forged).await.page().1, 400);

    let events = s.ops.store.audit_events(&tenant, 200).await.unwrap();
    let failures = events.iter().filter(|e| e.kind == "upstream_failure").count();
    // each for its own reason, said in the trail
    let reasons: Vec<String> = events
        .iter()
        .filter(|e| e.kind == "upstream_failure")
        .map(|e| e.detail["reason"].as_str().unwrap_or_default().to_string())
        .collect();
    for why in [
        "azp",
        "Signature verification failed",
        "nonce mismatch",
        "Invalid issuer",
        "not a trusted audience",
        "must contain",
        "expired at",
        "issued at",
        "no iss",
        "answer's iss",
        "access_denied",
    ] {
        assert!(reasons.iter().any(|r| r.contains(why)), "{why}: {reasons:?}");
    }
    assert!(failures >= 14, "each refusal audited: {failures}");
    assert!(events.iter().all(|e| !e.detail.to_string().contains(SECRET)));
    assert_eq!(s.ops.store.list_accounts(&tenant).await.unwrap().len(), before, "nobody created");

    // a disabled upstream is offered nowhere
    s.ops.set_upstream_disabled_by("main", "gov", true, "test").await.unwrap();
    settle().await;
    let b = Browser::new();
    let (url, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    assert!(upstream_link(&login, "gov").is_none());
    let (_, status, _) = b.get(&s, &format!("{url}/via/gov")).await.page();
    assert_eq!(status, 404);
}

/// `idp_hint` goes straight to a hidden upstream; `private_key_jwt` signs with the tenant's
/// key, addressed to the upstream's issuer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hints_and_private_key_jwt() {
    let Some(s) = TestServer::start(Backend::Sqlite).await else { return };
    let op = FakeOp::start().await;
    let n = NewUpstream {
        id: "gov".into(),
        issuer: op.issuer.clone(),
        client_id: CLIENT_ID.into(),
        auth: UpstreamAuth::PrivateKeyJwt,
        client_secret: None,
        settings: UpstreamSettings { hidden: true, ..settings() },
    };
    s.ops.add_upstream_by("main", n, "test").await.unwrap();
    settle().await;
    let jwks = reqwest::get(format!("{}/jwks", s.issuer)).await.unwrap().text().await.unwrap();
    op.set(|o| o.client_jwks = Some(jwks));
    let (client, secret) = s.add_client(ClientType::Web, app()).await;

    let b = Browser::new();
    let (url, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    assert!(upstream_link(&login, "gov").is_none(), "hidden: no button");
    assert_eq!(b.get(&s, &format!("{url}/via/gov")).await.page().1, 404, "nor reached without the hint");
    let to_op = b.get(&s, &auth_url(&s.issuer, &client, "&kc_idp_hint=gov")).await.left();
    assert!(to_op.as_str().starts_with(&op.issuer), "{to_op}");
    let callback = at_op(&b, to_op.as_str()).await;
    let cb = consent_if_asked(&b, &s, b.get(&s, &callback).await).await.callback();
    let id = id_token(&redeem(&s, &client, &secret.unwrap(), &cb["code"]).await);
    assert!(id["sub"].is_string());
    let assertion = op.state.lock().unwrap().assertions[0].clone();
    assert_eq!(assertion["aud"], op.issuer.as_str(), "addressed to the issuer");
    assert!(op.refused().is_empty(), "{:?}", op.refused());
    // a client's max_age goes on to the upstream, whose auth_time must then show it
    let b = Browser::new();
    let to_op = b.get(&s, &auth_url(&s.issuer, &client, "&idp_hint=gov&max_age=60")).await.left();
    let callback = at_op(&b, to_op.as_str()).await;
    assert_eq!(op.state.lock().unwrap().last_authorize["max_age"], "60");
    let (_, _, page) = b.get(&s, &callback).await.page();
    assert!(page.contains("通过该方式登录未能完成"), "no auth_time: {page}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    op.set(|o| o.claims = json!({"auth_time": now - 5}));
    let b = Browser::new();
    let to_op = b.get(&s, &auth_url(&s.issuer, &client, "&idp_hint=gov&max_age=60")).await.left();
    let callback = at_op(&b, to_op.as_str()).await;
    consent_if_asked(&b, &s, b.get(&s, &callback).await).await.callback();
    op.set(|o| o.claims = json!({"auth_time": now - 3600}));
    let b = Browser::new();
    let to_op = b.get(&s, &auth_url(&s.issuer, &client, "&idp_hint=gov&max_age=60")).await.left();
    let callback = at_op(&b, to_op.as_str()).await;
    assert!(b.get(&s, &callback).await.page().2.contains("通过该方式登录未能完成"), "too old");
    // a hint naming no upstream is the sign-in page
    let (_, _, page) = Browser::new().get(&s, &auth_url(&s.issuer, &client, "&idp_hint=nope")).await.page();
    assert!(page.contains("name=\"password\""));
}

/// A client that takes sign-ins only through the upstream; the upstream's back-channel logout
/// ending the sessions it began, and every malformed or replayed logout token refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn required_upstream_and_backchannel_logout() {
    let Some(s) = TestServer::start(Backend::Sqlite).await else { return };
    let op = FakeOp::start().await;
    add_upstream(&s, &op, "gov", settings()).await;
    let (client, _) = s.add_client(ClientType::Web, app()).await;
    let national = ClientSettings { upstream: Some("gov".into()), ..app() };
    let (portal, portal_secret) = s.add_client(ClientType::Web, national).await;
    let nowhere = ClientSettings { upstream: Some("nowhere".into()), ..app() };
    let refused = s
        .ops
        .add_client(
            "main",
            idp_server::ops::NewClient {
                name: "x".into(),
                client_type: ClientType::Web,
                redirect_uris: vec![crate::common::REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                scope: None,
                settings: Some(nowhere),
            },
        )
        .await;
    assert!(refused.unwrap_err().to_string().contains("no upstream"), "an unknown upstream is refused");
    let lin = s.add_account("lin").await;
    // (she consented to the portal before: only where her session came from stands between)
    let now = s.env.now();
    let grant = idp_core::model::Grant {
        tenant_id: s.tenant_id().await,
        account_id: lin,
        client_id: portal.clone(),
        scopes: vec!["openid".into()],
        created_at: now,
        updated_at: now,
    };
    s.ops.store.upsert_grant(&grant).await.unwrap();

    // signed in with a password for one client, the portal still sends her through the upstream
    let b = Browser::new();
    b.authorize(&s, &auth_url(&s.issuer, &client, ""), "lin").await.callback();
    let silent = b.get(&s, &auth_url(&s.issuer, &portal, "&prompt=none")).await.callback();
    assert_eq!(silent["error"], "login_required");
    let to_op = b.get(&s, &auth_url(&s.issuer, &portal, "")).await.left();
    assert!(to_op.as_str().starts_with(&op.issuer), "{to_op}");
    let callback = at_op(&b, to_op.as_str()).await;
    let cb = consent_if_asked(&b, &s, b.get(&s, &callback).await).await.callback();
    assert!(
        redeem(&s, &portal, portal_secret.as_deref().unwrap(), &cb["code"]).await["id_token"].is_string()
    );
    // now silently
    let silent = b.get(&s, &auth_url(&s.issuer, &portal, "&prompt=none")).await.callback();
    assert!(silent.contains_key("code"), "{silent:?}");

    // her logout here goes on to the upstream's, and back to the portal's post-logout page
    let id_token = redeem(&s, &portal, portal_secret.as_deref().unwrap(), &silent["code"]).await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bye = serde_urlencoded::to_string([
        ("id_token_hint", id_token.as_str()),
        ("post_logout_redirect_uri", crate::common::POST_LOGOUT),
        ("state", "bye-1"),
    ])
    .unwrap();
    let to_op = b.get(&s, &format!("{}/end_session?{bye}", s.issuer)).await.left();
    assert!(to_op.as_str().starts_with(&format!("{}/logout", op.issuer)), "{to_op}");
    let back = at_op(&b, to_op.as_str()).await;
    let asked = op.state.lock().unwrap().last_logout.clone();
    assert_eq!(asked["client_id"], CLIENT_ID);
    assert_eq!(asked["post_logout_redirect_uri"], format!("{}/upstream/gov/signed-out", s.issuer));
    let done = b.get(&s, &back).await.left();
    assert_eq!(done.as_str(), format!("{}?state=bye-1", crate::common::POST_LOGOUT));
    // the way back is spent; a state nobody issued leads to the signed-out page, not elsewhere
    let (_, status, page) = b.get(&s, &back).await.page();
    assert!(status == 200 && page.contains("id=\"sign-in-again\""), "{page}");
    let silent = b.get(&s, &auth_url(&s.issuer, &portal, "&prompt=none")).await.callback();
    assert_eq!(silent["error"], "login_required", "signed out");
    // in again through the upstream, for the back-channel logout below
    let to_op = b.get(&s, &auth_url(&s.issuer, &portal, "")).await.left();
    let callback = at_op(&b, to_op.as_str()).await;
    consent_if_asked(&b, &s, b.get(&s, &callback).await).await.callback();

    // the upstream's back-channel logout: every refusal first, then the real one
    let endpoint = format!("{}/upstream/gov/backchannel-logout", s.issuer);
    let post = |token: String| {
        let endpoint = endpoint.clone();
        async move {
            let res = reqwest::Client::new().post(&endpoint).form(&[("logout_token", token)]).send().await;
            res.unwrap().status().as_u16()
        }
    };
    let sub = json!({"sub": "gov-subject-1"});
    let with = |extra: Value| {
        let mut c = sub.clone();
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    assert_eq!(post(op.logout_token(sub.clone(), true)).await, 400, "another key");
    assert_eq!(post(op.logout_token(with(json!({"aud": "someone-else"})), false)).await, 400, "aud");
    assert_eq!(post(op.logout_token(with(json!({"iss": "http://127.0.0.1:9/op"})), false)).await, 400, "iss");
    assert_eq!(post(op.logout_token(with(json!({"nonce": "n"})), false)).await, 400, "an ID token");
    assert_eq!(post(op.logout_token(with(json!({"events": null})), false)).await, 400, "no event");
    assert_eq!(post(op.logout_token(json!({}), false)).await, 400, "neither sub nor sid");
    assert_eq!(post(op.logout_token(with(json!({"iat": 1})), false)).await, 400, "old");
    assert_eq!(post("not.a.token".into()).await, 400);
    let silent = b.get(&s, &auth_url(&s.issuer, &portal, "&prompt=none")).await.callback();
    assert!(silent.contains_key("code"), "still signed in after the refusals");
    let token = op.logout_token(sub.clone(), false);
    assert_eq!(post(token.clone()).await, 200);
    let silent = b.get(&s, &auth_url(&s.issuer, &portal, "&prompt=none")).await.callback();
    assert_eq!(silent["error"], "login_required", "the session ended");
    assert_eq!(post(token).await, 400, "a replayed token");
    let tenant = s.tenant_id().await;
    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "upstream_logout" && e.detail["sessions"] == 1));
}

/// The account's own second factor beside an upstream: asked after an upstream's one-factor
/// sign-in; not asked where `acr_map` counts the upstream's sign-in as two — but such a session
/// cannot change the account's factors; always asked of an account holding roles, and on the
/// sign-in that links an existing account.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_factors_beside_an_upstream() {
    let Some(s) = TestServer::start(Backend::Sqlite).await else { return };
    let op = FakeOp::start().await;
    let linking = UpstreamSettings { create_accounts: false, link_by_id_number: true, ..settings() };
    add_upstream(&s, &op, "gov", linking).await;
    let (client, secret) = s.add_client(ClientType::Web, app()).await;
    let secret = secret.unwrap();
    let tenant = s.tenant_id().await;
    let kim = s.add_account("kim").await;
    let (totp, _) = crate::step_up::enrol(&s, "kim").await;
    let staff = idp_server::ops::NewAccount {
        username: "sam".into(),
        password: Some(PASSWORD.into()),
        name: None,
        phone: None,
        email: None,
        roles: vec!["staff".into()],
    };
    let sam = s.ops.add_account("main", staff).await.unwrap().id;
    let (sam_totp, _) = crate::step_up::enrol(&s, "sam").await;
    for (account, subject) in [(&kim, "kim-at-gov"), (&sam, "sam-at-gov")] {
        let link = idp_core::model::UpstreamLink {
            tenant_id: tenant.clone(),
            upstream_id: "gov".into(),
            subject: subject.into(),
            account_id: account.clone(),
            via: "proved_local".into(),
            created_at: 1,
            last_used_at: None,
            last_acr: None,
        };
        assert!(s.ops.store.insert_upstream_link(&link).await.unwrap());
    }
    let code = |secret: &idp_core::totp::Secret| {
        s.env.advance(30);
        secret.code_at_step(s.env.now() / 30)
    };
    let sign_in = |subject: &'static str, acr: &'static str| {
        op.set(|o| {
            o.subject = subject.into();
            o.claims = json!({"acr": acr});
        });
        async {
            let b = Browser::new();
            let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
            let step = through(&b, &s, &login).await.0;
            (b, step)
        }
    };

    // one factor upstream: kim's authenticator is asked; fed with otp is aal2
    let (b, step) = sign_in("kim-at-gov", "urn:gov:low").await;
    let (_, _, page) = step.page();
    let step = crate::step_up::submit_code(&b, &s, &page, &code(&totp)).await;
    let cb = consent_if_asked(&b, &s, step).await.callback();
    let id = id_token(&redeem(&s, &client, &secret, &cb["code"]).await);
    assert_eq!((id["acr"].as_str(), id["amr"].clone()), (Some("aal2"), json!(["fed", "otp", "mfa"])), "{id}");

    // two factors upstream (acr_map): not asked here, but that session cannot change her factors
    let (b, step) = sign_in("kim-at-gov", "urn:gov:high").await;
    let cb = consent_if_asked(&b, &s, step).await.callback();
    let id = id_token(&redeem(&s, &client, &secret, &cb["code"]).await);
    assert_eq!((id["acr"].as_str(), id["amr"].clone()), (Some("aal2"), json!(["fed", "mfa"])), "{id}");
    let (_, _, page) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    let (_, _, page) = b.post_form(&s, "/t/main/account/totp/remove", &[("csrf", &csrf)]).await.page();
    assert!(page.contains("请先退出，再用本平台的账号重新登录"), "{page}");
    assert!(s.ops.store.totp(&kim).await.unwrap().is_some_and(|t| t.confirmed), "her authenticator stays");

    // an account holding roles: its own second factor, whatever the upstream says
    let (b, step) = sign_in("sam-at-gov", "urn:gov:high").await;
    let (_, _, page) = step.page();
    assert!(page.contains("name=\"code\""), "{page}");
    crate::step_up::submit_code(&b, &s, &page, &code(&sam_totp)).await;

    // the sign-in that links an existing account by its verified number: its factor too
    let mei = s.add_account("mei").await;
    bind_at_level_2(&s, &mei, NUMBER).await;
    let (mei_totp, _) = crate::step_up::enrol(&s, "mei").await;
    op.set(|o| {
        o.subject = "mei-at-gov".into();
        o.claims = verified(NUMBER);
        o.claims["acr"] = json!("urn:gov:high");
    });
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = through(&b, &s, &login).await.0.page();
    assert!(page.contains("name=\"code\""), "{page}");
    assert!(
        s.ops.store.upstream_links(&mei).await.unwrap().is_empty(),
        "not linked before her second factor"
    );
    let step = crate::step_up::submit_code(&b, &s, &page, &code(&mei_totp)).await;
    consent_if_asked(&b, &s, step).await.callback();
    assert_eq!(s.ops.store.upstream_links(&mei).await.unwrap()[0].via, "verified_id");
}
