//! The console's safety, each point as a first review of it found it broken: reloading after
//! an action (POST-only addresses left in the address bar answered 405); a token expired or
//! revoked during an htmx request (saves silently did nothing); settings saying "saved" over
//! the old values; a shown-once secret coming back with Back; self-lockouts (locking one's own
//! account, disabling the console's own client, revoking the key signing the administrators'
//! tokens, switching off every second factor of the administrators' tenant, an idle timeout not
//! shorter than the absolute one); duplicate memberships; a lifetime of "abc"; a 2 MB logo
//! reported as an unreachable provider.

use idp_core::Env;
use reqwest::header::LOCATION;

use crate::browser::Browser;
use crate::common::{Backend, TestServer};
use crate::console::{add_admin, follow, post, sign_in, start_console};

async fn get(b: &Browser, url: String) -> String {
    follow(b, b.http.get(url).send().await.unwrap()).await.1
}

/// The flash error or message of a page.
pub(crate) fn said(page: &str, role: &str) -> String {
    let marker = format!("role=\"{role}\">");
    page.find(&marker)
        .map(|i| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].to_string()
        })
        .unwrap_or_default()
}

async fn safety(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let sec_totp = add_admin(&s, "sec", "security_admin").await;
    let base = start_console(&s).await;
    let ops = Browser::new();
    let (_, page) = sign_in(&s, &ops, &base, "/clients", "ops", &ops_totp).await;

    // a secret is shown once, in a panel naming the client; the page is not kept anywhere
    let form = [("name", "民政业务系统"), ("type", "web"), ("redirect_uri", "https://mz.example.gov.cn/cb")];
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let sent = [&form[..], &[("csrf", csrf.as_str())]].concat();
    let res = ops.http.post(format!("{base}/clients")).form(&sent).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "Post/Redirect/Get");
    let to = res.headers()[LOCATION].to_str().unwrap().to_string();
    let shown = ops.http.get(format!("{}{to}", s.base)).send().await.unwrap();
    assert_eq!(shown.headers()["cache-control"], "no-store");
    let shown = shown.text().await.unwrap();
    assert!(shown.contains("id=\"secret-value\"") && shown.contains("民政业务系统"), "{shown}");
    assert!(shown.contains("hx-history=\"false\"") && shown.contains("\"historyCacheSize\":0"), "{shown}");
    let again = get(&ops, format!("{}{to}", s.base)).await;
    assert!(!again.contains("id=\"secret-value\""), "Back or reload: the secret is gone: {again}");
    let id = crate::console::attr(&shown, "id=\"secret\" data-client=\"");

    // reloading any action's address: its page, not 405
    for (action, page) in [
        (format!("/clients/{id}/disable"), format!("/console/clients/{id}")),
        (format!("/clients/{id}/rotate"), format!("/console/clients/{id}")),
        ("/keys/abc/revoke".to_string(), "/console/keys".to_string()),
        ("/memberships/abc/remove".to_string(), "/console/organisations".to_string()),
        ("/tenants/main/disable".to_string(), "/console/tenants".to_string()),
        ("/accounts/abc/lock".to_string(), "/console/accounts/abc".to_string()),
        ("/settings/branding".to_string(), "/console/settings".to_string()),
    ] {
        let res = ops.http.get(format!("{base}{action}")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303, "{action}");
        assert_eq!(res.headers()[LOCATION], page.as_str(), "{action}");
    }

    // the console's own client is not disabled, nor its secret rotated, through itself
    let (_, page) = post(&ops, &base, &again, "/clients/console/disable", &[]).await;
    assert!(said(&page, "alert").contains("管理控制台"), "{page}");
    assert!(!s.ops.client("main", "console").await.unwrap().disabled);
    let (_, page) = post(&ops, &base, &page, "/clients/console/rotate", &[("overlap_days", "0")]).await;
    assert!(page.contains("role=\"alert\""), "{page}");
    // the overlap is 0-30 days, chosen and explained
    let (_, page) =
        post(&ops, &base, &page, &format!("/clients/{id}/rotate"), &[("overlap_days", "31")]).await;
    assert!(said(&page, "alert").contains("0 到 30"), "{page}");
    let (_, page) =
        post(&ops, &base, &page, &format!("/clients/{id}/rotate"), &[("overlap_days", "2")]).await;
    let until = s.ops.client("main", &id).await.unwrap().settings.previous_secret.unwrap().1;
    assert_eq!(until, s.env.now() + 2 * 86_400, "two days of overlap");
    assert!(page.contains("id=\"secret-value\""));

    // a lifetime of "abc" is refused, saying which field, with what was typed kept
    let edit = get(&ops, format!("{base}/clients/{id}")).await;
    let form = [("type", "web"), ("name", "民政业务系统"), ("access_ttl", "abc"), ("refresh_ttl", "60")];
    let (url, page) = post(&ops, &base, &edit, &format!("/clients/{id}"), &form).await;
    assert_eq!(url, format!("{base}/clients/{id}"));
    let error = said(&page, "alert");
    assert!(error.contains("访问令牌有效期") && error.contains("abc"), "{error}");
    assert!(page.contains("data-k=\"access_ttl\" value=\"abc\""), "the form is filled in again: {page}");
    assert_eq!(s.ops.client("main", &id).await.unwrap().settings.access_token_ttl, 600, "unchanged");
    // minutes on the page, seconds in the API
    let form = [
        ("type", "web"),
        ("name", "民政业务系统"),
        ("scope", "openid profile"),
        ("redirect_uris", "https://mz.example.gov.cn/cb"),
        ("access_ttl", "15"),
    ];
    let (_, page) = post(&ops, &base, &page, &format!("/clients/{id}"), &form).await;
    assert!(page.contains("name=\"access_ttl\" value=\"15\""), "re-read after saving: {page}");
    assert_eq!(s.ops.client("main", &id).await.unwrap().settings.access_token_ttl, 900);

    // duplicate memberships are refused
    let new = idp_core::org::NewOrganisation {
        kind: "government".into(),
        name: "试点省人民政府".into(),
        level: Some("province".into()),
        region_code: Some("230000".into()),
        uscc: None,
        representative_name: None,
        representative_id: None,
    };
    let org = s.ops.add_organisation("main", None, new).await.unwrap();
    let org_page = get(&ops, format!("{base}/organisations/{}", org.id)).await;
    let join = [("username", "sec"), ("roles", "approver")];
    let (_, page) = post(&ops, &base, &org_page, &format!("/organisations/{}", org.id), &join).await;
    assert!(page.contains("role=\"status\""), "{page}");
    let (_, page) = post(&ops, &base, &page, &format!("/organisations/{}", org.id), &join).await;
    assert!(said(&page, "alert").contains("已是该机构的成员"), "{page}");
    let sec_id = s.ops.account("main", "sec").await.unwrap().id;
    assert_eq!(s.ops.store.memberships(&sec_id).await.unwrap().len(), 1);

    // a logo over 32 KiB: said so, nothing else
    let settings = get(&ops, format!("{base}/settings")).await;
    let csrf = crate::browser::extract(&settings, "csrf").unwrap();
    let big = vec![b'x'; 2 * 1024 * 1024];
    let part = reqwest::multipart::Part::bytes(big).file_name("logo.png").mime_str("image/png").unwrap();
    let form = reqwest::multipart::Form::new().text("csrf", csrf).text("name_zh", "改名").part("logo", part);
    let res = ops.http.post(format!("{base}/settings/branding")).multipart(form).send().await.unwrap();
    let (_, page) = follow(&ops, res).await;
    assert!(said(&page, "alert").contains("32 KB"), "{page}");
    assert!(s.ops.tenant("main").await.unwrap().settings.branding.name_zh.is_none(), "nothing saved");

    // the security administrator: the rules and their own account
    let sec = Browser::new();
    let (_, settings) = sign_in(&s, &sec, &base, "/settings", "sec", &sec_totp).await;
    // every second factor off on the administrators' tenant: refused
    let (_, page) = post(&sec, &base, &settings, "/settings", &[]).await;
    assert!(said(&page, "alert").contains("第二重验证"), "{page}");
    assert!(s.ops.tenant("main").await.unwrap().settings.factors.totp);
    // idle not shorter than absolute: refused
    let rules = [("factor", "totp"), ("session_idle_seconds", "120"), ("session_absolute_seconds", "60")];
    let (_, page) = post(&sec, &base, &page, "/settings", &rules).await;
    assert!(said(&page, "alert").contains("短于"), "{page}");
    // (the API refuses it too, the deployment's defaults counted)
    let rules = idp_core::model::TenantPolicy { session_idle_seconds: Some(13 * 3600), ..Default::default() };
    assert!(s.ops.set_tenant_rules_by("main", None, Some(rules), "test").await.is_err());
    // saved: the page shows the new values, in minutes
    let rules = [("factor", "totp"), ("factor", "passkeys"), ("session_idle_seconds", "20")];
    let (_, page) = post(&sec, &base, &page, "/settings", &rules).await;
    assert!(
        page.contains("role=\"status\"") && page.contains("name=\"session_idle_seconds\" value=\"20\""),
        "{page}"
    );
    assert_eq!(s.ops.tenant("main").await.unwrap().settings.policy.session_idle_seconds, Some(1200));

    // their own account: not locked, factors not reset
    let own = get(&sec, format!("{base}/accounts/{sec_id}")).await;
    let (_, page) = post(&sec, &base, &own, &format!("/accounts/{sec_id}/lock"), &[]).await;
    assert!(said(&page, "alert").contains("自己的账号"), "{page}");
    let (_, page) = post(&sec, &base, &page, &format!("/accounts/{sec_id}/reset-factors"), &[]).await;
    assert!(page.contains("role=\"alert\""), "{page}");
    let me = s.ops.account("main", "sec").await.unwrap();
    assert!(!me.disabled && s.ops.store.totp(&me.id).await.unwrap().is_some());

    // the key signing the administrators' tokens: only with its kid typed
    let keys = s.ops.keys("main").await.unwrap();
    let signing = keys.iter().find(|k| k.state == "signs").unwrap().kid.clone();
    let keys_page = get(&sec, format!("{base}/keys")).await;
    assert!(keys_page.contains(&format!("data-confirm-name=\"{signing}\"")), "{keys_page}");
    // the profile and its algorithms, the only ones offered for a rotation
    assert!(keys_page.contains("<strong>国际算法</strong> (ES256, RS256, PS256, EdDSA)"), "{keys_page}");
    assert!(!keys_page.contains("<option>SGD_SM3_SM2</option>"), "{keys_page}");
    let (_, page) = post(&sec, &base, &keys_page, &format!("/keys/{signing}/revoke"), &[]).await;
    assert!(said(&page, "alert").contains("管理员的令牌"), "{page}");
    assert!(s.ops.keys("main").await.unwrap().iter().any(|k| k.kid == signing && k.state == "signs"));

    // with its kid typed it is revoked; the token it signed is refused at once, so the next
    // page goes through the sign-in (the provider's session answers at once) and comes back
    let (url, page) =
        post(&sec, &base, &page, &format!("/keys/{signing}/revoke"), &[("confirm_name", &signing)]).await;
    assert!(s.ops.keys("main").await.unwrap().iter().any(|k| k.kid == signing && k.state == "revoked"));
    assert_eq!(url, format!("{base}/keys"), "{page}");

    // a token refused mid-edit (here: another administrator locks this one's account for a
    // moment): htmx is told to sign in again with a full-page redirect, and what was typed
    // comes back after the sign-in
    s.ops.lock_account_by("main", &sec_id, true, "another administrator").await.unwrap();
    let res = sec
        .http
        .get(format!("{base}/keys"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", format!("{base}/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["hx-redirect"],
        "/console/login?next=%2Fconsole%2Fsettings",
        "a full-page sign-in"
    );
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let typed = [("csrf", csrf.as_str()), ("factor", "totp"), ("lockout_threshold", "7")];
    let res = sec
        .http
        .post(format!("{base}/settings"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", format!("{base}/settings"))
        .form(&typed)
        .send()
        .await
        .unwrap();
    let to = res.headers()["hx-redirect"].to_str().unwrap().to_string();
    assert_eq!(to, "/console/login?next=%2Fconsole%2Fsettings");
    assert_eq!(s.ops.tenant("main").await.unwrap().settings.policy.lockout_threshold, None, "not saved");
    s.ops.lock_account_by("main", &sec_id, false, "another administrator").await.unwrap();
    s.env.advance(30);
    let (url, page) = sign_in(&s, &sec, &base, "/settings", "sec", &sec_totp).await;
    assert_eq!(url, format!("{base}/settings"));
    assert!(page.contains("data-k=\"lockout_threshold\" value=\"7\""), "what was typed comes back: {page}");
    assert!(said(&page, "status").contains("重新登录"), "{page}");
    // a page opened without htmx goes the same way
    s.ops.lock_account_by("main", &sec_id, true, "another administrator").await.unwrap();
    let (url, page) = follow(&sec, sec.http.get(format!("{base}/keys")).send().await.unwrap()).await;
    assert!(url.contains("/t/main/") && !page.contains("name=\"code\""), "out of the console: {url}");
}
crate::both_backends!(the_console_refuses_lockouts_and_keeps_state_through_reloads, safety);

/// Another site cannot make the console change anything, nor plant a form for the
/// administrator to save; the built-in console's client stays as it must be whatever client
/// the administrator came through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_site_cannot_post_to_the_console_nor_plant_a_form() {
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let base = start_console(&s).await;
    let ops = Browser::new();
    let (_, page) = sign_in(&s, &ops, &base, "/settings", "ops", &ops_totp).await;
    let csrf = crate::browser::extract(&page, "csrf").unwrap();
    let evil = [("csrf", csrf.as_str()), ("factor", "totp"), ("factor", "registration")];

    // a cross-site post (Fetch Metadata, or an Origin of another site): refused outright
    for (header, value) in [("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")] {
        let res =
            ops.http.post(format!("{base}/settings")).header(header, value).form(&evil).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 403, "{header}");
        assert!(!res.headers().contains_key("set-cookie"), "{header}: the session is left alone");
    }
    assert!(!s.ops.tenant("main").await.unwrap().settings.factors.registration);

    // without the session cookie (SameSite=Lax keeps it from a cross-site form): off to sign
    // in, but nothing kept and no cookie written over the administrator's
    let stranger = Browser::new();
    let res = stranger.http.post(format!("{base}/settings")).form(&evil).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(!res.headers().contains_key("set-cookie"), "no planted form");

    // a wrong CSRF token from the administrator's own browser: refused, the fields not put back
    let forged = [("csrf", "not-the-token"), ("factor", "totp"), ("factor", "registration")];
    let res = ops.http.post(format!("{base}/settings")).form(&forged).send().await.unwrap();
    let (_, page) = follow(&ops, res).await;
    assert!(page.contains("role=\"alert\"") && !page.contains("id=\"kept\""), "{page}");
    assert!(!s.ops.tenant("main").await.unwrap().settings.factors.registration);

    // the console's client: its redirect URIs and its being an administrators' client stay
    let (_, edit) = follow(&ops, ops.http.get(format!("{base}/clients/console")).send().await.unwrap()).await;
    let form = [("type", "web"), ("name", "管理控制台"), ("redirect_uris", "https://evil.example/cb")];
    let (_, page) = post(&ops, &base, &edit, "/clients/console", &form).await;
    assert!(said(&page, "alert").contains("管理控制台"), "{page}");
    let console = s.ops.client("main", "console").await.unwrap();
    assert_eq!(console.settings.redirect_uris, [format!("{}/console/callback", s.base)]);
}

/// The cryptography profile moved from the keys page: by a security administrator only, never
/// to `sm` for the administrators' tenant (the console verifies its ES256 ID tokens), a bad SM2
/// user ID said and nothing written; the console still signs in afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_moves_from_the_keys_page_within_what_the_console_verifies() {
    use idp_core::model::CryptoProfile;
    let s = TestServer::start(Backend::Sqlite).await.unwrap();
    let ops_totp = add_admin(&s, "ops", "system_admin").await;
    let sec_totp = add_admin(&s, "sec", "security_admin").await;
    let base = start_console(&s).await;
    let profile = || async { s.ops.tenant("main").await.unwrap().settings.crypto };

    // a system administrator: the idp refuses
    let ops = Browser::new();
    let (_, page) = sign_in(&s, &ops, &base, "/clients", "ops", &ops_totp).await;
    let (_, page) = post(&ops, &base, &page, "/keys/profile", &[("profile", "dual")]).await;
    assert!(said(&page, "alert").contains("管理权限"), "{page}");
    assert_eq!(profile().await.profile, CryptoProfile::International);

    let sec = Browser::new();
    let (_, keys) = sign_in(&s, &sec, &base, "/keys", "sec", &sec_totp).await;
    assert!(keys.contains("<strong>国际算法</strong>") && keys.contains("<th>启用时间</th>"), "{keys}");
    assert!(keys.contains("<option value=\"sm\">国密算法</option>"), "{keys}");
    // `sm` for the administrators' tenant: refused, with the way that works
    let (_, page) = post(&sec, &base, &keys, "/keys/profile", &[("profile", "sm")]).await;
    assert!(said(&page, "alert").contains("dual"), "{page}");
    assert_eq!(profile().await.profile, CryptoProfile::International);
    // a user ID with a space: said, nothing written
    let bad = [("profile", "dual"), ("sm2_user_id", "has space")];
    let (_, page) = post(&sec, &base, &page, "/keys/profile", &bad).await;
    assert!(said(&page, "alert").contains("sm2_user_id"), "{page}");
    assert_eq!(profile().await.profile, CryptoProfile::International);
    // `dual` with the department's SM2 user ID
    let (url, page) =
        post(&sec, &base, &page, "/keys/profile", &[("profile", "dual"), ("sm2_user_id", "dept-01")]).await;
    assert_eq!(url, format!("{base}/keys"));
    assert!(said(&page, "status").contains("已更改算法配置"), "{page}");
    let c = profile().await;
    assert_eq!((c.profile, c.sm2_user_id.as_deref()), (CryptoProfile::Dual, Some("dept-01")));
    assert!(
        page.contains("<strong>国际与国密双算法</strong>") && page.contains("<code>dept-01</code>"),
        "{page}"
    );
    assert!(page.contains("<option>SGD_SM3_SM2</option>"), "an SM2 key may be rotated in: {page}");

    // the console signs in as before (every node has reloaded within a second)
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    s.env.advance(30);
    let again = Browser::new();
    let (url, page) = sign_in(&s, &again, &base, "/keys", "sec", &sec_totp).await;
    assert_eq!(url, format!("{base}/keys"), "{page}");
}
