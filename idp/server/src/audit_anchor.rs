//! Checkpoints of the audit chains, kept where the database cannot rewrite them (DOMAIN.md:
//! the audit trail is tamper-evident). The chains reveal an edited, deleted or reordered
//! record, but someone with database access could still cut the newest records and rewind the
//! chain's head, or delete a chain with its head. So, periodically (`[audit]
//! anchor_every_seconds`, by the node holding the housekeeping lease), each chain's head —
//! sequence number and hash — is signed with its tenant's key (a JWS of type
//! `audit-anchor+jwt`; the administrators' tenant signs the chain of events without a tenant)
//! and appended as one line to an append-only file (`anchor_file`; make it append-only with
//! `chattr +a`, or ship it off the host) and, when configured, POSTed to an outside collector
//! (`anchor_url`, through the outbound rules). `verify` then checks the newest checkpoint of
//! every chain against the database: the record it names must still exist with that hash.
//!
//! With several nodes each writes its own file while it holds the lease; point `anchor_url` at
//! a collector (or the files at one shared append-only volume) so that every checkpoint lands
//! in one place.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use idp_core::audit::{ANCHOR_TYP, Anchor, Problem};
use idp_core::keys::KeySet;
use idp_core::model::SigningAlg;
use serde::{Deserialize, Serialize};

use crate::ops::Ops;
use crate::ops_audit::{AuditReport, ChainReport};

/// `[audit]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The append-only file of checkpoints; default `{data_dir}/audit-anchors.jsonl`.
    pub anchor_file: Option<PathBuf>,
    /// Also POST each checkpoint (`{"anchor": "<jws>"}`) to this collector.
    pub anchor_url: Option<String>,
    /// How often the chains are checkpointed (a chain whose head did not move is skipped);
    /// 0 turns checkpoints off.
    pub anchor_every_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { anchor_file: None, anchor_url: None, anchor_every_seconds: 300 }
    }
}

impl Ops {
    fn anchor_file(&self) -> PathBuf {
        self.config
            .audit
            .anchor_file
            .clone()
            .unwrap_or_else(|| self.config.data_dir.join("audit-anchors.jsonl"))
    }

    /// The signing keys and issuer of the tenant whose chain `chain` is (`-`: the
    /// administrators' tenant).
    async fn chain_signer(&self, chain: &str) -> anyhow::Result<Option<(String, KeySet)>> {
        let tenants = self.store.list_tenants().await?;
        let tenant = match chain {
            "-" => tenants.into_iter().find(|t| t.slug == self.config.admin_tenant),
            id => tenants.into_iter().find(|t| t.id == id),
        };
        let Some(t) = tenant else { return Ok(None) };
        let records = self.store.signing_keys(&t.id).await?;
        let keys =
            KeySet::load(&records, &self.kek, &t.id, self.now()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Some((self.config.issuer(&t.slug), keys)))
    }

    /// Checkpoints every chain whose head moved since `last` (chain → sequence number);
    /// returns how many were written.
    pub async fn write_audit_anchors(&self, last: &mut HashMap<String, i64>) -> anyhow::Result<usize> {
        let mut lines = vec![];
        for (chain, seq, hash) in self.store.audit_heads().await? {
            if last.get(&chain) == Some(&seq) {
                continue;
            }
            let Some((iss, keys)) = self.chain_signer(&chain).await? else { continue };
            let anchor = Anchor { iss, chain: chain.clone(), seq, hash, iat: self.now() };
            let jws =
                keys.sign(SigningAlg::ES256, ANCHOR_TYP, &anchor).map_err(|e| anyhow::anyhow!("{e}"))?;
            lines.push((chain, seq, jws));
        }
        if lines.is_empty() {
            return Ok(0);
        }
        let path = self.anchor_file();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot append to {}: {e}", path.display()))?;
        for (_, _, jws) in &lines {
            writeln!(file, "{jws}")?;
        }
        file.sync_data()?;
        if let Some(url) = &self.config.audit.anchor_url {
            let policy = crate::outbound::Policy::new(&self.config.outbound)?;
            let post = crate::webhook::SignedPost::new(
                url.clone(),
                None,
                None,
                Default::default(),
                std::time::Duration::from_secs(10),
                2,
                &policy,
            )?;
            for (_, _, jws) in &lines {
                post.post(&serde_json::json!({ "anchor": jws }).to_string())
                    .await
                    .map_err(|e| anyhow::anyhow!("the anchor collector: {e}"))?;
            }
        }
        for (chain, seq, _) in &lines {
            last.insert(chain.clone(), *seq);
        }
        Ok(lines.len())
    }

    /// Checks the newest checkpoint of each chain (of `only`'s chain, when given) against the
    /// database, adding what is wrong to `report`.
    pub async fn check_audit_anchors(
        &self,
        report: &mut AuditReport,
        only: Option<&str>,
    ) -> anyhow::Result<()> {
        let path = self.anchor_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        // the newest checkpoint of each chain, by sequence number (line numbers from 1)
        let mut newest: HashMap<String, (usize, Anchor, String)> = HashMap::new();
        let mut unreadable = vec![];
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match unverified(line) {
                Some(a) if only.is_none_or(|t| idp_core::audit::chain_of(Some(t)) == a.chain) => {
                    if newest.get(&a.chain).is_none_or(|(_, n, _)| a.seq >= n.seq) {
                        newest.insert(a.chain.clone(), (i + 1, a, line.to_string()));
                    }
                }
                Some(_) => {}
                None => unreadable.push(i + 1),
            }
        }
        let heads: HashMap<String, i64> =
            self.store.audit_heads().await?.into_iter().map(|(c, seq, _)| (c, seq)).collect();
        for (chain, (line, anchor, jws)) in newest {
            let mut problems = vec![];
            let verified = match self.chain_signer(&chain).await? {
                Some((iss, keys)) => keys.verify::<Anchor>(&jws, &iss, true, self.now()).ok(),
                None => None,
            };
            match verified.filter(|v| *v == anchor && KeySet::typ_of(&jws).as_deref() == Some(ANCHOR_TYP)) {
                None => problems.push(Problem::Unverifiable { line }),
                Some(a) => match heads.get(&a.chain) {
                    None => problems.push(Problem::Deleted { anchored: a.seq }),
                    Some(&head) if head < a.seq => {
                        problems.push(Problem::Shortened { anchored: a.seq, head })
                    }
                    Some(_) => {
                        let at = self.store.audit_chain(&a.chain, a.seq - 1, 1).await?;
                        if at.first().is_none_or(|r| r.seq != a.seq || r.hash != a.hash) {
                            problems.push(Problem::Rewritten { seq: a.seq });
                        }
                    }
                },
            }
            if problems.is_empty() {
                continue;
            }
            match report.chains.iter_mut().find(|c| c.chain == chain) {
                Some(c) => c.problems.extend(problems),
                None => report.chains.push(ChainReport { chain, records: 0, problems }),
            }
        }
        if !unreadable.is_empty() && only.is_none() {
            let problems = unreadable.into_iter().map(|line| Problem::Unverifiable { line }).collect();
            report.chains.push(ChainReport { chain: "(anchor file)".into(), records: 0, problems });
        }
        Ok(())
    }
}

/// A checkpoint's claims, before its signature is checked (to find whose keys check it).
fn unverified(jws: &str) -> Option<Anchor> {
    let payload = jws.trim().split('.').nth(1)?;
    serde_json::from_slice(&idp_core::crypto::b64_decode(payload)?).ok()
}
