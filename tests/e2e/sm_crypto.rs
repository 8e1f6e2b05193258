//! A tenant on the `sm` cryptography profile (docs/cryptography.md), end to end and checked by
//! implementations nobody here wrote: its ID tokens verified by npm `sm-crypto` and PyPI
//! `gmssl` (the relying-party examples of `client-examples/sm2-node` and `sm2-python`, at_hash
//! from SM3 included); its JWT access tokens and logout tokens SM2-signed; a client
//! authenticating with `private_key_jwt` signed by `sm-crypto`; and the move from the
//! international profile leaving tokens in flight valid, while the tenant's sealed data is
//! re-sealed with SM4-GCM and its audit chain goes on with HMAC-SM3 (recomputed by sm-crypto).

use std::process::Command;

use idp_core::Env;

use idp_core::crypto::{Kek, MacAlg, SealAlg};
use idp_core::model::{AccessTokenFormat, ClientSettings, ClientType, CryptoProfile};
use idp_core::ports::SealedColumn;
use serde_json::{Value, json};

use crate::browser::{Browser, rp_http};
use crate::cas_interop::root;
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{claims, redeem, userinfo};

const OPERATOR: &str = "operator";

/// Runs a client example; its JSON answer and whether it exited 0.
pub(crate) fn example(program: &str, args: &[&str]) -> (bool, Value) {
    let dir = root().join("client-examples");
    let mut cmd = if program.ends_with(".py") { Command::new("python3") } else { Command::new("node") };
    let out = cmd
        .arg(dir.join(program))
        .args(args)
        .current_dir(dir.join(program.split('/').next().unwrap_or_default()))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test.sh installs node, sm-crypto and gmssl)"));
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(text.trim())
        .unwrap_or_else(|_| panic!("{program}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), value)
}

/// A web client's tokens for `lin` (client_secret_basic).
async fn sign_in(s: &TestServer, b: &Browser, client: &str, secret: &str) -> Value {
    let cb = b.authorize(s, &auth_url(&s.issuer, client, "&nonce=n1"), "lin").await.callback();
    redeem(s, client, secret, &cb["code"]).await
}

fn header(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(&idp_core::crypto::b64_decode(h).unwrap()).unwrap()
}

/// The tests' server with its `main` tenant free to move to `sm` (the built-in console, which
/// signs in through it with ES256 ID tokens, off: `Ops::check_profile_allowed`).
pub(crate) async fn without_console(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| c.console.enabled = false).await
}

async fn sm_tenant(backend: Backend) {
    let Some(s) = without_console(backend).await else { return };
    s.add_account("lin").await;
    let web = ClientSettings { access_token_format: AccessTokenFormat::Jwt, ..ClientSettings::default() };
    let (client, secret) = s.add_client(ClientType::Web, web).await;
    let secret = secret.unwrap();
    let b = Browser::new();

    // on the international profile first: an ES256 ID token, in flight across the move; an
    // authenticator, recovery codes and an ID number sealed and hashed the international way
    let before = sign_in(&s, &b, &client, &secret).await;
    assert_eq!(header(before["id_token"].as_str().unwrap())["alg"], "ES256");
    let tenant = s.ops.tenant("main").await.unwrap();
    let lin = s.ops.account("main", "lin").await.unwrap();
    let seed = s.ops.enrol_totp("main", "lin").await.unwrap();
    let code = seed.code_at_step(s.env.now() / 30);
    let old_codes = s.ops.confirm_totp("main", "lin", &code).await.unwrap();
    let id_number = "220102199003070013";
    let record = idp_core::model::RealName {
        account_id: lin.id.clone(),
        tenant_id: tenant.id.clone(),
        level: 2,
        name: "林晓".into(),
        id_type: "resident_id".into(),
        id_sealed: idp_core::realname::seal_id(&s.ops.kek, &s.env, SealAlg::Aes256Gcm, &tenant.id, id_number),
        id_hash: idp_core::realname::id_hash(&s.ops.kek, &tenant.id, id_number),
        id_masked: "2201**********0013".into(),
        method: "provider".into(),
        verifier: "simulator".into(),
        verified_at: 1,
        evidence: None,
    };
    s.ops.store.put_real_name(&record).await.unwrap();
    let sealed_forms = |s: &TestServer| {
        let (store, tenant_id) = (s.ops.store.clone(), tenant.id.clone());
        async move {
            let mut forms = vec![];
            for column in SealedColumn::ALL {
                for (_, v) in store.sealed_values(&tenant_id, column, "", 100).await.unwrap() {
                    forms.push(Kek::sealed_with(&v));
                }
            }
            forms
        }
    };
    assert!(sealed_forms(&s).await.iter().all(|f| *f == SealAlg::Aes256Gcm));

    s.ops.set_tenant_crypto_by("main", Some(CryptoProfile::Sm), None, OPERATOR).await.unwrap();
    // every node reloads within a second
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let http = rp_http();
    let meta: Value = http
        .get(format!("{}/.well-known/openid-configuration", s.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["SGD_SM3_SM2"]));
    assert_eq!(meta["token_endpoint_auth_signing_alg_values_supported"], json!(["SGD_SM3_SM2"]));
    let jwks: Value = http.get(format!("{}/jwks", s.issuer)).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let sm2 = keys.iter().find(|k| k["crv"] == "sm2p256v1").expect("an SM2 key published");
    assert_eq!((&sm2["kty"], &sm2["alg"], &sm2["use"]), (&json!("EC"), &json!("SGD_SM3_SM2"), &json!("sig")));
    assert!(sm2.get("d").is_none(), "no private part: {sm2}");
    assert!(
        keys.iter().any(|k| k["kid"] == header(before["id_token"].as_str().unwrap())["kid"]),
        "the international keys stay published while their tokens live"
    );

    // tokens issued before the move still work
    let (status, _) = userinfo(&s, before["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "an access token in flight");

    // after: SM2 for the client registered with ES256, verified by sm-crypto and gmssl
    let after = sign_in(&s, &b, &client, &secret).await;
    let (id_token, access) = (after["id_token"].as_str().unwrap(), after["access_token"].as_str().unwrap());
    assert_eq!(header(id_token)["alg"], "SGD_SM3_SM2");
    assert_eq!(header(access)["alg"], "SGD_SM3_SM2", "JWT access tokens too");
    assert_eq!(header(access)["typ"], "at+jwt");
    for program in ["sm2-node/verify_id_token.mjs", "sm2-python/verify_id_token.py"] {
        let (ok, out) = example(program, &[&s.issuer, &client, id_token, access]);
        assert!(ok, "{program}: {out}");
        assert_eq!(out["claims"]["nonce"], "n1");
        // a token changed after signing, and the wrong at_hash, are refused
        let mut forged = id_token.to_string();
        let cut = forged.rfind('.').unwrap() - 2;
        forged.replace_range(cut..cut + 1, if &forged[cut..cut + 1] == "A" { "B" } else { "A" });
        let (ok, out) = example(program, &[&s.issuer, &client, &forged]);
        assert!(!ok && out["why"] == "signature", "{program}: {out}");
        let (ok, out) = example(program, &[&s.issuer, &client, id_token, "another-token"]);
        assert!(!ok && out["why"] == "at_hash", "{program}: {out}");
    }
    // the access token works at UserInfo, and sm-crypto verifies its signature too
    let (status, info) = userinfo(&s, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(claims(access)["iss"], s.issuer);

    // at rest: the new SM2 key is SM4-sealed at once; the rest is re-sealed while serving, and
    // everything still opens
    let keys = s.ops.store.signing_keys(&tenant.id).await.unwrap();
    let sm2_key = keys.iter().find(|k| k.alg == idp_core::model::SigningAlg::SM2).unwrap();
    assert_eq!(Kek::sealed_with(&sm2_key.sealed_private_key), SealAlg::Sm4Gcm);
    let tenant = s.ops.tenant("main").await.unwrap();
    // (every node's minute job may have re-sealed some already: it runs from the start)
    let step = s.ops.reseal(&tenant, Some(2)).await.unwrap();
    assert!(step.resealed <= 2 && (step.complete || step.resealed == 2), "a bounded step: {step:?}");
    let done = s.ops.reseal(&tenant, None).await.unwrap();
    assert!(done.complete && done.unreadable.is_empty(), "{done:?}");
    assert_eq!(done.already + done.resealed, 7, "4 international keys, the SM2 key, a seed, an ID: {done:?}");
    assert!(sealed_forms(&s).await.iter().all(|f| *f == SealAlg::Sm4Gcm));
    assert_eq!(s.ops.reseal_on_schedule(100).await.unwrap(), 0, "nothing left to do");
    let cred = s.ops.store.totp(&lin.id).await.unwrap().unwrap();
    assert_eq!(s.ops.totp_secret(&cred).unwrap().as_bytes(), seed.as_bytes(), "the seed opens");
    let bound = s.ops.store.real_name(&lin.id).await.unwrap().unwrap();
    assert_eq!(
        idp_core::realname::open_id(&s.ops.kek, &tenant.id, &bound.id_sealed).as_deref(),
        Some(id_number)
    );
    // keys re-sealed still sign and verify what they signed
    let (status, _) = userinfo(&s, before["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);

    // recovery codes made now are HMAC-SM3 digests; those made before still work, once each
    let key = |mac| idp_core::totp::RecoveryKey {
        kek: &s.ops.kek,
        tenant_id: &tenant.id,
        account_id: &lin.id,
        mac,
    };
    // an old one, looked up as the sign-in does (the tenant's form first, then the others)
    let mut used = vec![];
    for form in idp_core::totp::recovery_hashes(&key(MacAlg::HmacSm3), &old_codes[0]) {
        used.push(s.ops.store.use_recovery_code(&lin.id, &form, s.env.now()).await.unwrap());
        if used.last() == Some(&true) {
            break;
        }
    }
    assert_eq!(used, [false, true], "found in the HMAC-SHA-256 form it was stored in");
    let again = idp_core::totp::recovery_hash(&key(MacAlg::HmacSha256), &old_codes[0]);
    assert!(!s.ops.store.use_recovery_code(&lin.id, &again, s.env.now()).await.unwrap(), "once");
    let suite = idp_core::suite::Suite::of(&tenant.settings.crypto);
    let new_codes = s.ops.new_recovery_codes(&tenant.id, &lin.id, &suite).await.unwrap();
    let stored = idp_core::totp::recovery_hash(&key(MacAlg::HmacSm3), &new_codes[0]);
    assert!(stored.starts_with("sm3:"), "{stored}");
    assert!(s.ops.store.use_recovery_code(&lin.id, &stored, s.env.now()).await.unwrap());
    assert!(!s.ops.store.use_recovery_code(&lin.id, &stored, s.env.now()).await.unwrap(), "once");

    // the audit chain: HMAC-SM3 links from the move on, intact, and recomputed by sm-crypto
    let report = s.ops.verify_audit().await.unwrap();
    assert!(report.intact(), "{report:?}");
    let filter = idp_core::audit::Filter { limit: 3, ..Default::default() };
    let last = s.ops.store.audit_search(&tenant.id, &filter).await.unwrap().remove(0);
    let mac = last.hash.strip_prefix("sm3:").unwrap_or_else(|| panic!("an SM3 link: {last:?}"));
    let input = idp_core::audit::link_input(&last.prev_hash, &last.fields());
    let chain_key = idp_core::crypto::b64_decode(&idp_core::audit::chain_key(&s.ops.kek).encode()).unwrap();
    let hex = idp_core::crypto::hex;
    let script = "const {sm3} = require('sm-crypto'); \
        console.log(sm3(Buffer.from(process.argv[1], 'hex'), {key: process.argv[2], mode: 'hmac'}))";
    let out = Command::new("node")
        .args(["-e", script, &hex(&input), &hex(&chain_key)])
        .current_dir(root().join("client-examples/sm2-node"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), mac, "{}", String::from_utf8_lossy(&out.stderr));

    // an ID token of before still serves as id_token_hint after the move
    let hint = before["id_token"].as_str().unwrap();
    let res = b.http.get(format!("{}/end_session?id_token_hint={hint}", s.issuer)).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
}
crate::both_backends!(sm_profile, sm_tenant);

/// `private_key_jwt` with an SM2 key made and used by sm-crypto; ES256 assertions are refused
/// on an `sm` tenant; a key of another algorithm cannot be rotated in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_sm2_client_assertion_from_sm_crypto_authenticates() {
    let s = without_console(Backend::Sqlite).await.unwrap();
    s.ops.set_tenant_crypto_by("main", Some(CryptoProfile::Sm), None, OPERATOR).await.unwrap();
    let (_, key) = example("sm2-node/client_assertion.mjs", &["keygen"]);
    let settings = ClientSettings {
        auth_methods: vec![idp_core::model::AuthMethod::PrivateKeyJwt],
        jwks: Some(json!({"keys": [key["jwk"]]})),
        ..ClientSettings::default()
    };
    let (client, _) = s.add_client(ClientType::Service, settings).await;
    let token_endpoint = format!("{}/token", s.issuer);
    let assertion = |aud: &str| {
        let out = Command::new("node")
            .arg(root().join("client-examples/sm2-node/client_assertion.mjs"))
            .args([
                "sign",
                &client,
                aud,
                key["private"].as_str().unwrap(),
                key["jwk"]["kid"].as_str().unwrap(),
            ])
            .current_dir(root().join("client-examples/sm2-node"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let ask = |jwt: String| {
        let token_endpoint = token_endpoint.clone();
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", idp_core::client_auth::ASSERTION_TYPE),
                ("client_assertion", jwt.as_str()),
            ];
            let res = rp_http().post(&token_endpoint).form(&form).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let good = assertion(&token_endpoint);
    let (status, body) = ask(good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(body["access_token"].as_str().unwrap_or("e30.e30.x"))["alg"], "SGD_SM3_SM2");
    // replayed, for another audience, or with a changed payload: refused
    assert_eq!(ask(good.clone()).await.0, 401, "replay");
    assert_eq!(ask(assertion("https://elsewhere.example/token")).await.0, 401, "audience");
    let fresh = assertion(&token_endpoint);
    let mut parts: Vec<String> = fresh.split('.').map(String::from).collect();
    let mut payload = claims(&fresh);
    payload["exp"] = json!(payload["exp"].as_i64().unwrap() + 3000);
    parts[1] = idp_core::crypto::b64(payload.to_string().as_bytes());
    assert_eq!(ask(parts.join(".")).await.0, 401, "a changed payload");

    // another user ID: the same signature does not verify (Z_A binds it)
    s.ops.set_tenant_crypto_by("main", None, Some(Some("another-id".into())), OPERATOR).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        ask(assertion(&token_endpoint)).await.0,
        401,
        "the tenant's user ID differs from the signer's"
    );

    // international keys cannot be rotated into an `sm` tenant, nor clients registered for them
    let err = s.ops.rotate_key("main", idp_core::model::SigningAlg::ES256).await.unwrap_err();
    assert!(err.to_string().contains("profile"), "{err}");
    let req = idp_proto::ClientRequest {
        client_type: Some("web".into()),
        name: Some("x".into()),
        redirect_uris: Some(vec!["https://app.example/cb".into()]),
        id_token_signed_response_alg: Some("RS256".into()),
        ..Default::default()
    };
    let err = s.ops.register_client_by("main", &req, None, OPERATOR).await.unwrap_err();
    assert!(err.to_string().contains("signs with SGD_SM3_SM2"), "{err}");
    let req = idp_proto::ClientRequest { id_token_signed_response_alg: None, ..req };
    let (c, _) = s.ops.register_client_by("main", &req, None, OPERATOR).await.unwrap();
    assert_eq!(c.settings.id_token_alg, idp_core::model::SigningAlg::SM2, "an `sm` tenant's default");
}

/// The GM/T 0021 (SM3) dynamic password of a seed at `time`, from the simulated hardware token
/// of tests/interop/gmt0021_token.py (PyPI gmssl's SM3, written apart from the provider).
fn token_code(seed_hex: &str, period: i64, time: i64) -> String {
    let out = Command::new("python3")
        .arg(root().join("tests/interop/gmt0021_token.py"))
        .args([seed_hex, &period.to_string(), &time.to_string()])
        .output()
        .expect("python3 with gmssl (scripts/test.sh installs it)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A domestic hardware token (GM/T 0021, SM3, 60-second steps) assigned by the operator is the
/// person's second factor: its code completes a sign-in that needs aal2, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gmt_0021_hardware_token_is_a_second_factor() {
    use crate::browser::Step;
    use crate::step_up::submit_code;
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    s.add_account("tok").await;
    let seed = "00112233445566778899aabbccddeeff0011223344556677";
    let bytes = idp_core::crypto::unhex(seed).unwrap();
    // refused: a seed under 128 bits, a step over 60 seconds
    assert!(s.ops.assign_otp_token_by("main", "tok", &bytes[..15], 60, OPERATOR).await.is_err());
    assert!(s.ops.assign_otp_token_by("main", "tok", &bytes, 61, OPERATOR).await.is_err());
    s.ops.assign_otp_token_by("main", "tok", &bytes, 60, OPERATOR).await.unwrap();
    let strict = ClientSettings { min_acr: Some("aal2".into()), ..ClientSettings::default() };
    let (client, secret) = s.add_client(ClientType::Web, strict).await;

    let b = Browser::new();
    let (_, _, page) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = b.sign_in(&s, &page, "tok", crate::common::PASSWORD).await.page();
    assert!(page.contains("name=\"code\""), "the code page: {page}");
    // an RFC 6238 code of the same seed is not this token's
    let app = idp_core::totp::Secret::from_bytes(bytes.clone()).code_at_step(s.env.now() / 30);
    let (_, _, page) = submit_code(&b, &s, &page, &app).await.page();
    assert!(page.contains("name=\"code\""), "refused: {page}");
    let code = token_code(seed, 60, s.env.now());
    let done = match submit_code(&b, &s, &page, &code).await {
        Step::Page { body, .. } => b.consent(&s, &body, true).await.callback(),
        left => left.callback(),
    };
    let tokens = redeem(&s, &client, secret.as_deref().unwrap(), &done["code"]).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], "aal2", "{tokens}");

    // the same code again, in another sign-in: refused (each step once)
    let b = Browser::new();
    let (_, _, page) = b.get(&s, &auth_url(&s.issuer, &client, "")).await.page();
    let (_, _, page) = b.sign_in(&s, &page, "tok", crate::common::PASSWORD).await.page();
    let (_, _, page) = submit_code(&b, &s, &page, &code).await.page();
    assert!(page.contains("name=\"code\""), "a replayed code is refused: {page}");
    let events = s.ops.store.audit_events(&s.tenant_id().await, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "factor_added" && e.detail["factor"] == "otp_token"));
}

/// With `[passwords] scheme = "pbkdf2-sm3"`, an Argon2id password hash becomes a
/// PBKDF2-HMAC-SM3 one at the person's next sign-in; tests/interop/pbkdf2_sm3.py (written apart,
/// on gmssl's SM3) derives the same key from the stored salt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passwords_move_to_pbkdf2_sm3_at_the_next_sign_in() {
    use base64::Engine;
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.passwords.scheme = idp_core::password::PasswordScheme::Pbkdf2Sm3;
        c.passwords.pbkdf2_sm3_iterations = 1000;
    })
    .await
    .unwrap();
    s.add_account("pw").await;
    let account = s.ops.account("main", "pw").await.unwrap();
    assert!(account.password_hash.as_deref().unwrap().starts_with("$pbkdf2-sm3$i=1000$"), "new hashes");
    let argon = crate::common::TEST_ARGON2.hash(crate::common::PASSWORD).unwrap();
    s.ops.store.set_password_hash(&account.tenant_id, &account.id, &argon, s.env.now()).await.unwrap();
    let (client, _) = s.add_client(ClientType::Web, ClientSettings::default()).await;
    let b = Browser::new();
    let cb = b.authorize(&s, &auth_url(&s.issuer, &client, ""), "pw").await.callback();
    assert!(cb.contains_key("code"), "the Argon2id hash still verifies: {cb:?}");
    let stored = s.ops.account("main", "pw").await.unwrap().password_hash.unwrap();
    let parts: Vec<&str> = stored.split('$').collect();
    assert_eq!(&parts[..3], ["", "pbkdf2-sm3", "i=1000"], "re-hashed: {stored}");
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let (salt, hash) = (b64.decode(parts[3]).unwrap(), b64.decode(parts[4]).unwrap());
    let hex = idp_core::crypto::hex;
    let out = Command::new("python3")
        .arg(root().join("tests/interop/pbkdf2_sm3.py"))
        .args([crate::common::PASSWORD, &hex(&salt), "1000", &hash.len().to_string()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), hex(&hash), "gmssl derives the same key");
    // and the new hash signs in
    let cb = Browser::new().authorize(&s, &auth_url(&s.issuer, &client, ""), "pw").await.callback();
    assert!(cb.contains_key("code"), "{cb:?}");
}

/// The profile through the admin API: the tenant's security administrators only; a bad
/// profile or user ID is refused with nothing written; a user ID left out is kept, and an ID
/// change brings a new SM2 key (the old one keeps verifying what it signed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_profile_through_the_admin_api() {
    use crate::admin_tenants::{admins, call};
    let s = TestServer::start_with(Backend::Sqlite, |c| c.limits.signin_per_account_per_minute = 100)
        .await
        .unwrap();
    let (_, sec) = admins(&s).await;
    // with the built-in console signing in through it, the administrators' tenant stays
    // within what the console verifies: `sm` refused before anything is written
    let (status, body) = call(
        &s,
        "PUT",
        "tenants/main/settings",
        &sec,
        Some(json!({"factors": ["totp"], "crypto": {"profile": "sm"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("dual"), "{body}");
    assert!(s.ops.tenant("main").await.unwrap().settings.factors.passkeys, "nothing written");
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.limits.signin_per_account_per_minute = 100;
        c.console.enabled = false;
    })
    .await
    .unwrap();
    let (sys, sec) = admins(&s).await;
    let put = |token: &str, body: Value| {
        let token = token.to_string();
        let s = &s;
        async move { call(s, "PUT", "tenants/main/settings", &token, Some(body)).await }
    };
    let (status, _) = put(&sys, json!({"crypto": {"profile": "sm"}})).await;
    assert_eq!(status, 403, "a system administrator does not choose keys");
    let factors_before = s.ops.tenant("main").await.unwrap().settings.factors;
    let (status, _) = put(&sec, json!({"factors": ["totp"], "crypto": {"profile": "gm"}})).await;
    assert_eq!(status, 400);
    let (status, _) =
        put(&sec, json!({"factors": ["totp"], "crypto": {"profile": "sm", "sm2_user_id": "has space"}}))
            .await;
    assert_eq!(status, 400);
    let t = s.ops.tenant("main").await.unwrap();
    assert_eq!(
        (t.settings.crypto.profile, t.settings.factors),
        (CryptoProfile::International, factors_before),
        "nothing written"
    );

    let (status, body) = put(&sec, json!({"crypto": {"profile": "sm", "sm2_user_id": "dept-01"}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["crypto"], json!({"profile": "sm", "sm2_user_id": "dept-01", "algs": ["SGD_SM3_SM2"]}));
    let sm2_keys = || async {
        let keys = s.ops.keys("main").await.unwrap();
        keys.into_iter()
            .filter(|k| k.alg == "SGD_SM3_SM2" && k.state == "signs")
            .map(|k| k.kid)
            .collect::<Vec<_>>()
    };
    let first = sm2_keys().await;
    assert_eq!(first.len(), 1);
    let (_, body) = put(&sec, json!({"crypto": {"profile": "sm"}})).await;
    assert_eq!(body["crypto"]["sm2_user_id"], "dept-01", "left out: kept");
    assert_eq!(sm2_keys().await, first, "no new key without a change");
    let (_, body) = put(&sec, json!({"crypto": {"profile": "sm", "default_sm2_user_id": true}})).await;
    assert_eq!(body["crypto"]["sm2_user_id"], "1234567812345678");
    let second = sm2_keys().await;
    assert!(second.len() == 1 && second != first, "a new SM2 key for the new user ID");
    let events = s.ops.store.audit_events(&s.tenant_id().await, 200).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "tenant_crypto_set").count(), 3);
}
