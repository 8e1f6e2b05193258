//! Tenants for the admin API ("Tenants"): create (optionally as a sandbox), list,
//! disable and enable; a tenant's own rules (offered factors, sessions, lockout); and, in a
//! sandbox, synthetic people for integrators to sign in as. Every change is audited with the
//! administrator's identity.

use anyhow::{anyhow, bail};
use idp_core::model::{OfferedFactors, RealName, Tenant, TenantPolicy};
use idp_core::suite::Suite;

use idp_proto::SyntheticPerson;

use crate::ops::{NewAccount, Ops};

impl Ops {
    /// What the CLI prints and the admin API answers for a tenant (`idp_proto::TenantInfo`).
    pub fn tenant_info(&self, t: &Tenant) -> idp_proto::TenantInfo {
        idp_proto::TenantInfo {
            slug: t.slug.clone(),
            name: t.name.clone(),
            issuer: self.config.issuer(&t.slug),
            disabled: t.disabled,
            created_at: t.created_at,
        }
    }

    pub async fn create_tenant_by(
        &self,
        slug: &str,
        name: Option<&str>,
        sandbox: bool,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        let mut tenant = self.add_tenant(slug, name).await?;
        if sandbox {
            tenant.settings.sandbox = true;
            self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
        }
        let detail = serde_json::json!({"slug": slug, "sandbox": sandbox});
        self.audit_by(&tenant.id, "tenant_created", None, detail, by).await?;
        Ok(tenant)
    }

    pub async fn set_tenant_disabled_by(
        &self,
        slug: &str,
        disabled: bool,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        let mut tenant = self.tenant(slug).await?;
        if slug == self.config.admin_tenant && disabled {
            bail!("the administrators' own tenant cannot be disabled");
        }
        self.store.set_tenant_disabled(&tenant.id, disabled).await?;
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        tenant.disabled = disabled;
        let kind = if disabled { "tenant_disabled" } else { "tenant_enabled" };
        self.audit_by(&tenant.id, kind, None, serde_json::json!({"slug": slug}), by).await?;
        Ok(tenant)
    }

    /// The tenant's own rules: offered factors (by name, as `idp tenant factors`) and session
    /// and lockout policy; `None` leaves a part as it is.
    pub async fn set_tenant_rules_by(
        &self,
        slug: &str,
        factors: Option<&[String]>,
        policy: Option<TenantPolicy>,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        let mut tenant = self.tenant(slug).await?;
        if let Some(names) = factors {
            let offered = OfferedFactors::only(names).map_err(|e| anyhow!(e))?;
            // administrators sign in with two factors: their tenant keeps offering one that works
            // here (passkeys and security keys need WebAuthn, which needs an https public URL with
            // a domain name)
            let webauthn = idp_core::passkey::RelyingParty::new(&self.config.public_url(), "idp").is_ok();
            let usable = offered.totp || (webauthn && (offered.passkeys || offered.security_keys));
            if slug == self.config.admin_tenant && !usable {
                bail!(
                    "the administrators' tenant must offer a second factor (totp, passkeys or security_keys): \
                     without one no administrator could sign in"
                );
            }
            tenant.settings.factors = offered;
        }
        if let Some(p) = policy {
            let within = |v: Option<i64>, lo: i64, hi: i64, what: &str| match v {
                Some(x) if !(lo..=hi).contains(&x) => Err(anyhow!("{what} is {lo} to {hi}")),
                _ => Ok(()),
            };
            within(p.session_idle_seconds, 60, 86_400, "session_idle_seconds")?;
            within(p.session_absolute_seconds, 300, 30 * 86_400, "session_absolute_seconds")?;
            within(p.lockout_threshold, 3, 20, "lockout_threshold")?;
            within(p.lockout_seconds, 60, 86_400, "lockout_seconds")?;
            within(p.password_min_length, 8, 64, "password_min_length")?;
            within(p.password_min_classes, 3, 4, "password_min_classes")?;
            within(p.refresh_reuse_seconds, 0, 60, "refresh_reuse_seconds")?;
            if p.api_scopes.len() > 100
                || p.api_scopes.iter().any(|s| {
                    s.is_empty()
                        || s.len() > 64
                        || idp_core::scope::parse(s).map(|v| v.len() != 1).unwrap_or(true)
                })
            {
                bail!("api_scopes are at most 100 scope tokens (RFC 6749 §3.3) of 1-64 characters");
            }
            if let Some(tz) = &p.time_zone
                && crate::state::clock::time_zone(Some(tz)).is_none()
            {
                bail!("time_zone is an IANA time zone name, such as Asia/Shanghai");
            }
            let idle = p.session_idle_seconds.unwrap_or(self.config.sessions.idle_seconds);
            let absolute = p.session_absolute_seconds.unwrap_or(self.config.sessions.absolute_seconds);
            if idle >= absolute {
                bail!(
                    "session_idle_seconds ({idle}) must be shorter than session_absolute_seconds ({absolute}): a \
                     session ends at the first of the two"
                );
            }
            tenant.settings.policy = p;
        }
        self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let s = &tenant.settings;
        let detail = serde_json::json!({"factors": s.factors, "policy": s.policy});
        self.audit_by(&tenant.id, "tenant_settings_set", None, detail, by).await?;
        Ok(tenant)
    }

    /// The tenant's name, logo and colours on its pages (checked, see `idp_core::branding`);
    /// audited with the logo's digest, not the image.
    pub async fn set_tenant_branding_by(
        &self,
        slug: &str,
        branding: idp_core::branding::Branding,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        let mut tenant = self.tenant(slug).await?;
        tenant.settings.branding = branding.checked().map_err(|e| anyhow!(e))?;
        self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let b = &tenant.settings.branding;
        let mut detail = b.summary();
        if let Some(logo) = &b.logo {
            detail["logo"]["sha256"] = idp_core::crypto::sha256_hex(&logo.bytes()).into();
        }
        self.audit_by(&tenant.id, "tenant_branding_set", None, detail, by).await?;
        Ok(tenant)
    }

    /// `count` synthetic people for a sandbox tenant, each bound at real-name level 2 with a
    /// synthetic identity the simulator matches and a verified phone.
    pub async fn synthetic_people_by(
        &self,
        slug: &str,
        count: usize,
        by: &str,
    ) -> anyhow::Result<Vec<SyntheticPerson>> {
        let tenant = self.tenant(slug).await?;
        if !tenant.settings.sandbox {
            bail!("synthetic people are for sandbox tenants only");
        }
        if !(1..=50).contains(&count) {
            bail!("1 to 50 people at a time");
        }
        let env = self.env.as_ref();
        let mut out = vec![];
        for _ in 0..count {
            let tag: String = idp_core::crypto::random_token(env, 6).to_lowercase().replace(['-', '_'], "x");
            let digits: String = idp_core::crypto::sha256_hex(tag.as_bytes())
                .bytes()
                .filter(u8::is_ascii_digit)
                .chain(std::iter::repeat(b'0'))
                .take(9)
                .map(char::from)
                .collect();
            // born on one of 1990-01-01..28, a sequence whose last two digits are not 96-99
            // (the simulator's failures)
            let n: u32 = digits.parse().unwrap_or(1);
            let day = 1 + n % 28;
            let mut seq = (n / 28) % 950 + 1;
            if (96..=99).contains(&(seq % 100)) {
                seq -= 10;
            }
            let id_number = with_check(&format!("220102199001{day:02}{seq:03}"));
            let username = format!("sandbox-{tag}");
            let password = format!("Sbx-{}-9a", idp_core::crypto::random_token(env, 9));
            let phone = format!("+86139{}", &digits[..8]);
            let name = format!("测试{}", &tag[..3]);
            let account = self
                .add_account(
                    slug,
                    NewAccount {
                        username: username.clone(),
                        password: Some(password.clone()),
                        name: Some(name.clone()),
                        phone: None,
                        email: None,
                        roles: vec![],
                    },
                )
                .await?;
            self.store.set_account_phone(&tenant.id, &account.id, &phone, self.now()).await?;
            let record = RealName {
                account_id: account.id.clone(),
                tenant_id: tenant.id.clone(),
                level: idp_core::realname::PROVIDER_MATCH,
                name: name.clone(),
                id_type: "resident_id".into(),
                id_sealed: idp_core::realname::seal_id(
                    &self.kek,
                    env,
                    Suite::of(&tenant.settings.crypto).seal_alg(),
                    &tenant.id,
                    &id_number,
                ),
                id_hash: idp_core::realname::id_hash(&self.kek, &tenant.id, &id_number),
                id_masked: idp_core::identifiers::mask_id_number(&id_number),
                method: "provider".into(),
                verifier: "simulator".into(),
                verified_at: self.now(),
                evidence: Some(format!("sandbox-{tag}")),
            };
            if !self.store.put_real_name(&record).await? {
                continue; // the same synthetic number drawn twice: skip this one
            }
            out.push(SyntheticPerson { username, password, name, id_number, phone });
        }
        let detail = serde_json::json!({"people": out.len()});
        self.audit_by(&tenant.id, "synthetic_people_created", None, detail, by).await?;
        Ok(out)
    }
}

/// 17 digits completed with the ISO 7064 MOD 11-2 check character.
fn with_check(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_numbers_validate() {
        let n = super::with_check("22010219900101001");
        assert!(idp_core::identifiers::parse_person_id(&n, 2_000_000_000).is_ok(), "{n}");
    }
}
