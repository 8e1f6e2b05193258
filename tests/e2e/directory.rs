//! Staff directories synced from Debian's `slapd`, started by the test on a free port: a dry
//! run shows the changes and writes nothing; the sync makes the departments, accounts and staff
//! memberships with the roles of the mapped groups; an unchanged directory changes nothing; a
//! group's change and a user's deletion come through (the account and its history stay); a
//! conflict (a username an account here holds) stops the whole sync. A synced staff member signs
//! in with the directory's password (bound as themselves) and, acting as staff, a second factor.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use idp_core::Env;
use idp_core::model::{ClientSettings, ClientType};
use idp_core::org::NewOrganisation;
use idp_server::outbound::ldap::Directory;

use crate::browser::Browser;
use crate::common::{Backend, TestServer, auth_url};
use crate::rp::{redeem, userinfo_of};

const BASE: &str = "dc=example,dc=gov,dc=cn";
const ADMIN: &str = "cn=admin,dc=example,dc=gov,dc=cn";

/// A throwaway slapd on 127.0.0.1, stopped when dropped.
pub(crate) struct Slapd {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Slapd {
    /// Starts one (`scripts/test.sh` installs Debian's slapd and ldap-utils).
    pub(crate) async fn start() -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\ninclude /etc/ldap/schema/nis.schema\n\
             pidfile {d}/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             database mdb\nsuffix \"{BASE}\"\nrootdn \"{ADMIN}\"\nrootpw secret\ndirectory {d}/db\n\
             maxsize 104857600\nindex objectClass,uid,member eq\n",
            d = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}/");
        let child = Command::new("slapd")
            .args(["-h", &url, "-f", &d.join("slapd.conf").display().to_string(), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd runs (scripts/test.sh installs Debian slapd and ldap-utils)");
        let s = Slapd { child, url, _dir: dir };
        for _ in 0..200 {
            let up = Command::new("ldapsearch")
                .args(["-x", "-H", &s.url, "-s", "base", "-b", "", "-LLL"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|st| st.success());
            if up {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("slapd did not answer");
    }

    /// `ldapadd` or `ldapmodify` (`-a` for adding) of `ldif` as the directory's administrator.
    pub(crate) fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-a", "-H", &self.url, "-D", ADMIN, "-w", "secret"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}\n{ldif}", String::from_utf8_lossy(&out.stderr));
    }
}

/// An LDIF line, base64 where the value is not plain ASCII (RFC 2849).
fn line(attr: &str, value: &str) -> String {
    if value.is_ascii() {
        format!("{attr}: {value}\n")
    } else {
        format!("{attr}:: {}\n", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value))
    }
}

fn entry(dn: &str, attrs: &[(&str, &str)]) -> String {
    let mut out = line("dn", &format!("{dn},{BASE}"));
    for (a, v) in attrs {
        out.push_str(&line(a, v));
    }
    out + "\n"
}

fn seed() -> String {
    let base =
        format!("dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n\n");
    [
        base,
        entry("ou=财政厅", &[("objectClass", "organizationalUnit"), ("ou", "财政厅")]),
        entry("ou=预算处,ou=财政厅", &[("objectClass", "organizationalUnit"), ("ou", "预算处")]),
        entry("ou=groups", &[("objectClass", "organizationalUnit"), ("ou", "groups")]),
        entry(
            "uid=zhang,ou=预算处,ou=财政厅",
            &[
                ("objectClass", "inetOrgPerson"),
                ("uid", "zhang"),
                ("cn", "张三"),
                ("sn", "张"),
                ("userPassword", "zhang-pass-1"),
            ],
        ),
        entry(
            "uid=li,ou=财政厅",
            &[
                ("objectClass", "inetOrgPerson"),
                ("uid", "li"),
                ("cn", "李四"),
                ("sn", "李"),
                ("mail", "li@example.gov.cn"),
                ("userPassword", "li-directory-pw"),
            ],
        ),
        entry(
            "cn=approvers,ou=groups",
            &[
                ("objectClass", "groupOfNames"),
                ("cn", "approvers"),
                ("member", &format!("uid=zhang,ou=预算处,ou=财政厅,{BASE}")),
            ],
        ),
    ]
    .concat()
}

fn describe(dir: &Path, url: &str, parent: &str) -> PathBuf {
    std::fs::write(dir.join("sync.pw"), "secret\n").unwrap();
    let d = serde_json::json!({
        "name": "gov-ldap",
        "tenant": "main",
        "url": url,
        "bind_dn": ADMIN,
        "bind_password_file": dir.join("sync.pw"),
        "password_check": true,
        "interval_minutes": 0,
        "mapping": {
            "base_dn": BASE,
            "parent": parent,
            "unit_filter": "(&(objectClass=organizationalUnit)(!(ou=groups)))",
            "disabled_filter": "(description=disabled)",
            "roles": {format!("cn=approvers,ou=groups,{BASE}"): ["approver"]},
        },
    });
    std::fs::write(dir.join("gov-ldap.json"), d.to_string()).unwrap();
    dir.to_path_buf()
}

async fn synced_from_slapd(backend: Backend) {
    let ldap = Slapd::start().await;
    ldap.modify(&seed());
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().display().to_string();
    let Some(s) = TestServer::start_with(backend, |c| c.directory.config_dir = dir.clone()).await else {
        return;
    };
    let gov = NewOrganisation {
        kind: "government".into(),
        name: "吉林省人民政府".into(),
        level: Some("province".into()),
        region_code: Some("220000".into()),
        ..Default::default()
    };
    let province = s.ops.add_organisation("main", None, gov).await.unwrap();
    describe(files.path(), &ldap.url, &province.id);
    let d = Directory::load(&files.path().join("gov-ldap.json")).unwrap();
    let tenant = s.tenant_id().await;

    // a dry run: the changes, nothing written
    let dry = s.ops.sync_directory(&d, true).await.unwrap();
    assert!(dry.conflicts.is_empty(), "{:?}", dry.conflicts);
    assert!(dry.changes.iter().any(|c| c.starts_with("add department 预算处")), "{:?}", dry.changes);
    assert!(dry.changes.iter().any(|c| c.starts_with("add account zhang")), "{:?}", dry.changes);
    assert_eq!(s.ops.organisations("main", None).await.unwrap().len(), 1, "nothing written");

    // the sync: departments under the province, accounts, memberships with the mapped roles
    let done = s.ops.sync_directory(&d, false).await.unwrap();
    assert!(done.conflicts.is_empty(), "{:?}", done.conflicts);
    let orgs = s.ops.organisations("main", None).await.unwrap();
    let names: Vec<&str> = orgs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names.len(), 3, "the groups' unit is left out by the mapping: {names:?}");
    let budget = orgs.iter().find(|o| o.name == "预算处").unwrap();
    let finance = orgs.iter().find(|o| o.name == "财政厅").unwrap();
    assert_eq!(budget.path, format!("/{}/{}/{}/", province.id, finance.id, budget.id));
    let zhang = s.ops.account("main", "zhang").await.unwrap();
    assert_eq!(zhang.name.as_deref(), Some("张三"));
    assert!(zhang.password_hash.is_none());
    let m = s.ops.store.memberships(&zhang.id).await.unwrap();
    assert_eq!(
        (m.len(), m[0].organisation_id.as_str(), m[0].roles.clone()),
        (1, budget.id.as_str(), vec!["approver".to_string()])
    );
    let li = s.ops.account("main", "li").await.unwrap();
    assert_eq!(s.ops.store.memberships(&li.id).await.unwrap()[0].roles, Vec::<String>::new());

    // nothing moved: nothing changes
    let again = s.ops.sync_directory(&d, false).await.unwrap();
    assert_eq!(again.changes, Vec::<String>::new());

    // li joins the approvers, zhang leaves the directory: li's roles change, zhang's
    // membership ends (the account stays)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ldap.modify(&format!(
        "{}changetype: modify\nadd: member\n{}-\n\n",
        line("dn", &format!("cn=approvers,ou=groups,{BASE}")),
        line("member", &format!("uid=li,ou=财政厅,{BASE}"))
    ));
    ldap.modify(&format!(
        "{}changetype: delete\n\n",
        line("dn", &format!("uid=zhang,ou=预算处,ou=财政厅,{BASE}"))
    ));
    let third = s.ops.sync_directory(&d, false).await.unwrap();
    assert!(third.conflicts.is_empty(), "{:?}", third.conflicts);
    let li_m = s.ops.store.memberships(&li.id).await.unwrap();
    let live: Vec<_> = li_m.iter().filter(|m| m.revoked_at.is_none()).collect();
    assert_eq!((live.len(), live[0].roles.clone()), (1, vec!["approver".to_string()]), "{li_m:?}");
    let zhang_m = s.ops.store.memberships(&zhang.id).await.unwrap();
    assert!(zhang_m.iter().all(|m| m.revoked_at.is_some()), "{zhang_m:?}");
    assert!(s.ops.account("main", "zhang").await.is_ok(), "the account stays");

    // a username an account here holds: reported, nothing written (not even the new unit)
    s.add_account("wang").await;
    ldap.modify(&entry("ou=审计处,ou=财政厅", &[("objectClass", "organizationalUnit"), ("ou", "审计处")]));
    ldap.modify(&entry(
        "uid=wang,ou=财政厅",
        &[("objectClass", "inetOrgPerson"), ("uid", "wang"), ("cn", "王五"), ("sn", "王")],
    ));
    let refused = s.ops.sync_directory(&d, false).await.unwrap();
    assert!(
        refused.conflicts.iter().any(|c| c.contains("the username wang is an account")),
        "{:?}",
        refused.conflicts
    );
    assert_eq!(s.ops.organisations("main", None).await.unwrap().len(), 3, "nothing half-written");
    let events = s.ops.store.audit_events(&tenant, 50).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "directory_conflicts"));
    assert!(events.iter().any(|e| e.kind == "directory_synced"));

    // li signs in with the directory's password, and as staff needs a second factor
    let staff =
        ClientSettings { contexts: vec!["staff".into()], scope: "openid org".into(), ..Default::default() };
    let (client, secret) = s.add_client(ClientType::Web, staff).await;
    let url = auth_url(&s.issuer, &client, "").replace("scope=openid", "scope=openid%20org");
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, wrong) = b.sign_in(&s, &login, "li", "not-the-password").await.page();
    assert!(wrong.contains("name=\"password\""), "a wrong password: {wrong}");
    let (totp, _) = crate::step_up::enrol(&s, "li").await;
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, code_page) = b.sign_in(&s, &login, "li", "li-directory-pw").await.page();
    assert!(
        code_page.contains("name=\"code\""),
        "the directory's password, then the second factor: {code_page}"
    );
    let code = totp.code_at_step(s.env.now() / 30);
    let step = crate::step_up::submit_code(&b, &s, &code_page, &code).await;
    let cb = match step {
        crate::browser::Step::Page { body, .. } if body.contains("value=\"allow\"") => {
            b.consent(&s, &body, true).await.callback()
        }
        other => other.callback(),
    };
    let info = userinfo_of(&s, &redeem(&s, &client, secret.as_deref().unwrap(), &cb["code"]).await).await;
    assert_eq!(
        (info["act_as"].as_str(), info["org"]["name"].as_str()),
        (Some("staff"), Some("财政厅")),
        "{info}"
    );
    assert_eq!(info["roles"], serde_json::json!(["approver"]));

    // li is disabled in the directory: the membership ends and the directory's password no
    // longer signs in
    ldap.modify(&format!(
        "{}changetype: modify\nadd: description\ndescription: disabled\n-\n\n",
        line("dn", &format!("uid=li,ou=财政厅,{BASE}"))
    ));
    let fourth = s.ops.sync_directory(&d, false).await.unwrap();
    assert!(fourth.changes.iter().any(|c| c.contains("disabled in the directory")), "{:?}", fourth.changes);
    let li_m = s.ops.store.memberships(&li.id).await.unwrap();
    assert!(li_m.iter().all(|m| m.revoked_at.is_some()), "{li_m:?}");
    let b = Browser::new();
    let (_, _, login) = b.get(&s, &url).await.page();
    let (_, _, again) = b.sign_in(&s, &login, "li", "li-directory-pw").await.page();
    assert!(again.contains("name=\"password\""), "refused: {again}");
}
crate::both_backends!(a_staff_directory_from_slapd, synced_from_slapd);
