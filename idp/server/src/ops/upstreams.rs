//! Upstream identity providers of a tenant (identity brokering, `idp_core::upstream`): added,
//! changed, disabled and removed by the operator (`idp upstream …`). The client secret the
//! upstream issued is sealed under the KEK with the tenant's profile's algorithm and never
//! shown again; every change is audited without it.

use anyhow::{anyhow, bail};
use idp_core::model::{Upstream, UpstreamAuth, UpstreamSettings};
use idp_core::suite::Suite;

use crate::ops::{Ops, valid_slug};

/// An upstream to add, as the operator describes it.
#[derive(Clone)]
pub struct NewUpstream {
    /// The slug of its callback `{issuer}/upstream/{id}/callback`.
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub auth: UpstreamAuth,
    /// Required for `client_secret_basic`, refused for `private_key_jwt`.
    pub client_secret: Option<String>,
    pub settings: UpstreamSettings,
}

impl std::fmt::Debug for NewUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUpstream")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The associated data an upstream's client secret is sealed with.
pub fn upstream_context(tenant_id: &str, id: &str) -> String {
    format!("upstream-secret:{tenant_id}:{id}")
}

/// An issuer is an https URL without query, fragment or user information (OIDC Discovery §2),
/// http only on the loopback host (a test or an upstream on the same machine).
pub fn check_issuer(issuer: &str) -> anyhow::Result<()> {
    if issuer.len() > 255 || issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("issuer: a URL of at most 255 characters, without spaces");
    }
    let u = url::Url::parse(issuer).map_err(|_| anyhow!("issuer {issuer:?} is not a URL"))?;
    if !u.username().is_empty() || u.password().is_some() {
        bail!("issuer {issuer:?} must not carry a user name or password");
    }
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if u.query().is_some() || u.fragment().is_some() || u.cannot_be_a_base() {
        bail!("issuer {issuer:?} must not have a query or fragment");
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!("issuer {issuer:?} must use https (http only for localhost)"),
    }
}

/// Fills a SAML upstream's entity ID, services and certificates from the identity provider's
/// metadata (XML), keeping the rest of its settings.
pub fn apply_saml_metadata(n: &mut NewUpstream, xml: &str) -> anyhow::Result<()> {
    let m = idp_core::saml::metadata::identity_provider_of(xml).map_err(|e| anyhow!("saml metadata: {e}"))?;
    let saml = n.settings.saml.get_or_insert_with(Default::default);
    saml.sso_url = m.sso;
    saml.slo_url = m.slo;
    saml.signing_certificates = m.signing_certificates;
    n.issuer = m.entity_id;
    Ok(())
}

impl Ops {
    /// The checks of an OpenID upstream's issuer and client.
    fn check_oidc_upstream(&self, n: &NewUpstream, secret: Option<&str>) -> anyhow::Result<()> {
        check_issuer(&n.issuer)?;
        let policy = crate::outbound::Policy::new(&self.config.outbound)?;
        if policy.check_url(&n.issuer).is_err() {
            bail!(
                "the issuer {} is not an allowed destination: its host must be in [outbound] allow_hosts \
                 (when set), and a loopback or private address in allow_networks",
                n.issuer
            );
        }
        if n.client_id.trim().is_empty()
            || n.client_id.len() > 255
            || n.client_id.chars().any(char::is_control)
        {
            bail!("client_id: the client id the upstream issued, 1-255 characters");
        }
        match (n.auth, secret) {
            (UpstreamAuth::ClientSecretBasic, None) => {
                bail!("client_secret_basic needs the client secret the upstream issued")
            }
            (UpstreamAuth::PrivateKeyJwt, Some(_)) => {
                bail!("private_key_jwt signs with the tenant's key: no client secret")
            }
            _ => Ok(()),
        }
    }

    /// The tenant's upstreams.
    pub async fn upstreams(&self, slug: &str) -> anyhow::Result<Vec<Upstream>> {
        let tenant = self.tenant(slug).await?;
        Ok(self.store.upstreams(&tenant.id).await?)
    }

    /// Adds an upstream to the tenant, checked before anything is written: its id, issuer
    /// (and that the operator's outbound rules let the provider reach it), client and
    /// settings (`idp_core::upstream::check`).
    pub async fn add_upstream_by(&self, slug: &str, n: NewUpstream, by: &str) -> anyhow::Result<Upstream> {
        let tenant = self.tenant(slug).await?;
        if !valid_slug(&n.id) {
            bail!("an upstream id is 1-40 characters of a-z, 0-9 and '-'");
        }
        let secret = n.client_secret.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let saml = n.settings.saml.is_some();
        let netid = n.settings.through_connector();
        if netid {
            // reached through the configured connector (`[netid]`, `[licence]`): no issuer,
            // client or secret
            if secret.is_some() {
                bail!("an upstream reached through a connector has no client secret here");
            }
        } else if saml {
            // an entity ID is any URI (SAML Core §8.3.6); the browser, not this provider,
            // goes to its services
            if n.issuer.is_empty()
                || n.issuer.len() > 1024
                || n.issuer.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                bail!("issuer: the identity provider's entity ID, 1-1024 characters without spaces");
            }
            if secret.is_some() {
                bail!("a SAML upstream has no client secret: this provider holds its own key for it");
            }
        } else {
            self.check_oidc_upstream(&n, secret)?;
        }
        idp_core::upstream::check(&n.settings).map_err(|e| anyhow!(e))?;
        let suite = Suite::of(&tenant.settings.crypto);
        // a SAML upstream's assertions are encrypted for a key of its own, made here
        let plain = if netid {
            None
        } else if saml {
            Some(
                idp_core::saml::decrypt::generate_key()
                    .ok_or_else(|| anyhow!("an RSA key could not be made"))?,
            )
        } else {
            secret.map(|s| s.as_bytes().to_vec())
        };
        let secret_sealed = plain.map(|p| {
            self.kek.seal_with(self.env.as_ref(), suite.seal_alg(), &p, &upstream_context(&tenant.id, &n.id))
        });
        let now = self.now();
        let upstream = Upstream {
            tenant_id: tenant.id.clone(),
            id: n.id,
            issuer: match (netid, saml) {
                (true, _) if n.settings.licence.is_some() => idp_core::licence::ISSUER.to_string(),
                (true, _) => idp_core::netid::ISSUER.to_string(),
                (_, true) => n.issuer.clone(),
                _ => n.issuer.trim_end_matches('/').to_string(),
            },
            client_id: if saml || netid { String::new() } else { n.client_id.trim().to_string() },
            auth: n.auth,
            secret_sealed,
            settings: n.settings,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        if !self.store.insert_upstream(&upstream).await? {
            bail!("the tenant has an upstream {:?} already", upstream.id);
        }
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let st = &upstream.settings;
        let detail = serde_json::json!({
            "upstream": upstream.id, "issuer": upstream.issuer, "client_id": upstream.client_id,
            "auth": upstream.auth.as_str(), "levels": st.levels, "acr_map": st.acr_map,
            "link_by_id_number": st.link_by_id_number, "create_accounts": st.create_accounts,
            "netid": st.netid, "licence": st.licence,
        });
        self.audit_by(&tenant.id, "upstream_added", None, detail, by).await?;
        Ok(upstream)
    }

    /// Stops (or resumes) offering an upstream; its links stay.
    pub async fn set_upstream_disabled_by(
        &self,
        slug: &str,
        id: &str,
        disabled: bool,
        by: &str,
    ) -> anyhow::Result<Upstream> {
        let tenant = self.tenant(slug).await?;
        let mut upstream = self
            .store
            .upstreams(&tenant.id)
            .await?
            .into_iter()
            .find(|u| u.id == id)
            .ok_or_else(|| anyhow!("no upstream {id:?} in tenant {slug:?}"))?;
        if upstream.disabled != disabled {
            upstream.disabled = disabled;
            upstream.updated_at = self.now();
            if !self.store.update_upstream(&upstream).await? {
                bail!("no upstream {id:?} in tenant {slug:?}");
            }
            self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
            let kind = if disabled { "upstream_disabled" } else { "upstream_enabled" };
            self.audit_by(&tenant.id, kind, None, serde_json::json!({"upstream": id}), by).await?;
        }
        Ok(upstream)
    }

    /// Removes an upstream and every account's link to it (the accounts stay). The enterprise
    /// roles an electronic business licence granted through it end with it: nothing could
    /// revoke them any more (and an upstream added later under the same id must not inherit
    /// them).
    pub async fn remove_upstream_by(&self, slug: &str, id: &str, by: &str) -> anyhow::Result<()> {
        let tenant = self.tenant(slug).await?;
        if !self.store.delete_upstream(&tenant.id, id).await? {
            bail!("no upstream {id:?} in tenant {slug:?}");
        }
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let prefix = idp_core::licence::source_prefix(id);
        let ended = self.store.end_memberships_from(&tenant.id, &prefix, self.now()).await?;
        let detail = serde_json::json!({"upstream": id, "roles_ended": ended});
        self.audit_by(&tenant.id, "upstream_removed", None, detail, by).await
    }

    /// An upstream as the admin API and the CLI show it: never its secret.
    pub fn upstream_info(&self, slug: &str, u: &Upstream) -> idp_proto::UpstreamInfo {
        idp_proto::UpstreamInfo {
            id: u.id.clone(),
            issuer: u.issuer.clone(),
            client_id: u.client_id.clone(),
            auth: u.auth.as_str().into(),
            has_secret: u.secret_sealed.is_some(),
            disabled: u.disabled,
            callback: match u.settings.protocol() {
                "saml" => crate::http::signin::upstream_saml::acs_url(&self.config.issuer(slug), &u.id),
                "oidc" => format!("{}/upstream/{}/callback", self.config.issuer(slug), u.id),
                app => format!("{}/upstream/{}/{app}/callback", self.config.issuer(slug), u.id),
            },
            protocol: u.settings.protocol().into(),
            sp_metadata: u
                .settings
                .saml
                .as_ref()
                .map(|_| crate::http::signin::upstream_saml::entity_id(&self.config.issuer(slug), &u.id)),
            // a SAML upstream's logout comes and goes through the single logout service of
            // this provider's metadata for it
            post_logout_redirect_uri: match u.settings.protocol() {
                "saml" => crate::http::signin::upstream_saml::slo_url(&self.config.issuer(slug), &u.id),
                "oidc" => format!("{}/upstream/{}/signed-out", self.config.issuer(slug), u.id),
                _ => String::new(),
            },
            backchannel_logout_uri: match u.settings.protocol() {
                "oidc" => format!("{}/upstream/{}/backchannel-logout", self.config.issuer(slug), u.id),
                _ => String::new(),
            },
            notification_uri: u
                .settings
                .licence
                .as_ref()
                .map(|_| format!("{}/upstream/{}/licence/notify", self.config.issuer(slug), u.id)),
            settings: serde_json::to_value(&u.settings).unwrap_or_default(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    /// An upstream's client secret, opened (for the token request).
    pub fn upstream_secret(&self, u: &Upstream) -> Option<String> {
        if u.settings.saml.is_some() {
            return None;
        }
        let sealed = u.secret_sealed.as_ref()?;
        let plain = self.kek.open(sealed, &upstream_context(&u.tenant_id, &u.id)).ok()?;
        String::from_utf8(plain).ok()
    }

    /// A SAML upstream's decryption key (PKCS#8), opened.
    pub fn upstream_saml_key(&self, u: &Upstream) -> Option<Vec<u8>> {
        u.settings.saml.as_ref()?;
        self.kek.open(u.secret_sealed.as_ref()?, &upstream_context(&u.tenant_id, &u.id)).ok()
    }

    /// The certificate of a SAML upstream's decryption key, as this provider's metadata for it
    /// publishes it: derived from the key, the upstream and its creation, the same on every
    /// node (`idp_core::keys::saml_certificate`).
    pub fn upstream_saml_certificate(&self, u: &Upstream) -> Option<Vec<u8>> {
        let pkcs8 = self.upstream_saml_key(u)?;
        let key =
            idp_core::module::SoftwareKey::from_document(idp_core::model::SigningAlg::RS256, &pkcs8, "")?;
        let kid = format!("upstream {} {}", u.tenant_id, u.id);
        idp_core::keys::saml_certificate(key.as_ref(), &kid, u.created_at)
    }
}
