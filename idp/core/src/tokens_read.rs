//! Endpoints that read tokens: UserInfo (OIDC Core §5.3, RFC 6750), introspection (RFC 7662)
//! and revocation (RFC 7009).

use serde_json::{Map, Value, json};

use crate::access_token::{self, AccessToken};
use crate::claims;
use crate::client_auth::AuthenticatedClient;
use crate::crypto::sha256_hex;
use crate::error::OAuthError;
use crate::keys::KeySet;
use crate::model::{AuditEvent, Authorization, Profile, RealName, RefreshToken, Tenant};
use crate::{Env, Store, scope};

/// What releasing claims about an account needs beyond the account, read only for the scopes
/// granted: the bound identity, the opened ID number, the acting context.
#[derive(Default)]
pub struct ClaimData {
    real_name: Option<RealName>,
    profile: Option<Profile>,
    id_number: Option<String>,
    context: Option<(crate::org::Organisation, crate::org::Membership)>,
}

impl ClaimData {
    pub async fn load(
        store: &dyn Store,
        kek: &crate::crypto::Kek,
        tenant_id: &str,
        authz: &Authorization,
    ) -> Result<Self, OAuthError> {
        let wants = |s: &str| authz.scope.iter().any(|x| x == s);
        let Some(account_id) = authz.account_id.as_deref() else { return Ok(Self::default()) };
        let real_name =
            if wants("realname") || wants("id_number") { store.real_name(account_id).await? } else { None };
        let id_number = match (&real_name, wants("id_number")) {
            (Some(r), true) => crate::realname::open_id(kek, tenant_id, &r.id_sealed),
            _ => None,
        };
        // the realname claims only with their own scope
        let real_name = real_name.filter(|_| wants("realname"));
        let context = match (&authz.context, wants("org") || wants("enterprise")) {
            (Some(id), true) => match store.membership(tenant_id, id).await? {
                Some(m) => store.organisation(tenant_id, &m.organisation_id).await?.map(|o| (o, m)),
                None => None,
            },
            _ => None,
        };
        let profile = if wants("profile") || wants("address") {
            store.account_profile(account_id).await?
        } else {
            None
        };
        Ok(Self { real_name, id_number, context, profile })
    }

    pub fn extra(&self) -> claims::Extra<'_> {
        claims::Extra {
            real_name: self.real_name.as_ref(),
            context: self.context.as_ref().map(|(o, m)| (o, m)),
            id_number: self.id_number.as_deref(),
            verified: &[],
            now: 0,
            profile: self.profile.as_ref(),
        }
    }
}

/// The record of a release of personal data (PIPL; the person sees it on the account pages):
/// which claims, to which client, by which way (`userinfo`, `id_token`), when — never their
/// values. `None` when nothing personal was released.
pub fn release_record(
    released: &Map<String, Value>,
    authz: &Authorization,
    via: &str,
    now: i64,
) -> Option<AuditEvent> {
    let names: Vec<&String> = released.keys().filter(|k| !matches!(k.as_str(), "sub" | "act_as")).collect();
    (!names.is_empty()).then(|| AuditEvent {
        tenant_id: Some(authz.tenant_id.clone()),
        kind: "claims_released".into(),
        account_id: authz.account_id.clone(),
        client_id: Some(authz.client_id.clone()),
        ip: None,
        detail: json!({"claims": names, "act_as": authz.act_as, "via": via}),
        at: now,
    })
}

/// What reading a token of one tenant needs.
pub struct ReadContext<'a> {
    pub store: &'a dyn Store,
    pub env: &'a dyn Env,
    pub tenant: &'a Tenant,
    pub keys: &'a KeySet,
    pub issuer: &'a str,
    /// Opens sealed ID numbers (the `id_number` scope).
    pub kek: &'a crate::crypto::Kek,
}

impl ReadContext<'_> {
    /// A presented access token, if it is ours, live and unrevoked.
    pub async fn access_token(&self, token: &str) -> Result<Option<AccessToken>, OAuthError> {
        let Some(at) = access_token::read(self.keys, self.issuer, &self.tenant.id, token, self.env.now())
        else {
            return Ok(None);
        };
        let (jti, family) = (&at.jti, at.family_id.as_deref());
        if self.store.access_token_revoked(jti, family, &at.authz.tenant_id, &at.authz.client_id).await? {
            return Ok(None);
        }
        if !context_live(self.store, &self.tenant.id, &at.authz, self.env.now()).await? {
            return Ok(None);
        }
        Ok(Some(at))
    }

    async fn refresh_token(&self, token: &str) -> Result<Option<RefreshToken>, OAuthError> {
        if token.is_empty() || token.len() > access_token::MAX_LEN {
            return Ok(None);
        }
        let now = self.env.now();
        let r = self.store.refresh_token(&sha256_hex(token.as_bytes())).await?;
        let r =
            r.filter(|r| !r.used && !r.revoked && r.expires_at > now && r.authz.tenant_id == self.tenant.id);
        match r {
            Some(r) if context_live(self.store, &self.tenant.id, &r.authz, now).await? => Ok(Some(r)),
            _ => Ok(None),
        }
    }

    /// The `sub` the client sees for the account (pairwise in a sector).
    async fn subject(&self, client_id: &str, account_id: &str) -> Result<String, OAuthError> {
        let client = self.store.client(&self.tenant.id, client_id).await?;
        let sector = client.as_ref().and_then(|c| c.settings.sector.as_deref());
        Ok(crate::keys::subject(self.keys, sector, account_id))
    }

    /// What a party that signs people in by another protocol (a CAS service) may know of the
    /// person behind `authz`: the subject it sees and exactly the claims of the granted scopes,
    /// as UserInfo would release them; `None` when the account is disabled or gone, or the
    /// acting context has ended. The caller records the release (`release_record`).
    pub async fn released(
        &self,
        authz: &Authorization,
    ) -> Result<Option<(String, Map<String, Value>)>, OAuthError> {
        let Some(account_id) = authz.account_id.as_deref() else { return Ok(None) };
        let Some(account) = self.store.account(&self.tenant.id, account_id).await?.filter(|a| !a.disabled)
        else {
            return Ok(None);
        };
        if !context_live(self.store, &self.tenant.id, authz, self.env.now()).await? {
            return Ok(None);
        }
        let data = ClaimData::load(self.store, self.kek, &self.tenant.id, authz).await?;
        let extra = claims::Extra { now: self.env.now(), ..data.extra() };
        let sub = self.subject(&authz.client_id, &account.id).await?;
        let released = claims::userinfo(&account, &sub, extra, &authz.scope, &authz.act_as);
        Ok(Some((sub, released)))
    }

    pub async fn userinfo(&self, token: &str) -> Result<Map<String, Value>, OAuthError> {
        let invalid = || OAuthError::invalid_token("The access token is invalid or has expired.");
        let record = self.access_token(token).await?.ok_or_else(invalid)?;
        // a token for another resource (RFC 8707) is not for UserInfo (docs/design.md: a resource
        // accepts only tokens for itself)
        if record.authz.resource.is_some() {
            return Err(OAuthError::invalid_token("The access token is for another resource."));
        }
        let account_id = record.authz.account_id.as_deref().ok_or_else(invalid)?;
        if !record.authz.scope.iter().any(|s| s == "openid") {
            return Err(OAuthError::new("insufficient_scope", "The openid scope is required."));
        }
        let account = self
            .store
            .account(&self.tenant.id, account_id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or_else(invalid)?;
        let data = ClaimData::load(self.store, self.kek, &self.tenant.id, &record.authz).await?;
        let asked = record.authz.claims.as_ref().map_or(&[][..], |c| &c.userinfo_verified[..]);
        let extra = claims::Extra { verified: asked, now: self.env.now(), ..data.extra() };
        let sub = self.subject(&record.authz.client_id, &account.id).await?;
        let released = claims::userinfo(&account, &sub, extra, &record.authz.scope, &record.authz.act_as);
        // No record, no release.
        if let Some(event) = release_record(&released, &record.authz, "userinfo", self.env.now()) {
            self.store.append_audit(&event).await?;
        }
        Ok(released)
    }

    /// RFC 7662 §2.2. Inactive tokens answer `{"active": false}` and nothing else.
    pub async fn introspect(
        &self,
        caller: &AuthenticatedClient,
        token: &str,
        hint: Option<&str>,
    ) -> Result<Value, OAuthError> {
        if !caller.client.client_type.is_confidential() {
            return Err(OAuthError::invalid_client("Public clients may not introspect tokens."));
        }
        let as_access = |a: AccessToken| (a.authz, a.expires_at, a.issued_at, true);
        let as_refresh = |r: RefreshToken| (r.authz, r.expires_at, r.created_at, false);
        let found = if hint == Some("refresh_token") {
            match self.refresh_token(token).await? {
                Some(r) => Some(as_refresh(r)),
                None => self.access_token(token).await?.map(as_access),
            }
        } else {
            match self.access_token(token).await? {
                Some(a) => Some(as_access(a)),
                None => self.refresh_token(token).await?.map(as_refresh),
            }
        };
        let Some((authz, exp, iat, is_access)) = found else {
            return Ok(json!({"active": false}));
        };
        // A client learns only about its own tokens, or (as a resource server) the access
        // tokens issued for the resource it is registered as: to anyone else a token is
        // inactive, so a leaked token tells another client nothing.
        let own = authz.client_id == caller.client.client_id;
        let for_it =
            is_access && authz.resource.is_some() && authz.resource == caller.client.settings.resource_uri;
        if !(own || for_it) {
            return Ok(json!({"active": false}));
        }
        let mut out = json!({
            "active": true,
            "scope": scope::join(&authz.scope),
            "client_id": authz.client_id,
            "token_type": if is_access { "Bearer" } else { "refresh_token" },
            "exp": exp,
            "iat": iat,
            "iss": self.issuer,
            "sub": match &authz.account_id {
                Some(id) => self.subject(&authz.client_id, id).await?,
                None => authz.client_id.clone(),
            },
            "aud": authz.resource.as_deref().unwrap_or(&authz.client_id),
            "act_as": authz.act_as,
        });
        if let Some(account_id) = &authz.account_id
            && let Some(a) = self.store.account(&self.tenant.id, account_id).await?
        {
            if a.disabled {
                return Ok(json!({"active": false}));
            }
            // the username is a `profile` claim: only where the person granted that scope
            if authz.scope.iter().any(|s| s == "profile") {
                out["username"] = json!(a.username);
            }
        }
        if let Some(t) = authz.auth_time {
            out["auth_time"] = json!(t);
        }
        Ok(out)
    }

    /// RFC 7009 §2: revokes the token if it belongs to the caller; answers success either way.
    /// Revoking a refresh token revokes its whole family, access tokens included.
    pub async fn revoke(&self, caller: &AuthenticatedClient, token: &str) -> Result<(), OAuthError> {
        if token.is_empty() || token.len() > access_token::MAX_LEN {
            return Ok(());
        }
        if let Some(rt) = self.store.refresh_token(&sha256_hex(token.as_bytes())).await? {
            if rt.authz.client_id == caller.client.client_id && rt.authz.tenant_id == self.tenant.id {
                self.store.revoke_family(&rt.family_id, "revoked").await?;
            }
            return Ok(());
        }
        if let Some(at) = self.access_token(token).await?
            && at.authz.client_id == caller.client.client_id
        {
            self.store.revoke_access_token(&at.jti, at.expires_at).await?;
        }
        Ok(())
    }
}

/// Whether the acting context of a grant still holds: no context, or a membership still active
/// (not ended; a mandate confirmed and inside its window). One that stopped makes its tokens
/// inactive and its refresh tokens useless at once.
pub async fn context_live(
    store: &dyn Store,
    tenant_id: &str,
    authz: &Authorization,
    now: i64,
) -> Result<bool, OAuthError> {
    let Some(id) = &authz.context else { return Ok(true) };
    let m = store.membership(tenant_id, id).await?;
    Ok(m.is_some_and(|m| m.active(now) && Some(&m.account_id) == authz.account_id.as_ref()))
}
