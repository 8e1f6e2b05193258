//! Passkeys and security keys through the real pages, with software authenticators: our
//! `SoftKey` (discoverable credentials with user handles, user verification, a sign counter that
//! can be cloned) and webauthn-authenticator-rs's `SoftPasskey` (an independent implementation,
//! used as a security key). The server runs at `http://localhost:<port>`: WebAuthn needs a
//! domain name, and browsers treat localhost as a secure origin.
//!
//! Covered: registration on the account page (recovery codes with the first factor, a second
//! key only from an aal2 session, one authenticator not registered twice); passwordless sign-in
//! with a discoverable passkey → `acr=aal2`, amr `swk user mfa`; a security key as the second
//! factor after the password → `acr=aal2`, amr `pwd hwk mfa`; a security key refused as a sign-in
//! on its own; a replayed assertion refused; a cloned authenticator (sign counter that did not
//! grow) refused, flagged on the account page, audited, and refused from then on; removal only
//! from an aal2 session; and no passkey offer at all where the public URL is an IP address.

use base64::Engine;
use idp_core::model::{ClientSettings, ClientType};
use serde_json::Value;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::browser::{Browser, Step, extract, rp_http};
use crate::common::{Backend, PASSWORD, REDIRECT, TestServer, auth_url};
use crate::softkey::SoftKey;

fn attr(body: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let i = body.find(&marker).unwrap_or_else(|| panic!("no {name} in {body}")) + marker.len();
    body[i..i + body[i..].find('"').unwrap()].to_string()
}

/// POSTs a form without following redirects: (status, body).
async fn post(b: &Browser, s: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", s.base) };
    let res = b.http.post(url).form(form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The options for a WebAuthn form on `page` (the form marked `data-webauthn`), and its action.
async fn webauthn_begin(b: &Browser, s: &TestServer, page: &str, extra: &[(&str, &str)]) -> (String, String) {
    let csrf = extract(page, "csrf").unwrap();
    let begin = attr(page, "data-begin");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(extra);
    let (status, options) = post(b, s, &begin, &form).await;
    assert_eq!(status, 200, "{begin}: {options}");
    (options, begin.trim_end_matches("/begin").to_string())
}

async fn webauthn_finish(
    b: &Browser,
    s: &TestServer,
    page: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> Step {
    let csrf = extract(page, "csrf").unwrap();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(extra);
    b.post_form(s, action, &form).await
}

fn claims_of(body: &Value) -> Value {
    let jwt = body["id_token"].as_str().unwrap_or_else(|| panic!("no id_token: {body}"));
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

async fn id_token(s: &TestServer, client: &str, secret: &str, code: &str) -> Value {
    let res = rp_http()
        .post(format!("{}/token", s.issuer))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    claims_of(&res.json().await.unwrap())
}

/// A passwordless sign-in on a sign-in page with `key`: the step after the finish.
async fn sign_in_with(b: &Browser, s: &TestServer, login_page: &str, key: &mut SoftKey) -> Step {
    assert!(login_page.contains("autocomplete=\"username webauthn\""), "autofill offered: {login_page}");
    let (options, action) = webauthn_begin(b, s, login_page, &[("purpose", "signin")]).await;
    let o: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(o["mediation"], "conditional", "autofill-ready options: {o}");
    assert!(o["publicKey"]["allowCredentials"].as_array().is_none_or(|a| a.is_empty()), "no username: {o}");
    let response = key.get(&options);
    webauthn_finish(b, s, login_page, &action, &[("purpose", "signin"), ("response", &response)]).await
}

async fn passkeys(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.public_url = Some("http://localhost:0".into());
        c.limits.signin_per_account_per_minute = 100;
        c.limits.signin_per_ip_per_minute = 200;
    })
    .await
    else {
        return;
    };
    assert!(s.base.starts_with("http://localhost:"), "{}", s.base);
    s.add_account("ines").await;
    let (web, secret) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let secret = secret.unwrap();
    let home = format!("{}/t/main/account/security", s.base);
    let tenant = s.ops.tenant("main").await.unwrap().id;

    // 1. Register a passkey from a password session: the first factor brings recovery codes.
    let b1 = Browser::new();
    let (_, _, login) = b1.get(&s, &home).await.page();
    let (_, _, page) = b1.sign_in(&s, &login, "ines", PASSWORD).await.page();
    assert!(
        page.contains("id=\"keys\" data-count=\"0\"") && page.contains("data-webauthn=\"create\""),
        "{page}"
    );
    let mut phone = SoftKey::new(&s.base);
    let (options, _) = webauthn_begin(&b1, &s, &page, &[("kind", "passkey"), ("name", "phone")]).await;
    let o: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(o["publicKey"]["authenticatorSelection"]["residentKey"], "required", "{o}");
    assert_eq!(o["publicKey"]["authenticatorSelection"]["userVerification"], "required", "{o}");
    let user_handle = o["publicKey"]["user"]["id"].as_str().unwrap().to_string();
    let response = phone.create(&options);
    let (_, _, codes) =
        webauthn_finish(&b1, &s, &page, &action_of_keys(), &[("name", "phone"), ("response", &response)])
            .await
            .page();
    assert_eq!(codes.matches("<li><code>").count(), 10, "recovery codes with the first factor: {codes}");
    let (_, _, page) = b1.get(&s, &home).await.page();
    assert!(page.contains("data-count=\"1\"") && page.contains("<strong>phone</strong>"), "{page}");
    assert!(page.contains("从未使用"), "never used yet: {page}");
    // this session used the password only: the account now has a factor, so no more changes
    assert!(!page.contains("data-webauthn=\"create\""), "no add form for an aal1 session");
    let csrf = extract(&page, "csrf").unwrap();
    let (status, _) =
        post(&b1, &s, "/t/main/account/keys/begin", &[("csrf", &csrf), ("kind", "security_key")]).await;
    assert_eq!(status, 403, "adding a factor needs aal2 once one exists");
    let key_id = attr(&page, "data-key");
    let (_, _, refused) =
        b1.post_form(&s, &format!("/t/main/account/keys/{key_id}/remove"), &[("csrf", &csrf)]).await.page();
    assert!(
        refused.contains("请先退出，再用本平台的账号重新登录") && refused.contains("data-count=\"1\""),
        "{refused}"
    );

    // 2. Passwordless sign-in to a client: aal2 from one passkey with user verification.
    let b2 = Browser::new();
    let (_, _, login) = b2.get(&s, &auth_url(&s.issuer, &web, "&acr_values=aal2")).await.page();
    let mut step = sign_in_with(&b2, &s, &login, &mut phone).await;
    if let Step::Page { ref body, .. } = step
        && body.contains("value=\"allow\"")
    {
        step = b2.consent(&s, &body.clone(), true).await;
    }
    let cb = step.callback();
    let c = id_token(&s, &web, &secret, &cb["code"]).await;
    assert_eq!(c["acr"], "aal2", "{c}");
    assert_eq!(c["amr"], serde_json::json!(["swk", "user", "mfa"]), "{c}");
    // the user handle is no personal data: not the account id, not the username
    let sub = c["sub"].as_str().unwrap();
    let handle = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&user_handle).unwrap();
    assert!(
        !String::from_utf8_lossy(&handle).contains(sub) && !String::from_utf8_lossy(&handle).contains("ines")
    );

    // a replayed assertion (the ceremony is used once) signs nobody in
    let br = Browser::new();
    let (_, _, login) = br.get(&s, &home).await.page();
    assert!(login.contains("data-webauthn=\"get\""), "{login}");
    let (options, action) = webauthn_begin(&br, &s, &login, &[("purpose", "signin")]).await;
    let response = phone.get(&options);
    let (url, _, _) =
        webauthn_finish(&br, &s, &login, &action, &[("purpose", "signin"), ("response", &response)])
            .await
            .page();
    assert!(url.ends_with("/account/security"), "{url}");
    let again =
        webauthn_finish(&br, &s, &login, &action, &[("purpose", "signin"), ("response", &response)]).await;
    let (_, _, again) = again.page();
    assert!(!again.contains("id=\"keys\""), "a replay is refused: {again}");

    // 3. In that aal2 session: add a security key (an independent soft authenticator).
    let (_, _, page) = b2.get(&s, &home).await.page();
    assert!(page.contains("data-webauthn=\"create\""), "aal2 may add: {page}");
    let (options, _) =
        webauthn_begin(&b2, &s, &page, &[("kind", "security_key"), ("name", "blue key")]).await;
    let excluded: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(excluded["publicKey"]["excludeCredentials"][0]["id"].as_str(), Some(phone.ids()[0].as_str()));
    // options Chromium accepts (it refuses credProtect userVerificationRequired without
    // userVerification required, before asking the key; tests/browser/passkey.mjs proves it)
    let (ext, sel) = (&excluded["publicKey"]["extensions"], &excluded["publicKey"]["authenticatorSelection"]);
    assert_eq!(
        ext["credentialProtectionPolicy"], "userVerificationOptionalWithCredentialIDList",
        "{excluded}"
    );
    assert_eq!(ext["enforceCredentialProtectionPolicy"], false, "{excluded}");
    assert_eq!(
        (sel["userVerification"].as_str(), sel["residentKey"].as_str()),
        (Some("preferred"), Some("discouraged"))
    );
    let origin = url::Url::parse(&s.base).unwrap();
    let mut yubi = SoftPasskey::new(true);
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let reg = yubi.do_registration(origin.clone(), ccr).expect("soft security key registers");
    let response = serde_json::to_string(&reg).unwrap();
    let step =
        webauthn_finish(&b2, &s, &page, &action_of_keys(), &[("name", "blue key"), ("response", &response)])
            .await;
    let (url, _, page) = step.page();
    assert!(url.ends_with("/account/security") && page.contains("data-count=\"2\""), "{url}: {page}");
    assert!(page.contains("blue key") && page.contains("安全密钥"), "{page}");
    // registering the same authenticator again is refused by the exclude list
    let (options, _) = webauthn_begin(&b2, &s, &page, &[("kind", "passkey"), ("name", "again")]).await;
    let mut same = phone.clone();
    let dup = std::panic::catch_unwind(move || same.create(&options));
    assert!(dup.is_err(), "the authenticator refuses a credential the server excluded");

    // 4. The security key as the second factor after the password.
    let b3 = Browser::new();
    let (_, _, login) = b3.get(&s, &auth_url(&s.issuer, &web, "")).await.page();
    let (_, _, factor) = b3.sign_in(&s, &login, "ines", PASSWORD).await.page();
    assert!(
        factor.contains("value=\"second\"") && factor.contains("name=\"code\""),
        "key and recovery code: {factor}"
    );
    let (options, action) = webauthn_begin(&b3, &s, &factor, &[("purpose", "second")]).await;
    let o: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(o["publicKey"]["allowCredentials"].as_array().map(Vec::len), Some(2), "both keys: {o}");
    let rcr: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    let assertion = yubi.do_authentication(origin.clone(), rcr).expect("soft security key signs");
    let response = serde_json::to_string(&assertion).unwrap();
    let mut step =
        webauthn_finish(&b3, &s, &factor, &action, &[("purpose", "second"), ("response", &response)]).await;
    if let Step::Page { ref body, .. } = step
        && body.contains("value=\"allow\"")
    {
        step = b3.consent(&s, &body.clone(), true).await;
    }
    let c = id_token(&s, &web, &secret, &step.callback()["code"]).await;
    assert_eq!(
        (c["acr"].as_str(), c["amr"].clone()),
        (Some("aal2"), serde_json::json!(["pwd", "hwk", "mfa"])),
        "{c}"
    );

    // 5. A security key is never a sign-in on its own.
    let (_, _, page) = b2.get(&s, &home).await.page();
    let mut lone = SoftKey::new(&s.base);
    lone.backup_eligible = false;
    let (options, _) = webauthn_begin(&b2, &s, &page, &[("kind", "security_key"), ("name", "lone")]).await;
    let response = lone.create(&options);
    let (_, _, page) =
        webauthn_finish(&b2, &s, &page, &action_of_keys(), &[("name", "lone"), ("response", &response)])
            .await
            .page();
    assert!(page.contains("data-count=\"3\""), "{page}");
    let b4 = Browser::new();
    let (_, _, login) = b4.get(&s, &home).await.page();
    let (_, _, refused) = sign_in_with(&b4, &s, &login, &mut lone).await.page();
    assert!(refused.contains("只能在输入密码后") && refused.contains("name=\"password\""), "{refused}");

    // 6. A cloned passkey: the copy signs first, the original's counter has not grown.
    let mut copy = phone.clone();
    let b5 = Browser::new();
    let (_, _, login) = b5.get(&s, &home).await.page();
    let (url, _, _) = sign_in_with(&b5, &s, &login, &mut copy).await.page();
    assert!(url.ends_with("/account/security"), "the copy is not yet known to be one: {url}");
    let b6 = Browser::new();
    let (_, _, login) = b6.get(&s, &home).await.page();
    let (_, _, refused) = sign_in_with(&b6, &s, &login, &mut phone).await.page();
    assert!(refused.contains("可能已被复制"), "{refused}");
    let events = s.ops.store.audit_events(&tenant, 50).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "passkey_counter_regression"), "audited: {events:?}");
    // flagged: refused from then on, whoever holds it
    let (_, _, login) = b6.get(&s, &home).await.page();
    let (_, _, refused) = sign_in_with(&b6, &s, &login, &mut copy).await.page();
    assert!(refused.contains("可能已被复制"), "{refused}");
    let (_, _, page) = b2.get(&s, &home).await.page();
    assert!(page.contains("data-flagged=\"true\"") && page.contains("上次使用"), "{page}");

    // 7. An aal2 session removes the flagged passkey; the others stay.
    let flagged = {
        let i = page.find("data-flagged=\"true\"").unwrap();
        let j = page[..i].rfind("data-key=\"").unwrap() + 10;
        page[j..j + page[j..].find('"').unwrap()].to_string()
    };
    let csrf = extract(&page, "csrf").unwrap();
    let (url, _, page) =
        b2.post_form(&s, &format!("/t/main/account/keys/{flagged}/remove"), &[("csrf", &csrf)]).await.page();
    assert!(
        url.ends_with("/account/security")
            && page.contains("data-count=\"2\"")
            && !page.contains("data-flagged"),
        "{page}"
    );
    let events = s.ops.store.audit_events(&tenant, 50).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "factor_removed"), "audited");
    assert_eq!(events.iter().filter(|e| e.kind == "factor_added").count(), 3, "three keys added");
}
crate::both_backends!(passkeys_register_sign_in_second_factor_and_clones, passkeys);

fn action_of_keys() -> String {
    "/t/main/account/keys/finish".into()
}

/// Where the public URL is an IP address there is no WebAuthn relying party: nothing offered.
#[tokio::test]
async fn no_passkeys_without_a_domain_name() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("ines").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account/security", s.base)).await.page();
    assert!(!login.contains("webauthn"), "{login}");
    let (_, _, page) = b.sign_in(&s, &login, "ines", PASSWORD).await.page();
    assert!(!page.contains("data-webauthn"), "{page}");
}
