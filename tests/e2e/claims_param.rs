//! The `claims` request parameter (OIDC Core §5.5) with verified claims (OpenID Connect for
//! Identity Assurance 1.0), through the real pages with the simulator as verification
//! provider: individual claims in the ID token only from granted scopes; `verified_claims` in
//! the ID token and from UserInfo with the verification elements asked for; constraints that
//! the identity does not meet leave them out; a refreshed ID token carries them again; the
//! release by ID token is recorded; malformed requests are `invalid_request`; discovery says so.

use idp_core::model::{ClientSettings, ClientType};
use serde_json::{Value, json};

use crate::browser::{Browser, extract};
use crate::common::{Backend, PASSWORD, TestServer, auth_url};
use crate::rp::{id_token, redeem, refresh, userinfo_of};

const NUMBER: &str = "220102199003070013";

fn with_claims(s: &TestServer, client: &str, scope: &str, claims: &Value) -> String {
    let extra = serde_urlencoded::to_string([("claims", claims.to_string())]).unwrap();
    auth_url(&s.issuer, client, &format!("&{extra}")).replace("scope=openid", &format!("scope={scope}"))
}

async fn claims_parameter(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.realname.provider = "simulator".into()).await else {
        return;
    };
    s.add_account("ada").await;
    let settings = ClientSettings {
        scope: "openid profile realname".into(),
        always_issue_refresh_token: true,
        ..ClientSettings::default()
    };
    let (client, secret) = s.add_client(ClientType::Web, settings).await;
    let secret = secret.unwrap();

    // ada binds her real name (level 2 by the provider)
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &format!("{}/t/main/account", s.base)).await.page();
    let (_, _, page) = b.sign_in(&s, &login, "ada", PASSWORD).await.page();
    let csrf = extract(&page, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("name", "艾达"), ("id_type", "resident_id"), ("id_number", NUMBER)];
    let page = b.post_form(&s, "/t/main/account/realname", &form).await.page().2;
    assert!(page.contains("data-level=\"2\""), "{page}");

    let asked = json!({
        "id_token": {
            "name": null, "realname_level": {"essential": true}, "email": null,
            "verified_claims": {
                "verification": {"trust_framework": null, "assurance_level": null, "time": null, "evidence": null},
                "claims": {"name": null, "id_number": null}
            }
        },
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": {"value": "cn_realname"}},
                "claims": {"name": null, "id_number_masked": null, "given_name": null}
            }
        }
    });
    let cb = b
        .authorize(&s, &with_claims(&s, &client, "openid%20profile%20realname", &asked), "")
        .await
        .callback();
    assert!(cb["code"].starts_with("ic."), "the code says its ID token carries claims");
    let t = redeem(&s, &client, &secret, &cb["code"]).await;
    let id = id_token(&t);
    // individual claims only from granted scopes (no email scope: no email, essential or not)
    assert_eq!((id["name"].as_str(), id["realname_level"].as_i64()), (Some("ada 张"), Some(2)), "{id}");
    assert!(id.get("email").is_none() && id.get("id_number").is_none(), "{id}");
    let v = &id["verified_claims"];
    assert_eq!(v["claims"], json!({"name": "艾达"}), "id_number needs its own scope: {v}");
    let verification = &v["verification"];
    assert_eq!(verification["trust_framework"], "cn_realname");
    assert_eq!(verification["assurance_level"], "2");
    let time = verification["time"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    let evidence = &verification["evidence"][0];
    assert_eq!(
        (evidence["type"].as_str(), evidence["check_details"][0]["check_method"].as_str()),
        (Some("electronic_record"), Some("data")),
        "{evidence}"
    );
    assert_eq!(evidence["record"]["type"], "population_register");
    let serialized = id.to_string();
    assert!(!serialized.contains(NUMBER), "the full number never travels without its scope");

    // UserInfo: what was asked of it, the verification reduced to what was asked
    let info = userinfo_of(&s, &t).await;
    let v = &info["verified_claims"];
    assert_eq!(v["claims"], json!({"name": "艾达", "id_number_masked": "2201**********0013"}), "{info}");
    assert_eq!(v["verification"], json!({"trust_framework": "cn_realname"}), "{info}");

    // a refreshed ID token carries them again
    let r = refresh(&s, &client, &secret, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(id_token(&r)["verified_claims"]["claims"]["name"], "艾达", "{r}");

    // both releases recorded, by way of each
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let events = s.ops.store.audit_events(&tenant, 100).await.unwrap();
    let via = |w: &str| events.iter().any(|e| e.kind == "claims_released" && e.detail["via"] == w);
    assert!(via("id_token") && via("userinfo"));

    // constraints the identity does not meet leave verified_claims out
    for unmet in [
        json!({"trust_framework": {"value": "de_aml"}}),
        json!({"trust_framework": null, "assurance_level": {"values": ["3", "4"]}}),
        json!({"trust_framework": null, "time": {"max_age": 60}}),
    ] {
        s.env.advance(120);
        let asked =
            json!({"userinfo": {"verified_claims": {"verification": unmet, "claims": {"name": null}}}});
        let url = with_claims(&s, &client, "openid%20profile%20realname", &asked);
        let cb = b.authorize(&s, &url, "").await.callback();
        assert!(!cb["code"].starts_with("ic."), "nothing for the ID token");
        let info = userinfo_of(&s, &redeem(&s, &client, &secret, &cb["code"]).await).await;
        assert!(info.get("verified_claims").is_none() && info["verified_name"] == "艾达", "{unmet}: {info}");
    }
    // without the realname scope: none
    let asked = json!({"userinfo": {"verified_claims": {"verification": {"trust_framework": null}, "claims": {"name": null}}}});
    let cb = b.authorize(&s, &with_claims(&s, &client, "openid%20profile", &asked), "").await.callback();
    let info = userinfo_of(&s, &redeem(&s, &client, &secret, &cb["code"]).await).await;
    assert!(info.get("verified_claims").is_none(), "{info}");

    // malformed: invalid_request to the client
    for bad in [
        "{\"userinfo\":{\"verified_claims\":{\"verification\":{\"trust_framework\":null}}}}",
        "{\"id_token\":{\"name\":true}}",
        "[1]",
        "not json",
    ] {
        let url = auth_url(
            &s.issuer,
            &client,
            &format!("&{}", serde_urlencoded::to_string([("claims", bad)]).unwrap()),
        );
        let cb = b.get(&s, &url).await.callback();
        assert_eq!(cb["error"], "invalid_request", "{bad}");
    }

    // discovery says what is supported
    let meta: Value = reqwest::get(format!("{}/.well-known/openid-configuration", s.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["claims_parameter_supported"], true);
    assert_eq!(meta["verified_claims_supported"], true);
    assert_eq!(meta["trust_frameworks_supported"], json!(["cn_realname"]));
    assert!(meta["claims_in_verified_claims_supported"].as_array().unwrap().contains(&json!("name")));
}
crate::both_backends!(claims_parameter_and_verified_claims, claims_parameter);
