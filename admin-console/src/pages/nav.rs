//! What the navigation offers each administrator: the pages whose admin API their roles may
//! use (the idp still decides every request; this only spares them pages that would refuse).
//! `system_admin` runs tenants, settings, organisations and applications; `security_admin`
//! accounts, keys, sign-in providers and the sign-in rules; `audit_admin` reads the audit trail; an
//! organisation's delegated administrator (`org_admin`) its own subtree and its applications.

use crate::MOUNT;
use crate::texts::Texts;

/// (path under the console, label, the key `Layout::active` names) for `roles`.
pub(crate) fn links(t: &Texts, roles: &[String]) -> Vec<(&'static str, &'static str, &'static str)> {
    let has = |r: &str| roles.iter().any(|x| x == r);
    let (system, security, audit, delegated) =
        (has("system_admin"), has("security_admin"), has("audit_admin"), has("org_admin"));
    let all = [
        ("/", t.dashboard, "dashboard", system || security),
        ("/tenants", t.tenants, "tenants", system),
        ("/settings", t.settings, "settings", system || security),
        ("/organisations", t.organisations, "organisations", system || security || delegated),
        ("/clients", t.clients, "clients", system || delegated),
        ("/accounts", t.accounts, "accounts", security),
        ("/keys", t.keys, "keys", security),
        ("/upstreams", t.upstreams, "upstreams", security),
        ("/audit", t.audit, "audit", audit),
    ];
    all.into_iter().filter(|l| l.3).map(|(p, label, key, _)| (p, label, key)).collect()
}

/// Where an administrator lands: the dashboard, or the first page their roles open.
pub(crate) fn landing(t: &Texts, roles: &[String]) -> Option<String> {
    links(t, roles).first().map(|(p, ..)| format!("{MOUNT}{p}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_sees_its_pages() {
        let t = &crate::texts::ZH;
        let keys = |roles: &[&str]| -> Vec<&str> {
            let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
            links(t, &roles).into_iter().map(|l| l.2).collect()
        };
        assert_eq!(keys(&["audit_admin"]), ["audit"]);
        assert_eq!(keys(&["org_admin"]), ["organisations", "clients"]);
        assert_eq!(
            keys(&["security_admin"]),
            ["dashboard", "settings", "organisations", "accounts", "keys", "upstreams"]
        );
        assert!(!keys(&["system_admin"]).contains(&"audit"), "separation of duties: auditors audit");
        assert!(keys(&[]).is_empty());
        let audit = ["audit_admin".to_string()];
        assert_eq!(landing(t, &audit).as_deref(), Some("/console/audit"));
    }
}
