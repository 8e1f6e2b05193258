//! The deployment files of `deploy/` are checked with the tools their platforms use, offline:
//! the Kubernetes manifests against the Kubernetes schemas (`kubernetes-validate --strict`,
//! which also refuses a misspelt field), the systemd unit with `systemd-analyze verify`, the
//! alert rules with `promtool check rules`; the compose file parses; and every metric the
//! alerts and the Grafana dashboard use is one `docs/metrics.md` documents. `scripts/test.sh`
//! installs the tools (PyPI kubernetes-validate, Debian's prometheus and systemd).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(tool: &str, args: &[&str], install: &str) -> std::process::Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("this test needs {tool} ({e}); install it with: {install} (scripts/test.sh does)")
    })
}

#[test]
fn kubernetes_manifests_match_the_schemas() {
    let manifest = root().join("deploy/kubernetes/idp.yaml");
    let install = "pip install kubernetes-validate==1.37.0";
    for version in ["1.30.0", "1.37.0"] {
        let out =
            run("kubernetes-validate", &["--strict", "-k", version, manifest.to_str().unwrap()], install);
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        for kind in [
            "deployment/idp",
            "service/idp",
            "configmap/idp-config",
            "horizontalpodautoscaler/idp",
            "poddisruptionbudget/idp",
            "networkpolicy/idp",
        ] {
            assert!(text.contains(&format!("passed for resource {kind}")), "{kind}: {text}");
        }
    }
    // the validator does refuse what is wrong
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("readinessProbe:", "readynessProbe:");
    std::fs::write(&broken, text).unwrap();
    assert!(!run("kubernetes-validate", &["--strict", broken.to_str().unwrap()], install).status.success());
    // the probes are the provider's
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("path: /readyz") && text.contains("path: /healthz"));
    assert!(text.contains("readOnlyRootFilesystem: true") && text.contains("runAsNonRoot: true"));
}

#[test]
fn the_systemd_unit_verifies() {
    // with the binary this build made in place of the installed path
    let unit = std::fs::read_to_string(root().join("deploy/systemd/idp.service")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idp.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/idp", env!("CARGO_BIN_EXE_idp"))).unwrap();
    let out = run("systemd-analyze", &["verify", path.to_str().unwrap()], "apt-get install systemd");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("idp.service:"), "{text}");
    for sandboxing in
        ["DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "SystemCallFilter=@system-service"]
    {
        assert!(unit.contains(sandboxing), "{sandboxing}");
    }
}

/// The metric names in a text: every `idp_…` word, less the histogram suffixes.
fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("idp_") && w.len() > 4)
        .map(|w| {
            w.trim_end_matches("_bucket").trim_end_matches("_count").trim_end_matches("_sum").to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn alert_rules_check_and_use_documented_metrics() {
    let rules = root().join("deploy/prometheus/alerts.yaml");
    let out = run("promtool", &["check", "rules", rules.to_str().unwrap()], "apt-get install prometheus");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let documented = std::fs::read_to_string(root().join("docs/metrics.md")).unwrap();
    let dashboard = std::fs::read_to_string(root().join("deploy/grafana/idp-dashboard.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| p.len() >= 6));
    let used = metric_names(&(std::fs::read_to_string(&rules).unwrap() + &dashboard));
    assert!(used.len() >= 6, "{used:?}");
    for name in used {
        assert!(documented.contains(&format!("`{name}`")), "{name} is used but not in docs/metrics.md");
    }
}

#[test]
fn the_compose_file_parses_and_runs_the_provider_read_only() {
    let compose = root().join("deploy/compose.yaml");
    let script = "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); \
                  s = d['services']; assert {'idp', 'postgres', 'console'} <= set(s); \
                  assert s['idp']['read_only'] and s['console']['read_only']; \
                  assert s['idp']['healthcheck']['test'][-1] == 'healthcheck'; \
                  assert 'internal' in d['networks']";
    let out = run("python3", &["-c", script, compose.to_str().unwrap()], "pip install pyyaml");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap();
    assert!(image.contains("USER 10001") && image.contains("FROM debian:bookworm-slim"));
}
