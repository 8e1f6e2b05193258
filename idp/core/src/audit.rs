//! The tamper-evident audit trail (docs/domain.md "Security baseline"): records are append-only
//! and each carries the keyed hash of the one before it, per chain (one chain per tenant, `-`
//! for events of no tenant), so that editing, deleting or reordering any record — or cutting
//! off the newest — is detected by [`verify`].
//!
//! The link is an HMAC-SHA-256 under a key derived from the key-encryption key, not a bare
//! hash: someone who can write to the database but does not hold the KEK cannot rebuild a
//! consistent chain after changing it. The chain head (last sequence number and hash) is kept
//! beside the records, updated in the same transaction, so a truncated tail shows too.
//!
//! A tenant on a profile with SM algorithms (`crate::suite`) chains with HMAC-SM3 instead: from
//! the record of its move ([`PROFILE_EVENT`]) on, each link is `sm3:` and the hex of the
//! HMAC-SM3 ([`SM3_LINK`]), and the next follows the one before it. Which MAC a link uses is
//! thus fixed by what the link itself covers (the previous hash, the event and its detail), so
//! the writer needs no tenant settings and [`verify`] recomputes it the same way.

use serde::Serialize;

use crate::crypto::{Kek, MacAlg};

/// The previous hash of a chain's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain an event of `tenant_id` belongs to.
pub fn chain_of(tenant_id: Option<&str>) -> &str {
    tenant_id.unwrap_or("-")
}

/// A stored record with its place in the chain. `detail` is the JSON text exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainedRecord {
    pub chain: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub at: i64,
}

/// The fields a link covers.
pub struct Fields<'a> {
    pub chain: &'a str,
    pub seq: i64,
    pub tenant_id: Option<&'a str>,
    pub kind: &'a str,
    pub account_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: &'a str,
    pub at: i64,
}

/// The key links are made with.
pub fn chain_key(kek: &Kek) -> Kek {
    kek.derive("audit-chain")
}

/// The event of a tenant moving to another cryptography profile (its detail names the profile).
pub const PROFILE_EVENT: &str = "tenant_crypto_set";
/// What a link made with HMAC-SM3 starts with.
pub const SM3_LINK: &str = crate::crypto::SM3_TAG;

/// Whether the record after `prev` is linked with HMAC-SM3: the move to a profile with SM
/// algorithms starts it, the move back to `international` ends it, other records follow.
fn sm3_link(prev: &str, f: &Fields<'_>) -> bool {
    if f.kind == PROFILE_EVENT
        && let Ok(detail) = serde_json::from_str::<serde_json::Value>(f.detail)
        && let Some(profile) = detail["profile"].as_str()
    {
        return profile != "international";
    }
    prev.starts_with(SM3_LINK)
}

/// The hash of a record following `prev`: HMAC-SHA-256 (or HMAC-SM3, see [`SM3_LINK`]) over the
/// length-prefixed fields.
pub fn link(key: &Kek, prev: &str, f: &Fields<'_>) -> String {
    let mac = if sm3_link(prev, f) { MacAlg::HmacSm3 } else { MacAlg::HmacSha256 };
    crate::crypto::tagged_mac(key, mac, &link_input(prev, f))
}

/// What a link's MAC is computed over: each of the previous hash and the fields as a big-endian
/// u64 length and its bytes (`u64::MAX` alone for an absent one).
pub fn link_input(prev: &str, f: &Fields<'_>) -> Vec<u8> {
    let mut buf: Vec<u8> = Vec::with_capacity(256 + f.detail.len());
    let mut put = |v: Option<&[u8]>| match v {
        Some(b) => {
            buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
            buf.extend_from_slice(b);
        }
        None => buf.extend_from_slice(&u64::MAX.to_be_bytes()),
    };
    put(Some(prev.as_bytes()));
    put(Some(f.chain.as_bytes()));
    put(Some(&f.seq.to_be_bytes()));
    put(f.tenant_id.map(str::as_bytes));
    put(Some(f.kind.as_bytes()));
    put(f.account_id.map(str::as_bytes));
    put(f.client_id.map(str::as_bytes));
    put(f.ip.map(str::as_bytes));
    put(Some(f.detail.as_bytes()));
    put(Some(&f.at.to_be_bytes()));
    buf
}

impl ChainedRecord {
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            chain: &self.chain,
            seq: self.seq,
            tenant_id: self.tenant_id.as_deref(),
            kind: &self.kind,
            account_id: self.account_id.as_deref(),
            client_id: self.client_id.as_deref(),
            ip: self.ip.as_deref(),
            detail: &self.detail,
            at: self.at,
        }
    }
}

/// What is wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The record's content does not match its hash: it was edited (or moved).
    Edited { seq: i64 },
    /// The record does not follow the one before it: records between were deleted or the
    /// order was changed.
    BrokenLink { seq: i64 },
    /// Sequence numbers jump: records were deleted.
    Missing { from: i64, to: i64 },
    /// The newest records are gone: the head says `head`, the last record is `last`.
    Truncated { head: i64, last: i64 },
    /// A signed checkpoint (`anchor`) says the chain reached `anchored`; the database's chain
    /// now ends before it (the tail was cut and the head rewound).
    Shortened { anchored: i64, head: i64 },
    /// The record a signed checkpoint names has another hash now (the chain was rebuilt).
    Rewritten { seq: i64 },
    /// A signed checkpoint names a chain the database no longer has (deleted with its head).
    Deleted { anchored: i64 },
    /// A checkpoint line whose MAC does not verify (forged or damaged).
    Unverifiable { line: usize },
}

/// A checkpoint of a chain: its head when the checkpoint was taken. Written where the database
/// cannot rewrite it (an append-only file, an outside collector) and checked by `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Anchor {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    pub at: i64,
}

impl Anchor {
    /// The key a chain's checkpoints are authenticated with: derived from the KEK for that
    /// chain (its tenant), so neither the database nor its signing keys can forge or void one.
    fn key(kek: &Kek, chain: &str) -> Kek {
        kek.derive(&format!("audit-anchor:{chain}"))
    }

    /// One line: base64url(JSON) `.` base64url(HMAC-SHA-256).
    pub fn line(&self, kek: &Kek) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let mac = Self::key(kek, &self.chain).mac(&payload);
        format!("{}.{}", crate::crypto::b64(&payload), crate::crypto::b64(&mac))
    }

    /// A line's checkpoint when its MAC verifies.
    pub fn read(kek: &Kek, line: &str) -> Option<Anchor> {
        let (payload, mac) = line.trim().split_once('.')?;
        let payload = crate::crypto::b64_decode(payload)?;
        let anchor: Anchor = serde_json::from_slice(&payload).ok()?;
        let expected = Self::key(kek, &anchor.chain).mac(&payload);
        crate::crypto::ct_eq(&expected, &crate::crypto::b64_decode(mac)?).then_some(anchor)
    }
}

/// Walks a chain in pages. `verify` is fed the records in sequence order.
#[derive(Debug, Default)]
pub struct Verifier {
    last: Option<(i64, String)>,
    pub records: i64,
    pub problems: Vec<Problem>,
}

impl Verifier {
    pub fn feed(&mut self, key: &Kek, r: &ChainedRecord) {
        self.records += 1;
        let (expected_seq, expected_prev) = match &self.last {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, GENESIS),
        };
        if r.seq != expected_seq {
            self.problems.push(Problem::Missing { from: expected_seq, to: r.seq - 1 });
        } else if r.prev_hash != expected_prev {
            self.problems.push(Problem::BrokenLink { seq: r.seq });
        }
        if link(key, &r.prev_hash, &r.fields()) != r.hash {
            self.problems.push(Problem::Edited { seq: r.seq });
        }
        self.last = Some((r.seq, r.hash.clone()));
    }

    /// Ends the walk against the chain's head.
    pub fn finish(mut self, head: Option<(i64, &str)>) -> (i64, Vec<Problem>) {
        let last = self.last.as_ref().map_or(0, |(s, _)| *s);
        match head {
            Some((seq, _)) if seq > last => self.problems.push(Problem::Truncated { head: seq, last }),
            Some((seq, hash)) if seq == last && self.last.as_ref().is_some_and(|(_, h)| h != hash) => {
                self.problems.push(Problem::Edited { seq })
            }
            _ => {}
        }
        (self.records, self.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemEnv;

    fn chain(key: &Kek, n: i64) -> Vec<ChainedRecord> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = ChainedRecord {
                    chain: "t".into(),
                    seq,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                    tenant_id: Some("t".into()),
                    kind: "k".into(),
                    account_id: None,
                    client_id: None,
                    ip: None,
                    detail: format!("{{\"n\":{seq}}}"),
                    at: 100 + seq,
                };
                r.hash = link(key, &prev, &r.fields());
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn check(key: &Kek, rows: &[ChainedRecord], head: (i64, &str)) -> Vec<Problem> {
        let mut v = Verifier::default();
        for r in rows {
            v.feed(key, r);
        }
        v.finish(Some(head)).1
    }

    #[test]
    fn every_kind_of_tampering_shows() {
        let key = Kek::generate(&SystemEnv);
        let rows = chain(&key, 5);
        let head = (5, rows[4].hash.clone());
        assert_eq!(check(&key, &rows, (head.0, &head.1)), vec![]);
        // edited
        let mut edited = rows.clone();
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(check(&key, &edited, (head.0, &head.1)), vec![Problem::Edited { seq: 3 }]);
        // deleted in the middle
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(check(&key, &deleted, (head.0, &head.1)), vec![Problem::Missing { from: 2, to: 2 }]);
        // the newest cut off
        assert_eq!(check(&key, &rows[..3], (head.0, &head.1)), vec![Problem::Truncated { head: 5, last: 3 }]);
        // two records swapped (their sequence numbers too, so they read in order)
        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        let p = check(&key, &swapped, (head.0, &head.1));
        assert!(
            p.contains(&Problem::BrokenLink { seq: 2 }) && p.contains(&Problem::Edited { seq: 2 }),
            "{p:?}"
        );
        // rebuilt without the key: every record fails
        let forged = chain(&Kek::generate(&SystemEnv), 5);
        assert_eq!(check(&key, &forged, (5, &forged[4].hash)).len(), 5);
    }

    #[test]
    fn a_move_to_sm_chains_on_with_hmac_sm3_and_back() {
        let key = Kek::generate(&SystemEnv);
        let mut rows = chain(&key, 6);
        let relink = |rows: &mut Vec<ChainedRecord>| {
            let mut prev = GENESIS.to_string();
            for r in rows.iter_mut() {
                r.prev_hash = prev.clone();
                r.hash = link(&key, &prev, &r.fields());
                prev = r.hash.clone();
            }
        };
        rows[1].kind = PROFILE_EVENT.into();
        rows[1].detail = r#"{"profile":"sm","from":"international"}"#.into();
        rows[4].kind = PROFILE_EVENT.into();
        rows[4].detail = r#"{"profile":"international","from":"sm"}"#.into();
        relink(&mut rows);
        let sm3: Vec<bool> = rows.iter().map(|r| r.hash.starts_with(SM3_LINK)).collect();
        assert_eq!(sm3, vec![false, true, true, true, false, false]);
        assert_eq!(rows[2].hash.len(), SM3_LINK.len() + 64);
        assert_eq!(check(&key, &rows, (6, &rows[5].hash.clone())), vec![]);
        // the SM3 links detect tampering as the others do, and cannot be passed off as SHA-256
        let mut edited = rows.clone();
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(check(&key, &edited, (6, &rows[5].hash.clone())), vec![Problem::Edited { seq: 3 }]);
        let mut downgraded = rows.clone();
        downgraded[2].hash = downgraded[2].hash[SM3_LINK.len()..].to_string();
        assert!(!check(&key, &downgraded, (6, &rows[5].hash.clone())).is_empty());
    }
}

/// Which records a search returns (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: Option<String>,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    /// Only records from this client IP address (as recorded).
    pub ip: Option<String>,
    /// Unix times, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only records older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    pub limit: i64,
}
