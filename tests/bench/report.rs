//! The benchmark's table and the Markdown document it writes (`docs/performance.md`).

use crate::Row;
use crate::load::Stats;

pub struct Report {
    pub backend: &'static str,
    pub workers: usize,
    pub seconds: u64,
    pub rows: Vec<Row>,
    pub idp_rss: f64,
    pub node_rss: f64,
    pub signins: Stats,
    /// Mean answer ms for an unknown login and for a wrong password; whether the pages matched.
    pub enumeration: (f64, f64, bool),
    /// Mean answer ms for a locked account given its right password; whether the page matched
    /// the unknown login's.
    pub locked: (f64, bool),
    /// Mean answer ms of wrong SMS codes for an unregistered and a registered number; whether
    /// every answer read the same.
    pub sms: (f64, f64, bool),
    pub raw_argon2: f64,
    pub startup_ms: f64,
    /// The protocols beside OpenID Connect, idp only (`protocols.rs`).
    pub protocols: Vec<(&'static str, Stats)>,
    /// Signing in process, µs: a SAML Response (response and assertion), an RS256 and an ES256
    /// ID token.
    pub signing: (f64, f64, f64),
    /// The OpenID Connect scenarios again on a tenant on the `sm` profile.
    pub sm_rows: Vec<(&'static str, Stats)>,
    pub sm_primitives: crate::sm::Primitives,
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

/// Two mean answer times an observer could not tell apart: within a quarter of each other.
fn similar(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.25 * b.max(0.001)
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "idp on {}; node oidc-provider 9 in memory; {} concurrent clients, {} s per scenario.\n\n",
            self.backend, self.workers, self.seconds
        );
        s.push_str("| scenario | idp req/s | idp p50 ms | idp p99 ms | node req/s | node p50 ms | node p99 ms | ratio | target | met |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for r in &self.rows {
            let ratio = if r.node.rps() > 0.0 { r.idp.rps() / r.node.rps() } else { f64::INFINITY };
            s.push_str(&format!(
                "| {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2}× | ≥ {:.0}× | {} |\n",
                r.scenario,
                r.idp.rps(),
                r.idp.p50_ms,
                r.idp.p99_ms,
                r.node.rps(),
                r.node.p50_ms,
                r.node.p99_ms,
                ratio,
                r.target,
                met(ratio >= r.target)
            ));
            if r.idp.errors + r.node.errors > 0 {
                s.push_str(&format!("|  ↳ errors | {} | | | {} | | | | | |\n", r.idp.errors, r.node.errors));
            }
        }
        let rss_ratio = self.idp_rss / self.node_rss.max(0.001);
        s.push_str(&format!(
            "\n| measure | value | target | met |\n|---|---:|---:|---|\n\
             | peak RSS idp / node | {:.1} MiB / {:.1} MiB = {:.2} | ≤ 0.33 | {} |\n\
             | password sign-ins/s (full page flow) vs raw Argon2id verifications/s | {:.1} / {:.1} = {:.0} % | ≥ 85 % | {} |\n\
             | start-up to serving on an existing database (median of 5) | {:.0} ms | ≤ 200 ms | {} |\n\
             | failed sign-in, unknown login / wrong password (mean of 40; same message: {}) | {:.1} ms / {:.1} ms | similar | {} |\n\
             | account locked by the operator, with its right password / unknown login (mean of 40; same message: {}) | {:.1} ms / {:.1} ms | similar | {} |\n\
             | wrong SMS code, unregistered / registered number (mean of 40; same messages: {}) | {:.1} ms / {:.1} ms | similar | {} |\n",
            self.idp_rss,
            self.node_rss,
            rss_ratio,
            met(rss_ratio <= 1.0 / 3.0),
            self.signins.rps(),
            self.raw_argon2,
            100.0 * self.signins.rps() / self.raw_argon2.max(0.001),
            met(self.signins.rps() >= 0.85 * self.raw_argon2),
            self.startup_ms,
            met(self.startup_ms <= 200.0),
            self.enumeration.2,
            self.enumeration.0,
            self.enumeration.1,
            met(self.enumeration.2 && similar(self.enumeration.0, self.enumeration.1)),
            self.locked.1,
            self.locked.0,
            self.enumeration.0,
            met(self.locked.1 && similar(self.locked.0, self.enumeration.0)),
            self.sms.2,
            self.sms.0,
            self.sms.1,
            met(self.sms.2 && similar(self.sms.0, self.sms.1)),
        ));
        s.push_str(&self.protocols_table());
        s.push_str(&self.sm_table());
        s
    }

    /// The `sm` tenant's OpenID Connect scenarios beside the international tenant's, and the
    /// primitives side by side (docs/cryptography.md).
    fn sm_table(&self) -> String {
        let mut s = String::from(
            "
Commercial cryptography: the same OpenID Connect scenarios on a tenant on the `sm` profile (SM2 \
             tokens, SM4-GCM seals, HMAC-SM3), beside the `international` tenant's (ES256, AES-256-GCM):\n\n\
             | scenario | sm req/s | sm p50 ms | sm p99 ms | international req/s | sm / international | target | met |\n\
             |---|---:|---:|---:|---:|---:|---|---|\n",
        );
        for (name, st) in &self.sm_rows {
            let Some(intl) = self.rows.iter().find(|r| r.scenario == *name).map(|r| &r.idp) else { continue };
            let ratio = st.rps() / intl.rps().max(0.001);
            let gated = name.starts_with("client_credentials (JWT") || name.starts_with("SSO round trip");
            let label = name.replace("JWT ES256", "JWT: SM2 / ES256");
            s.push_str(&format!(
                "| {label} | {:.0} | {:.2} | {:.2} | {:.0} | {ratio:.2}× | {} | {} |\n",
                st.rps(),
                st.p50_ms,
                st.p99_ms,
                intl.rps(),
                if gated { "≥ 0.67× (within 1.5×)" } else { "(recorded)" },
                if gated { met(ratio >= 1.0 / 1.5) } else { "–" },
            ));
        }
        s.push_str("\nThe primitives, in process on one core:\n\n");
        s.push_str(&self.sm_primitives.markdown());
        s
    }

    /// CAS beside OpenID Connect (no peer runs here: absolute figures, and the ratio to the
    /// idp's own OpenID Connect flow).
    fn protocols_table(&self) -> String {
        let find = |name: &str| self.protocols.iter().find(|(n, _)| n.starts_with(name)).map(|(_, s)| s);
        let mut s = String::from(
            "\nProtocols beside OpenID Connect (the idp alone; a step \"alone\" is timed by itself: its \
             codes or tickets are issued first, untimed, then only redeemed):\n\n| scenario | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n",
        );
        for (name, st) in &self.protocols {
            s.push_str(&format!("| {name} | {:.0} | {:.2} | {:.2} |\n", st.rps(), st.p50_ms, st.p99_ms));
            if st.errors > 0 {
                s.push_str(&format!("|  ↳ errors | {} | | |\n", st.errors));
            }
        }
        let same_release = find("CAS ticket validation alone, identifier only");
        if let (Some(code), Some(ticket)) = (find("OIDC code exchange"), same_release) {
            let ok = ticket.p50_ms <= code.p50_ms * 1.05;
            s.push_str(&format!(
                "\n| measure | value | target | met |\n|---|---:|---:|---|\n\
                 | CAS ticket validation (identifier only) / OIDC code exchange, p50 | {:.2} ms / {:.2} ms | validation no slower | {} |\n",
                ticket.p50_ms,
                code.p50_ms,
                met(ok)
            ));
        }
        if let (Some(code), Some(ticket)) =
            (find("OIDC code exchange"), find("CAS ticket validation alone, with"))
        {
            s.push_str(&format!(
                "| CAS ticket validation with profile attributes / OIDC code exchange, p50 | {:.2} ms / {:.2} ms = {:.2}× | (recorded: the attributes are what UserInfo would answer after the exchange) | – |\n",
                ticket.p50_ms,
                code.p50_ms,
                ticket.p50_ms / code.p50_ms.max(0.001)
            ));
        }
        // a Response carries two signatures (response and assertion) to the ID token's one: the
        // target compares them per signature, so that it measures what SAML adds (XML written
        // canonical, digests) rather than how many RSA signatures there are
        let (saml, rs, es) = self.signing;
        s.push_str(&format!(
            "| SAML Response signing (response + assertion, RSA-SHA256) / RS256 ID token / ES256 ID token, median µs | {saml:.0} / {rs:.0} / {es:.0} | per signature, SAML ≤ 2× the ID token's (RS256: {:.2}×) | {} |\n",
            saml / 2.0 / rs.max(0.001),
            met(saml / 2.0 <= 2.0 * rs)
        ));
        let oidc = self.rows.iter().find(|r| r.scenario.starts_with("SSO round trip")).map(|r| &r.idp);
        if let (Some(oidc), Some(cas)) = (oidc, find("CAS SSO round trip")) {
            s.push_str(&format!(
                "| CAS SSO round trip / OIDC SSO round trip, req/s | {:.0} / {:.0} = {:.2}× | (recorded) | – |\n",
                cas.rps(),
                oidc.rps(),
                cas.rps() / oidc.rps().max(0.001)
            ));
        }
        s
    }

    pub fn document(&self, table: &str) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().next().map(|l| {
                    l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0) / 1048576.0
                })
            })
            .unwrap_or(0.0);
        let node = std::process::Command::new("node")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        format!(
            "# Performance\n\nGenerated by `tests/bench/run.sh` (do not edit by hand). The load generator, the idp \
             and node run on the same machine, one server at a time, with the same closed-loop load \
             (each client sends its next request when the previous one is answered).\n\n\
             Machine: {cpu}, {cores} cores, {mem:.0} GiB; node {node}. The idp is a release build with the \
             production Argon2id parameters.\n\n{table}\n\
             Scenarios: discovery and JWKS documents; client_credentials with opaque and JWT (ES256) \
             access tokens; introspection of an opaque token; the refresh_token grant (both rotate the \
             refresh token on every use); the SSO round trip (authorization request with an existing \
             session and remembered consent, then the code exchange; one round trip = two requests).\n\n\
             What was measured and changed along the way, and what limits the rest: \
             [performance-history.md](performance-history.md).\n"
        )
    }
}
