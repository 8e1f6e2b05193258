//! A tenant's cryptography profile (docs/cryptography.md): moving it, and re-sealing what the
//! tenant keeps sealed so that its data at rest is under the profile's algorithm (SM4-GCM for a
//! profile with SM algorithms, AES-256-GCM otherwise).
//!
//! Re-sealing runs while the provider serves: every value is opened and sealed again one at a
//! time and written back only if it is still the value read (compare-and-swap), since
//! [`idp_core::crypto::Kek::open`] opens either form, readers never notice, and a value
//! changed meanwhile (a new authenticator, a rotated key) was already sealed the new way. Every
//! node runs a bounded step of it each minute ([`Ops::reseal_on_schedule`]);
//! `idp tenant reseal` runs it to the end at once.

use anyhow::bail;
use idp_core::crypto::Kek;
use idp_core::model::{CryptoProfile, Tenant};
use idp_core::ports::SealedColumn;
use idp_core::suite::Suite;

use crate::ops::Ops;

/// What a re-sealing did, per column: values re-sealed, already right, and unreadable.
#[derive(Debug, Default, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Resealed {
    pub resealed: u64,
    pub already: u64,
    /// Values the KEK does not open (damaged, or sealed under another KEK): left as they are
    /// and reported, never guessed at.
    pub unreadable: Vec<String>,
    /// Whether every value was reached (false when a step's budget ran out first).
    pub complete: bool,
}

/// The associated data a value of `column` was sealed with.
fn context(column: SealedColumn, tenant_id: &str, key: &str) -> String {
    match column {
        SealedColumn::SigningKey => idp_core::keys::seal_context(key),
        SealedColumn::TotpSeed => crate::ops::totp_context(key),
        SealedColumn::IdNumber => idp_core::realname::id_context(tenant_id),
    }
}

impl Ops {
    /// Moves the tenant to a cryptography profile (`idp_core::suite`) and/or sets its SM2 user
    /// identifier. Each algorithm the profile adds gets a fresh key that signs at once (and
    /// replaces any older key of that algorithm, as a rotation does); keys of algorithms it
    /// leaves stop signing now and stay published until every token they signed has expired.
    /// On every node within `TENANT_POLL`.
    pub async fn set_tenant_crypto_by(
        &self,
        slug: &str,
        profile: Option<CryptoProfile>,
        sm2_user_id: Option<Option<String>>,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        let mut tenant = self.tenant(slug).await?;
        let before = Suite::of(&tenant.settings.crypto);
        let c = &mut tenant.settings.crypto;
        if let Some(id) = sm2_user_id {
            // ENTL is 16 bits of bit length (GB/T 32918.2 §5.5); kept to short printable ASCII
            if id
                .as_ref()
                .is_some_and(|id| id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()))
            {
                bail!("sm2_user_id is 1-64 printable ASCII characters (none: GM/T 0009's 1234567812345678)");
            }
            c.sm2_user_id = id;
        }
        if let Some(p) = profile
            && p != c.profile
        {
            c.profile = p;
            c.changed_at = Some(self.now());
            c.resealed = false;
        }
        let after = Suite::of(&tenant.settings.crypto);
        self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
        for &alg in after.algs().iter().filter(|a| !before.allows(**a)) {
            self.rotate_key_by(slug, alg, by).await?;
        }
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let detail = serde_json::json!({
            "profile": after.profile.as_str(), "from": before.profile.as_str(),
            "sm2_user_id": after.sm2_user_id, "algs": after.alg_names(),
        });
        self.audit_by(&tenant.id, idp_core::audit::PROFILE_EVENT, None, detail, by).await?;
        Ok(tenant)
    }

    /// Re-seals up to `budget` of the tenant's sealed values that are not under its profile's
    /// algorithm (all of them with `None`).
    pub async fn reseal(&self, tenant: &Tenant, budget: Option<u64>) -> anyhow::Result<Resealed> {
        let target = Suite::of(&tenant.settings.crypto).seal_alg();
        let mut done = Resealed { complete: true, ..Resealed::default() };
        let mut left = budget.unwrap_or(u64::MAX);
        for column in SealedColumn::ALL {
            let mut after = String::new();
            loop {
                let page = self.store.sealed_values(&tenant.id, column, &after, 200).await?;
                let Some((last, _)) = page.last() else { break };
                after = last.clone();
                for (key, sealed) in &page {
                    if Kek::sealed_with(sealed) == target {
                        done.already += 1;
                        continue;
                    }
                    if left == 0 {
                        done.complete = false;
                        return Ok(done);
                    }
                    left -= 1;
                    let ctx = context(column, &tenant.id, key);
                    let Ok(plain) = self.kek.open(sealed, &ctx) else {
                        done.unreadable.push(format!("{}:{key}", column.as_str()));
                        continue;
                    };
                    let new = self.kek.seal_with(self.env.as_ref(), target, &plain, &ctx);
                    if self.store.replace_sealed(&tenant.id, column, key, sealed, &new).await? {
                        done.resealed += 1;
                    }
                }
            }
        }
        if done.complete && !tenant.settings.crypto.resealed {
            // marked on the tenant as stored now, so that a move meanwhile is not overwritten
            let mut fresh = self.tenant(&tenant.slug).await?;
            if fresh.settings.crypto.profile == tenant.settings.crypto.profile {
                fresh.settings.crypto.resealed = true;
                self.store.set_tenant_settings(&fresh.id, &fresh.settings).await?;
            }
        }
        if done.resealed > 0 {
            // the nodes' loaded keys are unchanged, but a reload shows the new form in `keys`
            self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
            let detail = serde_json::json!({"resealed": done.resealed, "complete": done.complete,
                "unreadable": done.unreadable.len()});
            self.audit(&tenant.id, "tenant_resealed", None, detail).await?;
        }
        Ok(done)
    }

    /// One bounded step of re-sealing for every enabled tenant, run each minute by every node.
    pub async fn reseal_on_schedule(&self, budget: u64) -> anyhow::Result<u64> {
        let mut total = 0;
        for tenant in self.store.list_tenants().await? {
            if !tenant.disabled && !tenant.settings.crypto.resealed {
                total += self.reseal(&tenant, Some(budget)).await?.resealed;
            }
        }
        Ok(total)
    }
}
