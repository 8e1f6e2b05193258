//! Checkpoints of the audit chains, kept where the database cannot rewrite them (docs/domain.md:
//! the audit trail is tamper-evident). The chains reveal an edited, deleted or reordered
//! record, but someone with database access could still cut the newest records and rewind the
//! chain's head, or delete a chain with its head. So, periodically (`[audit]
//! anchor_every_seconds`, by the node holding the housekeeping lease), each chain's head —
//! sequence number and hash — is authenticated with an HMAC under a key derived from the KEK
//! for that chain (`idp_core::audit::Anchor`) and appended as one line to an append-only file (`anchor_file`; make it append-only with
//! `chattr +a`, or ship it off the host) and, when configured, POSTed to an outside collector
//! (`anchor_url`, through the outbound rules). `verify` then checks the newest checkpoint of
//! every chain against the database: the record it names must still exist with that hash.
//!
//! With several nodes each writes its own file while it holds the lease; point `anchor_url` at
//! a collector (or the files at one shared append-only volume) so that every checkpoint lands
//! in one place.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use idp_core::audit::{Anchor, Problem};
use serde::{Deserialize, Serialize};

use crate::ops::Ops;
use crate::ops::audit::{AuditReport, ChainReport};

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

/// The checkpoints of the anchor file that verify, per chain by sequence number, and the
/// numbers of the lines that do not.
pub struct Anchors {
    pub chains: HashMap<String, BTreeMap<i64, String>>,
    pub unverifiable: Vec<(usize, Option<String>)>,
}

impl Ops {
    fn anchor_file(&self) -> PathBuf {
        self.config
            .audit
            .anchor_file
            .clone()
            .unwrap_or_else(|| self.config.data_dir.join("audit-anchors.jsonl"))
    }

    /// Reads the anchor file (none yet: empty).
    pub fn read_anchors(&self) -> anyhow::Result<Anchors> {
        let path = self.anchor_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let mut out = Anchors { chains: HashMap::new(), unverifiable: vec![] };
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match Anchor::read(&self.kek, line) {
                Some(a) => {
                    out.chains.entry(a.chain).or_default().insert(a.seq, a.hash);
                }
                // which chain a bad line claims to be about, for a tenant's own report
                None => out.unverifiable.push((i + 1, claimed_chain(line))),
            }
        }
        Ok(out)
    }

    /// Checkpoints every chain whose head moved since `last` (chain → sequence number, read
    /// from the file when empty); returns how many were written. A chain whose head went back
    /// below its last checkpoint is not checkpointed again (that would bless the cut): it is
    /// logged as an error, and `verify` reports it.
    pub async fn write_audit_anchors(&self, last: &mut HashMap<String, i64>) -> anyhow::Result<usize> {
        if last.is_empty() {
            for (chain, seqs) in self.read_anchors()?.chains {
                if let Some((seq, _)) = seqs.last_key_value() {
                    last.insert(chain, *seq);
                }
            }
        }
        let mut lines = vec![];
        for (chain, seq, hash) in self.store.audit_heads().await? {
            match last.get(&chain) {
                Some(l) if *l == seq => continue,
                Some(l) if *l > seq => {
                    tracing::error!(chain = %chain, anchored = l, head = seq, "an audit chain went back below its checkpoint; not checkpointing it");
                    continue;
                }
                _ => {}
            }
            let anchor = Anchor { chain: chain.clone(), seq, hash, at: self.now() };
            lines.push((chain, seq, anchor.line(&self.kek)));
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
        for (_, _, line) in &lines {
            writeln!(file, "{line}")?;
        }
        file.sync_data()?;
        for (chain, seq, _) in &lines {
            last.insert(chain.clone(), *seq);
        }
        if let Some(url) = &self.config.audit.anchor_url {
            let policy = crate::outbound::Policy::new(&self.config.outbound)?;
            let post = crate::outbound::webhook::SignedPost::new(
                url.clone(),
                None,
                None,
                Default::default(),
                std::time::Duration::from_secs(10),
                2,
                &policy,
            )?;
            for (_, _, line) in &lines {
                post.post(&serde_json::json!({ "anchor": line }).to_string())
                    .await
                    .map_err(|e| anyhow::anyhow!("the anchor collector: {e}"))?;
            }
        }
        Ok(lines.len())
    }

    /// Adds to `report` what the checkpoints say against the walked chains: every verified
    /// checkpoint's record must still be there with its hash (`walked` holds the hashes at the
    /// checkpointed sequence numbers, as the walk found them, and each chain's last sequence
    /// number), no chain may have lost one, and no line may be forged.
    pub fn check_anchors(
        &self,
        anchors: &Anchors,
        walked: &HashMap<String, (i64, HashMap<i64, String>)>,
        report: &mut AuditReport,
        only: Option<&str>,
    ) {
        let wanted = |chain: &str| only.is_none_or(|t| idp_core::audit::chain_of(Some(t)) == chain);
        for (chain, seqs) in anchors.chains.iter().filter(|(c, _)| wanted(c)) {
            let mut problems = vec![];
            match walked.get(chain) {
                None => {
                    let anchored = seqs.keys().next_back().copied().unwrap_or(0);
                    problems.push(Problem::Deleted { anchored });
                }
                Some((last, hashes)) => {
                    if let Some((&anchored, _)) = seqs.last_key_value()
                        && anchored > *last
                    {
                        problems.push(Problem::Shortened { anchored, head: *last });
                    }
                    for (seq, hash) in seqs.iter().filter(|(s, _)| **s <= *last) {
                        if hashes.get(seq) != Some(hash) {
                            problems.push(Problem::Rewritten { seq: *seq });
                        }
                    }
                }
            }
            if problems.is_empty() {
                continue;
            }
            match report.chains.iter_mut().find(|c| c.chain == *chain) {
                Some(c) => c.problems.extend(problems),
                None => report.chains.push(ChainReport { chain: chain.clone(), records: 0, problems }),
            }
        }
        let bad: Vec<Problem> = anchors
            .unverifiable
            .iter()
            .filter(|(_, c)| only.is_none() || c.as_deref().is_some_and(wanted))
            .map(|(line, _)| Problem::Unverifiable { line: *line })
            .collect();
        if !bad.is_empty() {
            report.chains.push(ChainReport { chain: "(anchor file)".into(), records: 0, problems: bad });
        }
    }
}

/// The chain a line claims to be about, before its MAC is checked.
fn claimed_chain(line: &str) -> Option<String> {
    let payload = idp_core::crypto::b64_decode(line.trim().split('.').next()?)?;
    serde_json::from_slice::<serde_json::Value>(&payload).ok()?["chain"].as_str().map(str::to_string)
}
