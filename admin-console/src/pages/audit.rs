//! The audit trail for audit administrators: filtered by event kind, person (account id),
//! application (client id), client IP address and a date range in the tenant's time; newest
//! first, a page at a time (older pages by the sequence number, as the admin API pages);
//! exported as the same filtered set (CSV or JSON, at most 10 000 records); the chains verified.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_proto::{AuditRecord, AuditReport, ChainProblem};
use serde::Deserialize;

use super::{Admin, Layout, layout, opt, page};
use crate::{Shared, api};

/// Records per page.
const PAGE: i64 = 50;

/// The most records one export holds (the admin API's largest page).
const EXPORT_MAX: usize = 10_000;

/// How many records an export holds: a JSON array's length, a CSV's lines but its header.
fn records_in(format: &str, bytes: &[u8]) -> usize {
    if format == "json" {
        serde_json::from_slice::<Vec<serde_json::Value>>(bytes).map_or(0, |v| v.len())
    } else {
        bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count().saturating_sub(1)
    }
}

/// The page's filters, as the form sends them.
#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    ip: String,
    /// Local dates, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Read leniently: anything but a sequence number is the newest page.
    #[serde(default)]
    before: String,
    /// Verify the chains too.
    verify: Option<String>,
    /// The export's format: `csv` (the default) or `json`.
    format: Option<String>,
}

impl Filters {
    /// What is wrong with the filters as typed (never dropped silently: the page would show
    /// the unfiltered trail under a form still showing the filter).
    fn problem(&self, t: &crate::texts::Texts, zone: &str) -> Option<String> {
        let fields = [&self.kind, &self.account, &self.client, &self.ip];
        if fields.iter().any(|v| v.trim().len() > 100) {
            return Some(t.bad_filter.to_string());
        }
        let ip = self.ip.trim();
        if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
            return Some(format!("{}: IP {ip}", t.bad_filter));
        }
        let from = self.from.trim();
        let to = self.to.trim();
        for d in [from, to] {
            if !d.is_empty() && day_start(zone, d, 0).is_none() {
                return Some(format!("{}: {d}", t.bad_filter));
            }
        }
        if !from.is_empty() && !to.is_empty() && day_start(zone, to, 0) < day_start(zone, from, 0) {
            return Some(t.to_before_from.to_string());
        }
        None
    }

    /// The admin API's query for these filters in `zone` (empty fields are no filter).
    fn query(&self, zone: &str) -> Vec<(&'static str, String)> {
        let mut q = vec![];
        let mut put = |k: &'static str, v: &str| {
            let v = v.trim();
            if !v.is_empty() && v.len() <= 100 {
                q.push((k, v.to_string()));
            }
        };
        put("kind", &self.kind);
        put("account_id", &self.account);
        put("client_id", &self.client);
        // an address as the provider records it (IPv6 in its canonical, lower-case form)
        let ip = self
            .ip
            .trim()
            .parse::<std::net::IpAddr>()
            .map(|a| a.to_canonical().to_string())
            .unwrap_or_default();
        put("ip", &ip);
        if let Some(t) = day_start(zone, &self.from, 0) {
            q.push(("since", t.to_string()));
        }
        if let Some(t) = day_start(zone, &self.to, 1) {
            q.push(("until", (t - 1).to_string()));
        }
        q
    }

    /// The filters as this page's own query string (for links: paging, export).
    fn own(&self) -> String {
        let pairs = [
            ("kind", &self.kind),
            ("account", &self.account),
            ("client", &self.client),
            ("ip", &self.ip),
            ("from", &self.from),
            ("to", &self.to),
        ];
        let kept: Vec<(&str, &str)> =
            pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (*k, v.trim())).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }
}

/// The start of the local day `date` (`YYYY-MM-DD`) plus `days`, as Unix time in `zone`.
fn day_start(zone: &str, date: &str, days: i64) -> Option<i64> {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let d = jiff::civil::Date::strptime("%Y-%m-%d", date.trim()).ok()?;
    let d = d.checked_add(jiff::Span::new().days(days)).ok()?;
    Some(d.to_zoned(tz).ok()?.timestamp().as_second())
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub l: Layout,
    pub f: Filters,
    /// This page's filters as a query string (for the export and paging links).
    pub own: String,
    /// (seq, when, kind, account, client, ip, detail)
    pub rows: Vec<(i64, String, String, String, String, String, String)>,
    /// The sequence number the next (older) page starts before, if there may be one.
    pub older: Option<i64>,
}

pub async fn audit(State(shared): State<Arc<Shared>>, Query(f): Query<Filters>, a: Admin) -> Response {
    let t = a.t;
    let mut l = layout(&a, "audit", "/audit");
    if f.verify.is_some() {
        match api::get::<AuditReport>(&shared, &a.token, "audit/verify").await {
            Ok(report) => {
                let chains = report.chains;
                let records: i64 = chains.iter().map(|c| c.records).sum();
                let problems: Vec<String> = chains.iter().flat_map(|c| &c.problems).map(problem).collect();
                let summary = format!("{}: {} / {records}", t.verified, chains.len());
                match problems.is_empty() {
                    true => l.message = Some(format!("{summary} ✓")),
                    false => l.error = Some(format!("{summary} — {}", problems.join(", "))),
                }
            }
            Err(e) => l.error = Some(e),
        }
    }
    let mut query = f.query(&a.s.time_zone);
    query.push(("limit", PAGE.to_string()));
    if let Ok(b) = f.before.trim().parse::<i64>() {
        query.push(("before", b.to_string()));
    }
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    let records: Vec<AuditRecord> = match f.problem(t, &a.s.time_zone) {
        Some(p) => {
            l.error = Some(p);
            vec![]
        }
        None => match api::get(&shared, &a.token, &path).await {
            Ok(v) => v,
            Err(e) => {
                l.error = Some(e);
                vec![]
            }
        },
    };
    let older = (records.len() as i64 == PAGE).then(|| records.last().map(|r| r.seq)).flatten();
    let rows = records
        .into_iter()
        .map(|r| (r.seq, a.at(r.at), r.kind, opt(&r.account_id), opt(&r.client_id), opt(&r.ip), r.detail))
        .collect();
    let own = f.own();
    page(&a, &AuditPage { l, f, own, rows, older })
}

/// A chain's problem as the audit page names it: its kind and the record it is at, if one.
fn problem(p: &ChainProblem) -> String {
    let (name, seq) = match p {
        ChainProblem::Edited { seq } => ("edited", Some(seq)),
        ChainProblem::BrokenLink { seq } => ("broken_link", Some(seq)),
        ChainProblem::Missing { .. } => ("missing", None),
        ChainProblem::Truncated { .. } => ("truncated", None),
        ChainProblem::Shortened { .. } => ("shortened", None),
        ChainProblem::Rewritten { seq } => ("rewritten", Some(seq)),
        ChainProblem::Deleted { .. } => ("deleted", None),
        ChainProblem::Unverifiable { .. } => ("unverifiable", None),
    };
    format!("{name} {}", seq.map(i64::to_string).unwrap_or_default())
}

/// `GET /audit/export?format=csv|json&…`: the page's filtered set as a file, at most 10 000.
pub async fn audit_export(State(shared): State<Arc<Shared>>, Query(f): Query<Filters>, a: Admin) -> Response {
    let back = format!("{}/audit?{}", crate::MOUNT, f.own());
    if let Some(p) = f.problem(a.t, &a.s.time_zone) {
        return a.done(&back, crate::Flash::error(p));
    }
    let format = if f.format.as_deref() == Some("json") { "json" } else { "csv" };
    let mut query = f.query(&a.s.time_zone);
    query.push(("limit", EXPORT_MAX.to_string()));
    query.push(("format", format.into()));
    let path = format!("audit?{}", serde_urlencoded::to_string(&query).unwrap_or_default());
    match api::raw(&shared, &a.token, &path).await {
        // as many as the API answers at once: there may be more, so not "the filtered set"
        Ok((_, bytes)) if records_in(format, &bytes) >= EXPORT_MAX => {
            a.done(&back, crate::Flash::error(a.t.export_too_many))
        }
        Ok((content_type, bytes)) => {
            let disposition = format!("attachment; filename=\"audit.{format}\"");
            let mut res = bytes.into_response();
            for (k, v) in [(header::CONTENT_TYPE, content_type), (header::CONTENT_DISPOSITION, disposition)] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    res.headers_mut().insert(k, v);
                }
            }
            res
        }
        Err(e) => (StatusCode::FORBIDDEN, a.t.api_says(&e)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_the_tenants_days() {
        // 2026-12-05 00:00 in Beijing is 2026-12-04 16:00 UTC
        assert_eq!(super::day_start("Asia/Shanghai", "2026-12-05", 0), Some(1_796_400_000));
        assert_eq!(super::day_start("UTC", "not a date", 0), None);
        let f = super::Filters { from: "2026-12-05".into(), to: "2026-12-05".into(), ..Default::default() };
        let q = f.query("Asia/Shanghai");
        let since: i64 = q.iter().find(|(k, _)| *k == "since").unwrap().1.parse().unwrap();
        let until: i64 = q.iter().find(|(k, _)| *k == "until").unwrap().1.parse().unwrap();
        assert_eq!(until - since, 86_399, "the whole local day");
    }
}
