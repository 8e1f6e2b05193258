use super::*;
use crate::TestEnv;
use crate::model::ClientSettings;
use crate::model::ClientType;

fn client(kind: ClientType) -> Client {
    Client {
        tenant_id: "t".into(),
        client_id: "c1".into(),
        name: "App".into(),
        client_type: kind,
        secret_hash: None,
        settings: ClientSettings {
            redirect_uris: vec!["https://app.example/cb".into()],
            ..Default::default()
        },
        disabled: false,
        created_at: 0,
    }
}

fn params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("client_id", "c1"),
        ("redirect_uri", "https://app.example/cb"),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k.to_string(), v.to_string()));
        }
    }
    p
}

const ISS: &str = "https://idp.example/t/main";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn code_of(v: Validated) -> &'static str {
    match v {
        Validated::Ok(_) => "ok",
        Validated::ErrorToUser(e) => {
            if e.code == "invalid_client" {
                "user:invalid_client"
            } else {
                "user"
            }
        }
        Validated::ErrorToClient(_, e) => e.code,
    }
}

#[test]
fn redirect_uri_must_match_exactly_and_errors_stay_with_the_user() {
    let c = client(ClientType::Web);
    for bad in [
        "https://app.example/cb/",
        "https://app.example:444/cb",
        "https://evil.app.example/cb",
        "https://app.example/cb/../cb",
        "https://app.example/cb#x",
        "https://user@app.example/cb",
        "https://app.example/%63b",
        "HTTPS://APP.EXAMPLE/cb",
        "https://app.example/cb?x=1",
    ] {
        assert_eq!(code_of(validate(&params(&[("redirect_uri", bad)]), Some(&c), ISS)), "user", "{bad}");
    }
    assert_eq!(code_of(validate(&params(&[]), None, ISS)), "user:invalid_client");
    assert_eq!(code_of(validate(&params(&[("redirect_uri", "")]), Some(&c), ISS)), "user");
}

#[test]
fn checks_after_the_redirect_uri_go_back_to_the_client() {
    let c = client(ClientType::Web);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("response_type", "")], "invalid_request"),
        (&[("scope", "profile")], "invalid_scope"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (&[("code_challenge", CHALLENGE), ("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge", CHALLENGE)], "invalid_request"),
        (&[("code_challenge", "short"), ("code_challenge_method", "S256")], "invalid_request"),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("prompt", "bogus")], "invalid_request"),
        (&[("max_age", "-1")], "invalid_request"),
        (&[("request", "eyJ")], "request_not_supported"),
        (&[("response_mode", "fragment")], "invalid_request"),
    ];
    for (extra, want) in cases {
        assert_eq!(code_of(validate(&params(extra), Some(&c), ISS)), *want, "{extra:?}");
    }
    assert_eq!(code_of(validate(&params(&[]), Some(&c), ISS)), "ok");
}

#[test]
fn public_clients_need_s256() {
    let c = client(ClientType::Spa);
    assert_eq!(code_of(validate(&params(&[]), Some(&c), ISS)), "invalid_request");
    let ok = params(&[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]);
    assert_eq!(code_of(validate(&ok, Some(&c), ISS)), "ok");
}

#[test]
fn repeated_and_control_parameters_are_refused() {
    let c = client(ClientType::Web);
    let mut p = params(&[]);
    p.push(("scope".into(), "openid".into()));
    assert_eq!(code_of(validate(&p, Some(&c), ISS)), "user");
    assert_eq!(code_of(validate(&params(&[("state", "a\u{0}b")]), Some(&c), ISS)), "user");
}

#[test]
fn decisions_follow_session_prompt_max_age_and_grant() {
    let env = TestEnv::default();
    let c = client(ClientType::Web);
    let Validated::Ok(req) = validate(&params(&[]), Some(&c), ISS) else { panic!() };
    assert!(matches!(decide(&env, &req, None, false, None, None, ISS, "t"), Decision::Login));
    let session = crate::signin::tests::session(&env);
    assert!(matches!(decide(&env, &req, Some(&session), false, None, None, ISS, "t"), Decision::Consent));
    let grant = Grant {
        tenant_id: "t".into(),
        account_id: "a".into(),
        client_id: "c1".into(),
        scopes: vec!["openid".into(), "profile".into()],
        created_at: 0,
        updated_at: env.now(),
    };
    // consent to `profile` given before it widened covers `openid` still, `profile` no more
    let widened_at = crate::scope::WIDENED.iter().find(|(s, _)| *s == "profile").unwrap().1;
    let old = Grant { updated_at: widened_at - 1, ..grant.clone() };
    assert!(matches!(
        decide(&env, &req, Some(&session), false, None, Some(&old), ISS, "t"),
        Decision::Consent
    ));
    let Validated::Ok(openid_only) = validate(&params(&[("scope", "openid")]), Some(&c), ISS) else {
        panic!()
    };
    assert!(matches!(
        decide(&env, &openid_only, Some(&session), false, None, Some(&old), ISS, "t"),
        Decision::Issue(..)
    ));
    assert!(matches!(
        decide(
            &env,
            &req,
            Some(&session),
            false,
            None,
            Some(&Grant { updated_at: widened_at, ..old }),
            ISS,
            "t"
        ),
        Decision::Issue(..)
    ));
    let Decision::Issue(code, resp) = decide(&env, &req, Some(&session), false, None, Some(&grant), ISS, "t")
    else {
        panic!()
    };
    assert_eq!(code.expires_at, env.now() + 60);
    assert!(resp.params.iter().any(|(k, v)| k == "iss" && v == ISS));
    let Validated::Ok(none) = validate(&params(&[("prompt", "none")]), Some(&c), ISS) else { panic!() };
    let Decision::ErrorToClient(_, e) = decide(&env, &none, None, false, None, None, ISS, "t") else {
        panic!()
    };
    assert_eq!(e.code, "login_required");
    let Validated::Ok(aged) = validate(&params(&[("max_age", "10")]), Some(&c), ISS) else { panic!() };
    env.advance(11);
    assert!(matches!(
        decide(&env, &aged, Some(&session), false, None, Some(&grant), ISS, "t"),
        Decision::Login
    ));
    assert!(matches!(
        decide(&env, &aged, Some(&session), true, None, Some(&grant), ISS, "t"),
        Decision::Issue(..)
    ));
    // a session below the required level steps up, even with the grant; prompt=none cannot
    let aal2 = Some("aal2");
    assert!(matches!(
        decide(&env, &req, Some(&session), false, aal2, Some(&grant), ISS, "t"),
        Decision::StepUp
    ));
    let Decision::ErrorToClient(_, e) =
        decide(&env, &none, Some(&session), false, aal2, Some(&grant), ISS, "t")
    else {
        panic!()
    };
    assert_eq!(e.code, "interaction_required");
    let strong = Session { acr: "aal2".into(), ..session.clone() };
    assert!(matches!(
        decide(&env, &req, Some(&strong), false, aal2, Some(&grant), ISS, "t"),
        Decision::Issue(..)
    ));
}

#[test]
fn the_claims_parameter_asks_for_acr() {
    let c = client(ClientType::Web);
    let acr = |claims: &str| match validate(&params(&[("claims", claims)]), Some(&c), ISS) {
        Validated::Ok(r) => Ok(r.claims_acr),
        Validated::ErrorToClient(_, e) => Err(e.code),
        Validated::ErrorToUser(e) => Err(e.code),
    };
    assert_eq!(acr(r#"{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}"#), Ok(Some("aal2".into())));
    assert_eq!(
        acr(r#"{"userinfo":{"acr":{"value":"aal2"}},"id_token":{"email":null}}"#),
        Ok(Some("aal2".into()))
    );
    assert_eq!(acr(r#"{"id_token":{"email":{"essential":true}}}"#), Ok(None), "other members are accepted");
    assert_eq!(acr(r#"{"id_token":{"acr":{"values":[1, "", "a b"]}}}"#), Ok(None), "junk values are ignored");
    assert_eq!(acr("{not json"), Err("invalid_request"));
    assert_eq!(acr("[1]"), Err("invalid_request"));
}
