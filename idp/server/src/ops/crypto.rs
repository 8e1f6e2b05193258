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
use idp_core::model::{CryptoProfile, SigningAlg, Tenant};
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

/// The counter that says a tenant's data is all sealed under the profile it moved to at
/// `changed_at` (`0`: never moved).
fn resealed_marker(tenant: &Tenant) -> String {
    format!("resealed:{}:{}", tenant.id, tenant.settings.crypto.changed_at.unwrap_or(0))
}

/// An SM2 user identifier: ENTL is 16 bits of bit length (GB/T 32918.2 §5.5); kept to short
/// printable ASCII so that every relying party can type it.
pub fn check_sm2_user_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("sm2_user_id is 1-64 printable ASCII characters (none: GM/T 0009's 1234567812345678)");
    }
    Ok(())
}

/// The associated data a value of `column` was sealed with.
fn context(column: SealedColumn, tenant_id: &str, key: &str) -> String {
    match column {
        SealedColumn::SigningKey => idp_core::keys::seal_context(key),
        SealedColumn::TotpSeed => crate::ops::totp_context(key),
        SealedColumn::IdNumber => idp_core::realname::id_context(tenant_id),
        SealedColumn::UpstreamSecret => crate::ops::upstreams::upstream_context(tenant_id, key),
    }
}

impl Ops {
    /// Whether tenant `slug` may move to `profile`. The built-in console signs in through the
    /// administrators' tenant and verifies its ID tokens with the openidconnect crate, which
    /// knows no SM2: that tenant may be `dual` (SM2 published and offered beside ES256), not `sm`.
    pub fn check_profile_allowed(&self, slug: &str, profile: CryptoProfile) -> anyhow::Result<()> {
        if profile == CryptoProfile::Sm && self.config.console.enabled && slug == self.config.admin_tenant {
            bail!(
                "the administrators' tenant cannot move to \"sm\" while the built-in console signs in through \
                 it (the console verifies ES256 ID tokens): use \"dual\", which publishes and offers SM2 beside them"
            );
        }
        Ok(())
    }

    /// Moves the tenant to a cryptography profile (`idp_core::suite`) and/or sets its SM2 user
    /// identifier (`Some(None)`: back to the default). Each algorithm the profile adds gets a
    /// fresh key that signs at once (replacing any older key of that algorithm, as a rotation
    /// does), and so does SM2 when the identifier changes (each SM2 key keeps the identifier
    /// it was made with, so what it signed stays verifiable). Keys of algorithms the profile
    /// leaves stop signing now and stay published until every token they signed has expired.
    /// The keys are made first: if that fails, nothing has changed. On every node within
    /// `TENANT_POLL`.
    pub async fn set_tenant_crypto_by(
        &self,
        slug: &str,
        profile: Option<CryptoProfile>,
        sm2_user_id: Option<Option<String>>,
        by: &str,
    ) -> anyhow::Result<Tenant> {
        if let Some(Some(id)) = &sm2_user_id {
            check_sm2_user_id(id)?;
        }
        if let Some(p) = profile {
            self.check_profile_allowed(slug, p)?;
        }
        let mut tenant = self.tenant(slug).await?;
        let before = Suite::of(&tenant.settings.crypto);
        let c = &mut tenant.settings.crypto;
        if let Some(id) = sm2_user_id {
            c.sm2_user_id = id;
        }
        let now = self.now();
        if let Some(p) = profile
            && p != c.profile
        {
            c.profile = p;
            c.changed_at = Some(now);
        }
        let after = Suite::of(&tenant.settings.crypto);
        let id_changed = after.sm2_user_id != before.sm2_user_id;
        let new_algs: Vec<SigningAlg> = after
            .algs()
            .iter()
            .copied()
            .filter(|a| !before.allows(*a) || (*a == SigningAlg::SM2 && id_changed))
            .collect();
        for &alg in &new_algs {
            self.install_key(&tenant.id, alg, &after).await?;
        }
        self.store.set_tenant_settings(&tenant.id, &tenant.settings).await?;
        self.store.bump_change(crate::state::TENANTS_CHANGED).await?;
        let detail = serde_json::json!({
            "profile": after.profile.as_str(), "from": before.profile.as_str(),
            "sm2_user_id": after.sm2_user_id, "algs": after.alg_names(),
            "new_keys": new_algs.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        });
        self.audit_by(&tenant.id, idp_core::audit::PROFILE_EVENT, None, detail, by).await?;
        Ok(tenant)
    }

    /// Re-seals up to `budget` of the tenant's sealed values that are not under its profile's
    /// algorithm (all of them with `None`). When it has reached them all — none unreadable,
    /// none changed under it, and the move a minute old, so that every node seals the new way —
    /// it says so in a counter named for the move, which [`Ops::reseal_on_schedule`] reads:
    /// the next move has a new name and starts over.
    pub async fn reseal(&self, tenant: &Tenant, budget: Option<u64>) -> anyhow::Result<Resealed> {
        let target = Suite::of(&tenant.settings.crypto).seal_alg();
        let mut done = Resealed { complete: true, ..Resealed::default() };
        let mut left = budget.unwrap_or(u64::MAX);
        'columns: for column in SealedColumn::ALL {
            let mut after = String::new();
            loop {
                let page = self.store.sealed_values(&tenant.id, column, &after, 200).await?;
                let Some((last, _)) = page.last() else { break };
                after = last.clone();
                for (key, sealed) in &page {
                    // signing keys are the module's to re-seal (or to leave, if it keeps them)
                    let module = (column == SealedColumn::SigningKey)
                        .then(|| self.module.reseal(self.env.as_ref(), sealed, key, target));
                    if matches!(module, Some(Ok(None)))
                        || (module.is_none() && Kek::sealed_with(sealed) == target)
                    {
                        done.already += 1;
                        continue;
                    }
                    if left == 0 {
                        done.complete = false;
                        break 'columns;
                    }
                    left -= 1;
                    let new = if let Some(resealed) = module {
                        resealed.ok().flatten()
                    } else {
                        let ctx = context(column, &tenant.id, key);
                        self.kek
                            .open(sealed, &ctx)
                            .ok()
                            .map(|plain| self.kek.seal_with(self.env.as_ref(), target, &plain, &ctx))
                    };
                    let Some(new) = new else {
                        done.unreadable.push(format!("{}:{key}", column.as_str()));
                        continue;
                    };
                    if self.store.replace_sealed(&tenant.id, column, key, sealed, &new).await? {
                        done.resealed += 1;
                    } else {
                        // changed meanwhile: looked at again on the next run
                        done.complete = false;
                    }
                }
            }
        }
        let settled = tenant.settings.crypto.changed_at.is_none_or(|at| self.now() >= at + 60);
        if done.complete && done.unreadable.is_empty() && settled {
            self.store.bump_change(&resealed_marker(tenant)).await?;
        }
        if done.resealed > 0 {
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
            if !tenant.disabled && self.store.change_version(&resealed_marker(&tenant)).await? == 0 {
                total += self.reseal(&tenant, Some(budget)).await?.resealed;
            }
        }
        Ok(total)
    }
}
