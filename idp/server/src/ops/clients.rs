//! Registering and looking after department applications ("Clients") for the admin
//! API: one set of rules for a new client and for changes to one (`apply`), secret rotation
//! with an overlap (the old secret keeps working until then), enable and disable. Every change
//! is audited with the administrator's identity.

use anyhow::{anyhow, bail};
use idp_core::crypto::{random_token, sha256_hex};
use idp_core::model::{AccessTokenFormat, Client, ClientSettings, ClientType, SigningAlg};
use idp_proto::{ClientInfo, ClientRequest};

use crate::ops::{NewClient, Ops, check_redirect_uri};

/// The longest overlap a rotated secret keeps working.
pub const MAX_OVERLAP: i64 = 30 * 86_400;

/// Applies `req` to `s`, refusing what is not allowed.
pub fn apply(s: &mut ClientSettings, req: &ClientRequest) -> anyhow::Result<()> {
    if let Some(uris) = &req.redirect_uris {
        uris.iter().try_for_each(|u| check_redirect_uri(u))?;
        s.redirect_uris = uris.clone();
    }
    if let Some(uris) = &req.post_logout_redirect_uris {
        uris.iter().try_for_each(|u| check_redirect_uri(u))?;
        s.post_logout_redirect_uris = uris.clone();
    }
    if let Some(scope) = &req.scope {
        let parsed = idp_core::scope::parse(scope).map_err(|e| anyhow!(e))?;
        s.scope = parsed.join(" ");
    }
    if let Some(services) = &req.services {
        if services.len() > 50 {
            bail!("a CAS service has at most 50 service URLs");
        }
        services.iter().try_for_each(|p| idp_core::cas::valid_pattern(p).map_err(|e| anyhow!(e)))?;
        s.cas.services = services.clone();
    }
    if let Some(ttl) = req.ticket_ttl {
        if !(1..=idp_core::cas::MAX_TICKET_TTL).contains(&ttl) {
            bail!("ticket_ttl is 1 to {} seconds", idp_core::cas::MAX_TICKET_TTL);
        }
        s.cas.ticket_ttl = Some(ttl);
    }
    if let Some(v) = req.single_logout {
        s.cas.single_logout = v;
    }
    if let Some(xml) = &req.saml_metadata {
        let read =
            idp_core::saml::metadata::service_provider(xml).map_err(|e| anyhow!("the SAML metadata: {e}"))?;
        let previous = std::mem::take(&mut s.saml);
        s.saml = idp_core::saml::SamlSettings {
            name_id_format: if previous.is_empty() {
                read.name_id_format.clone()
            } else {
                previous.name_id_format
            },
            sign_response: previous.sign_response,
            sign_assertion: previous.sign_assertion,
            encrypt_assertions: previous.encrypt_assertions && !read.encryption_certificates.is_empty(),
            idp_initiated: previous.idp_initiated,
            // what an administrator demanded stays demanded
            authn_requests_signed: read.authn_requests_signed || previous.authn_requests_signed,
            metadata_url: req.saml_metadata_url.clone().or(previous.metadata_url),
            ..read
        };
    }
    if let Some(f) = &req.name_id_format {
        let format = match f.as_str() {
            "persistent" => idp_core::saml::NAMEID_PERSISTENT,
            "transient" => idp_core::saml::NAMEID_TRANSIENT,
            "email" => idp_core::saml::NAMEID_EMAIL,
            "unspecified" => idp_core::saml::NAMEID_UNSPECIFIED,
            _ => bail!("name_id_format is persistent, transient, email or unspecified"),
        };
        s.saml.name_id_format = format.into();
        if !s.saml.name_id_formats.iter().any(|x| x == format) {
            s.saml.name_id_formats.push(format.into());
        }
    }
    if let Some(v) = req.authn_requests_signed {
        s.saml.authn_requests_signed = v || s.saml.authn_requests_signed;
    }
    if let Some(v) = req.sign_response {
        s.saml.sign_response = v;
    }
    if let Some(v) = req.sign_assertion {
        s.saml.sign_assertion = v;
    }
    if let Some(v) = req.idp_initiated {
        s.saml.idp_initiated = v;
    }
    if let Some(v) = req.encrypt_assertions {
        if v && s.saml.encryption_certificates.is_empty() {
            bail!("the service provider's metadata has no encryption certificate");
        }
        s.saml.encrypt_assertions = v;
    }
    if !s.saml.is_empty() && !s.saml.sign_response && !s.saml.sign_assertion {
        bail!("a SAML service provider gets its response or its assertion signed, or both");
    }
    if let Some(callbacks) = &req.proxy_callbacks {
        if callbacks.len() > 20 {
            bail!("a CAS service has at most 20 proxy callbacks");
        }
        callbacks.iter().try_for_each(|p| idp_core::cas::valid_callback(p).map_err(|e| anyhow!(e)))?;
        s.cas.proxy_callbacks = callbacks.clone();
    }
    if let Some(p) = &req.purposes {
        s.purposes = p.clone();
    }
    let granted: Vec<&str> = s.scope.split(' ').collect();
    for (scope, text) in &s.purposes {
        if !granted.contains(&scope.as_str()) {
            bail!("a purpose is for one of the client's scopes, not {scope:?}");
        }
        if text.trim().is_empty() || text.chars().count() > 200 {
            bail!("a purpose is 1 to 200 characters");
        }
    }
    match req.consent.as_deref() {
        None => {}
        Some("ask") => s.statutory = false,
        Some("statutory") => s.statutory = true,
        Some(_) => bail!("consent is ask or statutory"),
    }
    if let Some(acr) = &req.min_acr {
        match acr.as_str() {
            "" => s.min_acr = None,
            a if idp_core::policy::OFFERED.contains(&a) => s.min_acr = Some(a.into()),
            _ => bail!("min_acr is aal1 or aal2"),
        }
    }
    if let Some(level) = req.min_realname_level {
        match level {
            0 => s.min_realname_level = None,
            1..=4 => s.min_realname_level = Some(level),
            _ => bail!("min_realname_level is 0 (none) to 4"),
        }
    }
    if let Some(u) = &req.upstream {
        s.upstream = match u.as_str() {
            "" => None,
            id if crate::ops::valid_slug(id) => Some(id.into()),
            _ => bail!("upstream is the id of one of the tenant's upstream identity providers"),
        };
    }
    if let Some(c) = &req.contexts {
        if c.is_empty() || c.iter().any(|x| !matches!(x.as_str(), "self" | "staff" | "enterprise")) {
            bail!("contexts are some of self, staff, enterprise");
        }
        s.contexts = c.clone();
    }
    if let Some(sector) = &req.sector {
        s.sector = match sector.as_str() {
            "" => None,
            u if url::Url::parse(u).is_ok_and(|u| u.scheme() == "https" && u.host().is_some()) => {
                Some(u.into())
            }
            _ => bail!("a sector is an https URI"),
        };
    }
    if let Some(f) = &req.access_token_format {
        s.access_token_format = match f.as_str() {
            "jwt" => AccessTokenFormat::Jwt,
            "opaque" => AccessTokenFormat::Opaque,
            _ => bail!("access_token_format is jwt or opaque"),
        };
    }
    if let Some(alg) = &req.id_token_signed_response_alg {
        s.id_token_alg = SigningAlg::parse(alg)
            .ok_or_else(|| anyhow!("the ID token algorithm is ES256, RS256, PS256, EdDSA or SGD_SM3_SM2"))?;
    }
    if let Some(ttl) = req.access_token_ttl {
        if !(30..=idp_core::keys::MAX_TOKEN_LIFETIME).contains(&ttl) {
            bail!("access_token_ttl is 30 to 86400 seconds");
        }
        s.access_token_ttl = ttl;
    }
    if let Some(place) = &req.location {
        let place = place.trim();
        if place.chars().count() > 100 || place.chars().any(char::is_control) {
            bail!("a location has at most 100 characters");
        }
        s.location = (!place.is_empty()).then(|| place.to_string());
    }
    for (given, field) in [
        (&req.backchannel_logout_uri, &mut s.backchannel_logout_uri),
        (&req.frontchannel_logout_uri, &mut s.frontchannel_logout_uri),
    ] {
        match given.as_deref() {
            None => {}
            Some("") => *field = None,
            Some(uri) => {
                idp_core::logout::valid_uri(uri).map_err(|e| anyhow!(e))?;
                *field = Some(uri.to_string());
            }
        }
    }
    if let Some(list) = &req.resources {
        list.iter().try_for_each(|r| check_resource(r))?;
        s.resources = list.clone();
    }
    match req.resource_uri.as_deref() {
        None => {}
        Some("") => s.resource_uri = None,
        Some(r) => {
            check_resource(r)?;
            s.resource_uri = Some(r.to_string());
        }
    }
    match req.refresh_reuse_seconds {
        None => {}
        Some(-1) => s.refresh_reuse_seconds = None,
        Some(n) if (0..=idp_core::model::MAX_REFRESH_REUSE_SECONDS).contains(&n) => {
            s.refresh_reuse_seconds = Some(n)
        }
        Some(_) => bail!("refresh_reuse_seconds is 0 to 60 (-1: the tenant's default)"),
    }
    if let Some(admin) = req.admin_client {
        if !admin && s.admin_client {
            s.scope =
                s.scope.split(' ').filter(|x| *x != idp_core::admin::SCOPE).collect::<Vec<_>>().join(" ");
        }
        s.admin_client = admin;
    }
    if let Some(ttl) = req.refresh_token_ttl {
        if !(60..=90 * 86_400).contains(&ttl) {
            bail!("refresh_token_ttl is 60 seconds to 90 days");
        }
        s.refresh_token_ttl = ttl;
    }
    Ok(())
}

/// A resource identifier (RFC 8707 §2): an absolute https URI (http only on loopback, for
/// development) without a fragment.
/// A client's algorithm must be one its tenant's cryptography profile has keys for.
fn check_profile_alg(suite: &idp_core::suite::Suite, s: &ClientSettings) -> anyhow::Result<()> {
    if !suite.allows(s.id_token_alg) {
        bail!(
            "the tenant's cryptography profile ({}) signs with {}",
            suite.profile.as_str(),
            suite.alg_names().join(", ")
        );
    }
    Ok(())
}

pub fn check_resource(r: &str) -> anyhow::Result<()> {
    let ok = r.len() <= 512
        && url::Url::parse(r).is_ok_and(|u| {
            u.fragment().is_none()
                && (u.scheme() == "https"
                    || (u.scheme() == "http"
                        && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))))
        });
    if !ok {
        bail!("a resource is an absolute https URI without a fragment (at most 512 characters)");
    }
    Ok(())
}

/// A kiosk's tokens are short-lived (docs/domain.md); it has no use for redirect URIs. A CAS
/// service has service URLs and nothing of OAuth's; only a CAS service has service URLs.
fn type_limits(t: ClientType, s: &ClientSettings) -> anyhow::Result<()> {
    if t == ClientType::Cas {
        if s.cas.services.is_empty() {
            bail!("a CAS service needs at least one service URL");
        }
        if !s.redirect_uris.is_empty() || !s.post_logout_redirect_uris.is_empty() || !s.resources.is_empty() {
            bail!("a CAS service has service URLs, not redirect URIs or resources");
        }
        if s.backchannel_logout_uri.is_some() || s.frontchannel_logout_uri.is_some() {
            bail!("a CAS service is told of logouts by CAS single logout (single_logout)");
        }
        if s.scope.split(' ').any(|x| x == "offline_access" || x == "admin") {
            bail!("a CAS service receives no tokens: offline_access and admin are not for it");
        }
        return Ok(());
    }
    if !s.cas.is_empty() {
        bail!("only a CAS service (type cas) has services, ticket_ttl and single_logout");
    }
    if t != ClientType::Kiosk {
        return Ok(());
    }
    if s.access_token_ttl > idp_core::device::KIOSK_MAX_ACCESS_TTL {
        bail!("a kiosk's access_token_ttl is at most {} seconds", idp_core::device::KIOSK_MAX_ACCESS_TTL);
    }
    if !s.redirect_uris.is_empty() {
        bail!("a kiosk has no redirect URIs (it signs in with the device grant)");
    }
    Ok(())
}

impl Ops {
    /// `req` with the metadata fetched from `saml_metadata_url` (through the outbound rules, at
    /// most 256 KiB, 10 s) when no metadata was given inline.
    /// The upstream a client requires is one of the tenant's.
    pub(crate) async fn check_upstream(&self, slug: &str, s: &ClientSettings) -> anyhow::Result<()> {
        if let Some(id) = &s.upstream
            && !self.upstreams(slug).await?.iter().any(|u| &u.id == id)
        {
            bail!("the tenant has no upstream identity provider {id:?}");
        }
        Ok(())
    }

    async fn with_fetched_metadata(&self, req: &ClientRequest) -> anyhow::Result<ClientRequest> {
        let mut req = req.clone();
        let (Some(url), None) = (&req.saml_metadata_url, &req.saml_metadata) else { return Ok(req) };
        let policy = crate::outbound::Policy::new(&self.config.outbound)?;
        policy.check_url(url).map_err(|e| anyhow!("{url}: {e}"))?;
        let http = policy.client(std::time::Duration::from_secs(10)).build()?;
        let res = http
            .get(url)
            .send()
            .await
            .map_err(|e| anyhow!("fetching the metadata failed: {}", e.without_url()))?;
        if !res.status().is_success() {
            bail!("fetching the metadata failed: HTTP {}", res.status().as_u16());
        }
        let body =
            res.bytes().await.map_err(|e| anyhow!("fetching the metadata failed: {}", e.without_url()))?;
        if body.len() > 256 * 1024 {
            bail!("the metadata is larger than 256 KiB");
        }
        req.saml_metadata =
            Some(String::from_utf8(body.to_vec()).map_err(|_| anyhow!("the metadata is not UTF-8"))?);
        Ok(req)
    }

    /// A CAS service's URLs may not overlap another service's (enabled or not) in the tenant:
    /// the other could otherwise receive its tickets, or it theirs.
    async fn check_cas_overlap(
        &self,
        slug: &str,
        id: Option<&str>,
        s: &ClientSettings,
    ) -> anyhow::Result<()> {
        if s.cas.services.is_empty() && s.saml.is_empty() {
            return Ok(());
        }
        let tenant = self.tenant(slug).await?;
        for other in self.store.list_clients(&tenant.id).await? {
            if Some(other.client_id.as_str()) == id {
                continue;
            }
            // a SAML service provider's entity ID is its name in every message: one per tenant
            if !s.saml.is_empty() && other.settings.saml.entity_id == s.saml.entity_id {
                bail!("this entity ID cannot be registered");
            }
            if other.client_type != ClientType::Cas {
                continue;
            }
            for mine in &s.cas.services {
                if let Some(theirs) =
                    other.settings.cas.services.iter().find(|t| idp_core::cas::overlaps(mine, t))
                {
                    bail!("{mine} overlaps {theirs}, a service URL already registered in this tenant");
                }
            }
        }
        Ok(())
    }

    /// Registers a client; its secret (web, service) is in the answer, once.
    pub async fn register_client_by(
        &self,
        slug: &str,
        req: &ClientRequest,
        organisation_id: Option<String>,
        by: &str,
    ) -> anyhow::Result<(Client, Option<String>)> {
        let client_type = match req.client_type.as_deref() {
            Some("web") => ClientType::Web,
            Some("spa") => ClientType::Spa,
            Some("service") => ClientType::Service,
            Some("kiosk") => ClientType::Kiosk,
            Some("cas") => ClientType::Cas,
            Some("saml") => ClientType::Saml,
            _ => bail!("type is web, spa, service, kiosk, cas or saml"),
        };
        let mut settings = ClientSettings::default();
        if client_type == ClientType::Service && req.scope.is_none() {
            settings.scope = "api".into();
        }
        if client_type == ClientType::Kiosk {
            settings.scope = "openid profile".into();
            settings.access_token_ttl = 300;
        }
        if matches!(client_type, ClientType::Cas | ClientType::Saml) {
            settings.scope = "openid profile".into();
        }
        let suite = idp_core::suite::Suite::of(&self.tenant(slug).await?.settings.crypto);
        settings.id_token_alg = suite.default_alg();
        let req = &self.with_fetched_metadata(req).await?;
        apply(&mut settings, req)?;
        self.check_upstream(slug, &settings).await?;
        check_profile_alg(&suite, &settings)?;
        type_limits(client_type, &settings)?;
        self.check_cas_overlap(slug, None, &settings).await?;
        settings.organisation_id = organisation_id;
        let new = NewClient {
            name: req.name.clone().unwrap_or_default(),
            client_type,
            redirect_uris: settings.redirect_uris.clone(),
            post_logout_redirect_uris: settings.post_logout_redirect_uris.clone(),
            scope: Some(settings.scope.clone()),
            settings: Some(settings),
        };
        let (client, secret) = self.add_client(slug, new).await?;
        let detail = serde_json::json!({"client": client.client_id, "name": client.name, "scope": client.settings.scope});
        self.audit_by(&client.tenant_id, "client_registered", None, detail, by).await?;
        Ok((client, secret))
    }

    /// Changes a client (not its type).
    pub async fn update_client_by(
        &self,
        slug: &str,
        id: &str,
        req: &ClientRequest,
        by: &str,
    ) -> anyhow::Result<Client> {
        let mut client = self.client(slug, id).await?;
        if req.client_type.as_deref().is_some_and(|t| t != client.client_type.as_str()) {
            bail!("a client's type cannot change; register a new client");
        }
        if let Some(name) = &req.name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                bail!("a client name has 1-100 characters");
            }
            client.name = name.to_string();
        }
        let req = &self.with_fetched_metadata(req).await?;
        apply(&mut client.settings, req)?;
        if req.upstream.is_some() {
            self.check_upstream(slug, &client.settings).await?;
        }
        if req.id_token_signed_response_alg.is_some() {
            check_profile_alg(
                &idp_core::suite::Suite::of(&self.tenant(slug).await?.settings.crypto),
                &client.settings,
            )?;
        }
        type_limits(client.client_type, &client.settings)?;
        self.check_cas_overlap(slug, Some(id), &client.settings).await?;
        self.check_admin_scope(slug, client.client_type, &mut client.settings)?;
        crate::ops::check_scopes_defined(&self.tenant(slug).await?, &client.settings)?;
        self.check_scim(&client.tenant_id, client.client_type, &client.settings).await?;
        self.check_outbound(&client.settings)?;
        self.check_resources(&client.tenant_id, Some(id), client.client_type, &client.settings).await?;
        if client.client_type.needs_redirect_uri() && client.settings.redirect_uris.is_empty() {
            bail!("web and spa clients need at least one redirect URI");
        }
        self.store.update_client(&client.tenant_id, id, &client.name, &client.settings, None).await?;
        let detail = serde_json::json!({"client": id, "changes": req});
        self.audit_by(&client.tenant_id, "client_updated", None, detail, by).await?;
        Ok(client)
    }

    /// A new secret, returned once; the old one keeps working for `overlap` seconds so the
    /// application can be redeployed without an outage (0: at once no more).
    pub async fn rotate_client_secret_by(
        &self,
        slug: &str,
        id: &str,
        overlap: i64,
        by: &str,
    ) -> anyhow::Result<(Client, String)> {
        let mut client = self.client(slug, id).await?;
        if !client.client_type.is_confidential() {
            bail!("public clients have no secret");
        }
        if !(0..=MAX_OVERLAP).contains(&overlap) {
            bail!("the overlap is 0 to 30 days (in seconds)");
        }
        let secret = random_token(self.env.as_ref(), 32);
        client.settings.previous_secret =
            client.secret_hash.clone().filter(|_| overlap > 0).map(|h| (h, self.now() + overlap));
        let hash = sha256_hex(secret.as_bytes());
        self.store.update_client(&client.tenant_id, id, &client.name, &client.settings, Some(&hash)).await?;
        client.secret_hash = Some(hash);
        let detail = serde_json::json!({"client": id, "overlap_seconds": overlap});
        self.audit_by(&client.tenant_id, "client_secret_rotated", None, detail, by).await?;
        Ok((client, secret))
    }

    pub async fn set_client_disabled_by(
        &self,
        slug: &str,
        id: &str,
        v: bool,
        by: &str,
    ) -> anyhow::Result<Client> {
        self.set_client_disabled(slug, id, v).await?;
        let client = self.client(slug, id).await?;
        let kind = if v { "client_disabled" } else { "client_enabled" };
        self.audit_by(&client.tenant_id, kind, None, serde_json::json!({"client": id}), by).await?;
        Ok(client)
    }
}

/// What the CLI prints and the admin API answers for a client (`idp_proto::ClientInfo`); the
/// secret only when it was just made.
pub fn client_info(c: &Client, secret: Option<String>) -> ClientInfo {
    ClientInfo {
        client_id: c.client_id.clone(),
        client_secret: secret,
        name: c.name.clone(),
        client_type: c.client_type.as_str().into(),
        redirect_uris: c.settings.redirect_uris.clone(),
        post_logout_redirect_uris: c.settings.post_logout_redirect_uris.clone(),
        scope: c.settings.scope.clone(),
        token_endpoint_auth_methods: c
            .allowed_auth_methods()
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        id_token_signed_response_alg: c.settings.id_token_alg.as_str().into(),
        access_token_format: match c.settings.access_token_format {
            AccessTokenFormat::Jwt => "jwt".into(),
            AccessTokenFormat::Opaque => "opaque".into(),
        },
        min_acr: c.settings.min_acr.clone(),
        min_realname_level: c.settings.min_realname_level,
        upstream: c.settings.upstream.clone(),
        disabled: c.disabled,
        organisation_id: c.settings.organisation_id.clone(),
        purposes: c.settings.purposes.clone(),
        consent: if c.settings.statutory { "statutory" } else { "ask" }.into(),
        contexts: c.settings.contexts.clone(),
        sector: c.settings.sector.clone(),
        access_token_ttl: c.settings.access_token_ttl,
        refresh_token_ttl: c.settings.refresh_token_ttl,
        previous_secret_until: c.settings.previous_secret.as_ref().map(|(_, until)| *until),
        location: c.settings.location.clone(),
        backchannel_logout_uri: c.settings.backchannel_logout_uri.clone(),
        frontchannel_logout_uri: c.settings.frontchannel_logout_uri.clone(),
        admin_client: c.settings.admin_client,
        resources: c.settings.resources.clone(),
        resource_uri: c.settings.resource_uri.clone(),
        refresh_reuse_seconds: c.settings.refresh_reuse_seconds,
        cas: (c.client_type == ClientType::Cas).then(|| idp_proto::CasServiceInfo {
            services: c.settings.cas.services.clone(),
            ticket_ttl: c.settings.cas.ticket_ttl(),
            single_logout: c.settings.cas.single_logout,
            proxy_callbacks: c.settings.cas.proxy_callbacks.clone(),
        }),
        saml: (c.client_type == ClientType::Saml).then(|| {
            let s = &c.settings.saml;
            idp_proto::SamlSpInfo {
                entity_id: s.entity_id.clone(),
                acs: s
                    .acs
                    .iter()
                    .filter(|e| e.binding == idp_core::saml::BINDING_POST)
                    .map(|e| e.location.clone())
                    .collect(),
                slo: s.slo.iter().map(|e| e.location.clone()).collect(),
                name_id_format: s.name_id_format.clone(),
                name_id_formats: s.name_id_formats.clone(),
                authn_requests_signed: s.authn_requests_signed,
                sign_response: s.sign_response,
                sign_assertion: s.sign_assertion,
                encrypt_assertions: s.encrypt_assertions,
                idp_initiated: s.idp_initiated,
                signing_certificates: s.signing_certificates.len(),
                metadata_url: s.metadata_url.clone(),
            }
        }),
    }
}

impl Ops {
    /// A SCIM client is a service with both the `scim` scope and a registration (`scim`) whose
    /// mapping keeps its own rules and whose parent organisation is in the tenant.
    pub async fn check_scim(
        &self,
        tenant_id: &str,
        kind: ClientType,
        settings: &ClientSettings,
    ) -> anyhow::Result<()> {
        let scoped = settings.scope.split(' ').any(|s| s == idp_core::scim::SCOPE);
        match &settings.scim {
            None if scoped => {
                bail!("a client with the scim scope needs its SCIM registration (scim.parent, scim.roles)")
            }
            None => Ok(()),
            Some(_) if kind != ClientType::Service => bail!("only a service client provisions by SCIM"),
            Some(_) if !scoped => bail!("a SCIM registration needs the scim scope"),
            Some(scim) => {
                scim.check().map_err(|e| anyhow!(e))?;
                if self.store.organisation(tenant_id, &scim.parent).await?.is_none() {
                    bail!("scim.parent: there is no organisation {:?} in this tenant", scim.parent);
                }
                Ok(())
            }
        }
    }
}
