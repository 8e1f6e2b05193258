//! Property tests in place of coverage-guided fuzzing (cargo-fuzz needs a nightly toolchain,
//! which this project's machines do not have): JWS/JWT parsing, authorization request parsing,
//! scopes, sealed secrets and stored password hashes take arbitrary input without panicking,
//! and never accept what they must refuse. Longer runs: `PROPTEST_CASES=200000 cargo test -p
//! idp-core --test properties --release`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use idp_core::authorize::{Validated, validate};
use idp_core::crypto::Kek;
use idp_core::keys::{KeySet, generate};
use idp_core::model::{Client, ClientSettings, ClientType, SigningAlg};
use idp_core::password::{Argon2Params, Hasher};
use idp_core::{Env, SystemEnv, scope};
use proptest::prelude::*;

const ISS: &str = "https://idp.example/t/main";

fn keyset() -> &'static (KeySet, String) {
    static K: std::sync::OnceLock<(KeySet, String)> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        let kek = Kek::generate(&SystemEnv);
        let module = idp_core::module::SoftwareModule::new(kek.clone());
        let recs: Vec<_> = SigningAlg::ALL
            .iter()
            .map(|a| generate(&SystemEnv, &module, "t", *a, &Default::default()).unwrap())
            .collect();
        let set = KeySet::load(&recs, &module, &kek, &Default::default(), "t", SystemEnv.now()).unwrap();
        let jwt = set
            .sign(
                SigningAlg::ES256,
                "JWT",
                &serde_json::json!({"iss": ISS, "exp": SystemEnv.now() + 3600, "sub": "a"}),
            )
            .unwrap();
        (set, jwt)
    })
}

fn client(kind: ClientType) -> Client {
    Client {
        tenant_id: "t".into(),
        client_id: "c1".into(),
        name: "App".into(),
        client_type: kind,
        secret_hash: None,
        settings: ClientSettings {
            redirect_uris: vec!["https://app.example/cb".into(), "http://127.0.0.1:8000/cb".into()],
            ..Default::default()
        },
        disabled: false,
        created_at: 0,
    }
}

const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "response_mode",
    "request",
    "login_hint",
    "ui_locales",
];

fn param() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![proptest::sample::select(NAMES).prop_map(str::to_string), ".{0,12}"];
    let value = prop_oneof![
        Just("c1".to_string()),
        Just("https://app.example/cb".to_string()),
        Just("code".to_string()),
        Just("openid profile".to_string()),
        Just("S256".to_string()),
        Just("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()),
        "https://app\\.example/cb.{0,6}",
        ".{0,40}",
        "\\PC{0,300}",
    ];
    (name, value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary strings never verify; a valid token with any single byte changed never verifies.
    #[test]
    fn jws_verification_never_panics_or_accepts_garbage(s in "\\PC{0,400}", pos in 0usize..2000, byte in any::<u8>()) {
        let (set, jwt) = keyset();
        let now = SystemEnv.now();
        prop_assert!(set.verify::<serde_json::Value>(&s, ISS, false, now).is_err() || s == *jwt);
        let mut bytes = jwt.clone().into_bytes();
        let i = pos % bytes.len();
        if bytes[i] != byte {
            bytes[i] = byte;
            if let Ok(t) = String::from_utf8(bytes) {
                // base64url has unused trailing bits: two encodings of the last character can
                // decode to the same bytes, so compare what was signed, not the string.
                if let Ok(v) = set.verify::<serde_json::Value>(&t, ISS, false, now) {
                    let orig: serde_json::Value = set.verify(jwt, ISS, false, now).unwrap();
                    prop_assert_eq!(v, orig);
                }
            }
        }
    }

    /// Whatever the parameters, the engine only ever sends a response to a registered
    /// redirect_uri, byte for byte.
    #[test]
    fn authorization_requests_never_redirect_elsewhere(params in proptest::collection::vec(param(), 0..14), public in any::<bool>()) {
        let c = client(if public { ClientType::Spa } else { ClientType::Web });
        let registered = &c.settings.redirect_uris;
        match validate(&params, Some(&c), ISS) {
            Validated::Ok(req) => prop_assert!(registered.contains(&req.redirect_uri)),
            Validated::ErrorToClient(resp, _) => prop_assert!(registered.contains(&resp.redirect_uri)),
            Validated::ErrorToUser(_) => {}
        }
    }

    #[test]
    fn scopes_parse_to_allowed_characters_only(s in "\\PC{0,200}") {
        if let Ok(scopes) = scope::parse(&s) {
            for sc in scopes {
                prop_assert!(!sc.is_empty());
                prop_assert!(sc.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)));
            }
        }
    }

    #[test]
    fn sealed_secrets_refuse_tampering(data in proptest::collection::vec(any::<u8>(), 0..200), noise in proptest::collection::vec(any::<u8>(), 0..64)) {
        let kek = Kek::from_bytes([9; 32]);
        prop_assert!(kek.open(&noise, "ctx").is_err());
        let mut sealed = kek.seal(&SystemEnv, &data, "ctx");
        prop_assert_eq!(kek.open(&sealed, "ctx").unwrap(), data);
        let i = noise.len() % sealed.len();
        sealed[i] ^= 1;
        prop_assert!(kek.open(&sealed, "ctx").is_err());
    }

    /// Stored hashes are data from the database: any string is refused cleanly, including
    /// parameters that would make the server allocate gigabytes.
    #[test]
    fn stored_password_hashes_never_panic(m in any::<u32>(), t in any::<u32>(), p in any::<u32>(), tail in "[A-Za-z0-9+/$=]{0,60}") {
        let h = Hasher::new(Argon2Params { memory_kib: 8, iterations: 1, parallelism: 1 });
        let stored = format!("$argon2id$v=19$m={m},t={t},p={p}${tail}");
        let _ = h.verify("pw", &stored);
    }
}
