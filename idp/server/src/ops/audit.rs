//! The audit trail for operators and auditors: verifying every chain (`idp audit verify`) and
//! searching and exporting a tenant's records as JSON or CSV (`idp audit export`, the admin
//! API). Records are only ever appended (database triggers refuse changes; the chains reveal
//! changes made around them), and none is ever removed: retention is unlimited, above the
//! 180 days docs/domain.md demands. Signed checkpoints kept outside the database
//! (`crate::outbound::anchor`) catch what the chains alone cannot: a cut tail with a rewound head, a
//! deleted chain.

use idp_core::audit::{self, ChainedRecord, Filter, Problem};
use serde::Serialize;

use crate::ops::Ops;

/// One chain's verification.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    pub chain: String,
    pub records: i64,
    pub problems: Vec<Problem>,
}

/// Every chain's verification, and how many records predate chaining.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub chains: Vec<ChainReport>,
    pub unchained: i64,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.chains.iter().all(|c| c.problems.is_empty())
    }
}

const PAGE: i64 = 2000;

impl Ops {
    /// Walks every chain from its first record to its head.
    pub async fn verify_audit(&self) -> anyhow::Result<AuditReport> {
        self.verify_audit_of(None).await
    }

    /// [`Ops::verify_audit`] for one tenant's chain only (`Some(tenant_id)`): what a tenant's
    /// audit administrator may see. The count of records not yet chained is the deployment's,
    /// so it is reported only for the whole.
    pub async fn verify_audit_of(&self, only: Option<&str>) -> anyhow::Result<AuditReport> {
        let anchors = self.read_anchors()?;
        let key = audit::chain_key(&self.kek);
        let mut chains = vec![];
        // per chain: its last sequence number and the hashes at the checkpointed numbers
        let mut walked: std::collections::HashMap<String, (i64, std::collections::HashMap<i64, String>)> =
            Default::default();
        let heads = self.store.audit_heads().await?;
        let wanted = |chain: &str| only.is_none_or(|t| audit::chain_of(Some(t)) == chain);
        for (chain, head_seq, head_hash) in heads.into_iter().filter(|(c, ..)| wanted(c)) {
            let anchored = anchors.chains.get(&chain);
            let mut hashes = std::collections::HashMap::new();
            let mut last = 0;
            let mut v = audit::Verifier::default();
            let mut after = 0;
            loop {
                let page = self.store.audit_chain(&chain, after, PAGE).await?;
                for r in &page {
                    v.feed(&key, r);
                    last = r.seq;
                    if anchored.is_some_and(|a| a.contains_key(&r.seq)) {
                        hashes.insert(r.seq, r.hash.clone());
                    }
                }
                match page.last() {
                    Some(r) if page.len() as i64 == PAGE => after = r.seq,
                    _ => break,
                }
            }
            let (records, problems) = v.finish(Some((head_seq, &head_hash)));
            walked.insert(chain.clone(), (last, hashes));
            chains.push(ChainReport { chain, records, problems });
        }
        let unchained = if only.is_none() { self.store.audit_unchained().await? } else { 0 };
        let mut report = AuditReport { chains, unchained };
        self.check_anchors(&anchors, &walked, &mut report, only);
        Ok(report)
    }

    /// A tenant's records matching `filter`, newest first.
    pub async fn search_audit(&self, slug: &str, filter: &Filter) -> anyhow::Result<Vec<ChainedRecord>> {
        let tenant = self.tenant(slug).await?;
        Ok(self.store.audit_search(&tenant.id, filter).await?)
    }
}

/// Records as CSV (RFC 4180): a header line, then one line per record; the detail is its JSON.
pub fn to_csv(records: &[ChainedRecord]) -> String {
    let mut out = String::from("seq,at,kind,account_id,client_id,ip,detail,hash\r\n");
    for r in records {
        let cells = [
            r.seq.to_string(),
            idp_core::identifiers::CalendarDate::rfc3339_utc(r.at),
            r.kind.clone(),
            r.account_id.clone().unwrap_or_default(),
            r.client_id.clone().unwrap_or_default(),
            r.ip.clone().unwrap_or_default(),
            r.detail.clone(),
            r.hash.clone(),
        ];
        out.push_str(&cells.iter().map(|c| idp_proto::csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_quotes_and_defuses() {
        let r = idp_core::audit::ChainedRecord {
            chain: "t".into(),
            seq: 7,
            prev_hash: String::new(),
            hash: "ab".into(),
            tenant_id: Some("t".into()),
            kind: "=cmd()".into(),
            account_id: None,
            client_id: Some("c,1".into()),
            ip: None,
            detail: "{\"a\":\"b\"}".into(),
            at: 0,
        };
        let csv = super::to_csv(&[r]);
        assert_eq!(
            csv,
            "seq,at,kind,account_id,client_id,ip,detail,hash\r\n7,1970-01-01T00:00:00Z,'=cmd(),,\"c,1\",,\"{\"\"a\"\":\"\"b\"\"}\",ab\r\n"
        );
    }
}
