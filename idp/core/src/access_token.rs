//! Access tokens are self-contained, so issuing one writes nothing to the database (docs/design.md:
//! "no database write a grant does not need"):
//!
//! - **JWT** (RFC 9068): signed with the tenant's key; `jti` is `<family>.<random>` for tokens
//!   issued from an authorization code or refresh token, `<random>` for client credentials.
//! - **Opaque**: `oat_<hour>.` + base64url(AES-256-GCM(random nonce, JSON of the
//!   authorization)) under the key of that hour, derived from the tenant's sealing key
//!   ([`KeySet::sealer`], itself derived from the KEK): every node reads every node's tokens and
//!   nobody else can read or forge one. A key per hour keeps the number of messages under one
//!   key, and so the chance of a repeated random nonce, negligible at any issuance rate
//!   (NIST SP 800-38D's 2^32 bound would otherwise be reached in about a day at full speed).
//!
//! Revocation stays exact: a token is live only if its `jti` is not on the revocation list and
//! its family (if any) is not revoked ([`crate::Store::access_token_revoked`], one indexed read).
//! The list holds a row per explicitly revoked token until the token would have expired anyway.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::crypto::{b64, b64_decode, random_token};
use crate::error::OAuthError;
use crate::keys::KeySet;
use crate::model::{AccessTokenFormat, Authorization, Client};
use crate::{Env, scope};

const OPAQUE_PREFIX: &str = "oat_";
const SEAL_CONTEXT: &str = "access_token";
/// Longer tokens are refused before any parsing.
pub const MAX_LEN: usize = 8192;

/// A valid access token, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    #[serde(rename = "j")]
    pub jti: String,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
    #[serde(rename = "a")]
    pub authz: Authorization,
    #[serde(rename = "i")]
    pub issued_at: i64,
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Mints an access token for `authz` in the client's format; returns the token and what it says.
pub fn issue(
    keys: &KeySet,
    env: &dyn Env,
    issuer: &str,
    client: &Client,
    authz: &Authorization,
    family: Option<&str>,
    now: i64,
) -> Result<(String, AccessToken), OAuthError> {
    let random = random_token(env, 16);
    let jti = match family {
        Some(f) => format!("{f}.{random}"),
        None => random,
    };
    let mut authz = authz.clone();
    authz.nonce = None;
    // the token needs only what UserInfo will answer: the verified claims asked of it
    authz.claims = authz.claims.take().filter(|c| !c.userinfo_verified.is_empty()).map(|c| {
        crate::claims_request::ClaimsRequest { userinfo_verified: c.userinfo_verified, ..Default::default() }
    });
    let token = AccessToken {
        jti,
        family_id: family.map(str::to_string),
        authz,
        issued_at: now,
        expires_at: now + client.settings.access_token_ttl,
    };
    let value = match client.settings.access_token_format {
        AccessTokenFormat::Opaque => {
            let plain = serde_json::to_vec(&token).map_err(|e| OAuthError::server_error(e.to_string()))?;
            let hour = now.div_euclid(3600);
            format!(
                "{OPAQUE_PREFIX}{hour}.{}",
                b64(&hour_key(keys, hour).seal_with(env, keys.suite.seal_alg(), &plain, SEAL_CONTEXT))
            )
        }
        AccessTokenFormat::Jwt => {
            let a = &token.authz;
            let sector = client.settings.sector.as_deref();
            let subject = match &a.account_id {
                Some(id) => crate::keys::subject(keys, sector, id),
                None => a.client_id.clone(),
            };
            let mut claims = json!({
                "iss": issuer, "sub": subject, "aud": a.resource.as_deref().unwrap_or(&a.client_id), "client_id": a.client_id,
                "iat": now, "exp": token.expires_at, "jti": token.jti, "scope": scope::join(&a.scope),
                "act_as": a.act_as,
            });
            if let Some(t) = a.auth_time {
                claims["auth_time"] = json!(t);
            }
            if let Some(acr) = &a.acr {
                claims["acr"] = json!(acr);
                claims["amr"] = json!(a.amr);
            }
            if let Some(sid) = &a.sid {
                claims["sid"] = json!(sid);
            }
            if let Some(c) = &a.context {
                claims["act_context"] = json!(c);
            }
            if let Some(c) = &a.claims {
                claims["claims_req"] = json!(c);
            }
            // a pairwise sub does not lead back to the account: the id travels sealed
            if let (Some(id), Some(_)) = (&a.account_id, sector) {
                claims["acct"] = json!(b64(&keys.sealer.derive(ACCT_CONTEXT).seal_with(
                    env,
                    keys.suite.seal_alg(),
                    id.as_bytes(),
                    ACCT_CONTEXT
                )));
            }
            keys.sign(client.settings.id_token_alg, "at+jwt", &claims)
                .map_err(|e| OAuthError::server_error(e.to_string()))?
        }
    };
    Ok((value, token))
}

/// Reads a token of this tenant: signature or seal, issuer, expiry. Says nothing about
/// revocation, which needs the store.
pub fn read(keys: &KeySet, issuer: &str, tenant_id: &str, token: &str, now: i64) -> Option<AccessToken> {
    if token.is_empty() || token.len() > MAX_LEN {
        return None;
    }
    let read = if let Some(rest) = token.strip_prefix(OPAQUE_PREFIX) {
        let (hour, sealed) = rest.split_once('.')?;
        let hour: i64 = hour.parse().ok().filter(|h| (0..=now.div_euclid(3600) + 1).contains(h))?;
        let plain = hour_key(keys, hour).open(&b64_decode(sealed)?, SEAL_CONTEXT).ok()?;
        serde_json::from_slice::<AccessToken>(&plain).ok()?
    } else if token.matches('.').count() == 2 {
        // only what we signed as an access token (an ID token is signed with the same keys)
        if KeySet::typ_of(token).as_deref() != Some("at+jwt") {
            return None;
        }
        from_jwt(keys.verify::<Value>(token, issuer, false, now).ok()?, tenant_id, keys)?
    } else {
        return None;
    };
    (read.authz.tenant_id == tenant_id && read.expires_at > now).then_some(read)
}

fn hour_key(keys: &KeySet, hour: i64) -> crate::crypto::Kek {
    keys.sealer.derive(&hour.to_string())
}

const ACCT_CONTEXT: &str = "at-account";

fn from_jwt(c: Value, tenant_id: &str, keys: &KeySet) -> Option<AccessToken> {
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let client_id = s("client_id")?;
    let sub = match s("acct") {
        Some(sealed) => {
            let plain = keys.sealer.derive(ACCT_CONTEXT).open(&b64_decode(&sealed)?, ACCT_CONTEXT).ok()?;
            String::from_utf8(plain).ok()?
        }
        None => s("sub")?,
    };
    // RFC 9068 §2.2: `aud` is the resource the token is for, else the client itself
    let resource = s("aud").filter(|aud| *aud != client_id);
    let jti = s("jti")?;
    let family_id = jti.split_once('.').map(|(f, _)| f.to_string());
    let authz = Authorization {
        tenant_id: tenant_id.to_string(),
        account_id: (sub != client_id).then_some(sub),
        client_id,
        scope: s("scope").map(|v| v.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect())?,
        sid: s("sid"),
        auth_time: c.get("auth_time").and_then(Value::as_i64),
        acr: s("acr"),
        amr: c
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        nonce: None,
        act_as: s("act_as")?,
        context: s("act_context"),
        claims: c.get("claims_req").and_then(|v| serde_json::from_value(v.clone()).ok()),
        resource,
        // (what an access token may release was settled when it was minted)
        consented_at: None,
    };
    Some(AccessToken {
        jti,
        family_id,
        authz,
        issued_at: c.get("iat").and_then(Value::as_i64)?,
        expires_at: c.get("exp").and_then(Value::as_i64)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Kek;
    use crate::keys::{KeySet, generate};
    use crate::model::{ClientSettings, ClientType, SigningAlg};
    use crate::{Env, SystemEnv};

    fn dual() -> crate::suite::Suite {
        crate::suite::Suite::of(&crate::model::CryptoSettings {
            profile: crate::model::CryptoProfile::Dual,
            ..Default::default()
        })
    }

    const ISS: &str = "https://idp.example/t/a";

    fn keys(kek: &Kek, tenant: &str) -> KeySet {
        let module = crate::module::SoftwareModule::new(kek.clone());
        let records: Vec<_> = SigningAlg::ALL
            .iter()
            .map(|a| generate(&SystemEnv, &module, tenant, *a, &dual()).unwrap())
            .collect();
        KeySet::load(&records, &module, kek, &dual(), tenant, SystemEnv.now()).unwrap()
    }

    fn client(format: AccessTokenFormat, alg: SigningAlg) -> Client {
        Client {
            tenant_id: "ta".into(),
            client_id: "app".into(),
            name: "App".into(),
            client_type: ClientType::Web,
            secret_hash: None,
            settings: ClientSettings { access_token_format: format, id_token_alg: alg, ..Default::default() },
            disabled: false,
            created_at: 0,
        }
    }

    fn authz(account: Option<&str>) -> Authorization {
        Authorization {
            tenant_id: "ta".into(),
            client_id: "app".into(),
            account_id: account.map(str::to_string),
            scope: vec!["openid".into(), "profile".into()],
            sid: account.map(|_| "sid-1".into()),
            auth_time: account.map(|_| 1000),
            acr: account.map(|_| "aal1".into()),
            amr: if account.is_some() { vec!["pwd".into()] } else { vec![] },
            nonce: Some("n-0".into()),
            act_as: "self".into(),
            context: None,
            // what UserInfo will be asked travels in the token; the ID token's part does not
            claims: account.map(|_| crate::claims_request::ClaimsRequest {
                id_token: vec!["name".into()],
                userinfo_verified: vec![crate::claims_request::VerifiedRequest {
                    claims: vec!["name".into()],
                    max_age: Some(60),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            resource: account.map(|_| "https://api.example/records".into()),
            consented_at: None,
        }
    }

    #[test]
    fn both_formats_read_back_exactly_and_only_where_they_belong() {
        let kek = Kek::generate(&SystemEnv);
        let (ka, kb) = (keys(&kek, "ta"), keys(&kek, "tb"));
        let now = SystemEnv.now();
        for format in [AccessTokenFormat::Opaque, AccessTokenFormat::Jwt] {
            for alg in SigningAlg::ALL {
                for (account, family) in [(Some("acc-1"), Some("fam1")), (None, None)] {
                    let c = client(format, alg);
                    let (value, minted) =
                        issue(&ka, &SystemEnv, ISS, &c, &authz(account), family, now).unwrap();
                    assert_eq!(minted.authz.nonce, None, "a nonce belongs to the ID token only");
                    let kept = minted.authz.claims.as_ref();
                    assert!(kept.is_none_or(|c| c.id_token.is_empty() && c.userinfo_verified.len() == 1));
                    assert_eq!(minted.family_id.as_deref(), family);
                    assert_eq!(read(&ka, ISS, "ta", &value, now), Some(minted.clone()), "{format:?} {alg:?}");
                    // expired; another tenant's keys; another tenant (its own issuer)
                    assert_eq!(read(&ka, ISS, "ta", &value, minted.expires_at), None);
                    assert_eq!(read(&kb, ISS, "ta", &value, now), None);
                    assert_eq!(read(&ka, "https://idp.example/t/b", "tb", &value, now), None);
                    // any change to the token breaks it
                    let mut bytes = value.clone().into_bytes();
                    let at = bytes.len() / 2;
                    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                    let tampered = String::from_utf8(bytes).unwrap();
                    assert_eq!(read(&ka, ISS, "ta", &tampered, now), None);
                }
            }
        }
    }

    #[test]
    fn garbage_is_not_a_token() {
        let kek = Kek::generate(&SystemEnv);
        let k = keys(&kek, "ta");
        let now = SystemEnv.now();
        let far = format!("oat_{}.AAAA", now / 3600 + 5);
        for t in [
            "",
            "oat_",
            "oat_!!",
            "oat_1.",
            "oat_-1.AAAA",
            &far,
            "a.b.c",
            "oat_AAAA",
            &"x".repeat(MAX_LEN + 1),
            "eyJ.eyJ.sig",
        ] {
            assert_eq!(read(&k, ISS, "ta", t, now), None, "{t}");
        }
        let hour = now.div_euclid(3600);
        let sealed = b64(&hour_key(&k, hour).seal(&SystemEnv, b"{\"not\":\"a token\"}", SEAL_CONTEXT));
        assert_eq!(read(&k, ISS, "ta", &format!("{OPAQUE_PREFIX}{hour}.{sealed}"), now), None);
        // an ID token is not an access token, though signed with the same key
        let id_token = k
            .sign(
                SigningAlg::ES256,
                "JWT",
                &serde_json::json!({"iss": ISS, "sub": "a", "client_id": "app",
                "jti": "j", "scope": "openid", "act_as": "self", "iat": now, "exp": now + 60}),
            )
            .unwrap();
        assert_eq!(read(&k, ISS, "ta", &id_token, now), None);
    }
}
