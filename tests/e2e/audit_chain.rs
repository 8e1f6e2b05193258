//! The tamper-evident audit trail: records written by the running provider are chained per
//! tenant and `verify` finds the chain intact; the database refuses changes to records; with
//! that guard dropped (as the database owner could), an edited record, a deleted one, two
//! records swapped and a cut-off tail are each reported. Exports keep what the search asked for.

use idp_core::audit::{Filter, Problem};

use crate::browser::Browser;
use crate::common::{Backend, TestServer, auth_url};

/// Runs SQL on the test database directly, as someone with database access would.
async fn sql(s: &TestServer, statement: &str) -> Result<(), String> {
    let url = &s.db().url;
    let q = sqlx::AssertSqlSafe(statement.to_string());
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?;
        let r = sqlx::raw_sql(q).execute(&pool).await.map(drop).map_err(|e| e.to_string());
        pool.close().await;
        r
    } else {
        let pool = sqlx::PgPool::connect(url).await.map_err(|e| e.to_string())?;
        let r = sqlx::raw_sql(q).execute(&pool).await.map(drop).map_err(|e| e.to_string());
        pool.close().await;
        r
    }
}

async fn problems(s: &TestServer, chain: &str) -> Vec<Problem> {
    let report = s.ops.verify_audit().await.unwrap();
    report.chains.into_iter().find(|c| c.chain == chain).map(|c| c.problems).unwrap_or_default()
}

async fn audit_chain(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let tenant = s.ops.tenant("main").await.unwrap().id;
    // events through the running provider: sign-ins, consents, tokens; and operator actions
    let (client, _) = s.add_client(idp_core::model::ClientType::Web, Default::default()).await;
    for who in ["an", "bo", "cy", "di"] {
        s.add_account(who).await;
        s.ops.set_account_disabled("main", who, true).await.unwrap();
        s.ops.set_account_disabled("main", who, false).await.unwrap();
        Browser::new().authorize(&s, &auth_url(&s.issuer, &client, ""), who).await.callback();
    }
    let report = s.ops.verify_audit().await.unwrap();
    assert!(report.intact(), "{report:?}");
    let mine = report.chains.iter().find(|c| c.chain == tenant).unwrap();
    assert!(mine.records >= 12, "{mine:?}");
    let n = mine.records;

    // the search: by kind, newest first, paged by sequence number
    let locks = Filter { kind: Some("account_disabled_by_operator".into()), limit: 10, ..Filter::default() };
    let found = s.ops.search_audit("main", &locks).await.unwrap();
    assert_eq!(found.len(), 4);
    assert!(
        found.windows(2).all(|w| w[0].seq > w[1].seq)
            && found.iter().all(|r| r.kind == "account_disabled_by_operator")
    );
    let older = Filter { before_seq: Some(found[1].seq), ..locks.clone() };
    assert_eq!(s.ops.search_audit("main", &older).await.unwrap().len(), 2);
    let csv = idp_server::ops_audit::to_csv(&found);
    assert_eq!(csv.lines().count(), 5, "{csv}");

    // the database itself refuses changes
    let edit = format!("UPDATE audit_events SET detail = '{{}}' WHERE chain = '{tenant}' AND seq = 2");
    assert!(sql(&s, &edit).await.unwrap_err().contains("append-only"));
    assert!(sql(&s, &format!("DELETE FROM audit_events WHERE chain = '{tenant}'")).await.is_err());
    let drop_guard = if s.db().url.starts_with("sqlite:") {
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
    } else {
        "DROP TRIGGER audit_events_append_only ON audit_events"
    };
    sql(&s, drop_guard).await.unwrap();

    // edited
    sql(&s, &edit).await.unwrap();
    assert_eq!(problems(&s, &tenant).await, vec![Problem::Edited { seq: 2 }]);
    // deleted
    sql(&s, &format!("DELETE FROM audit_events WHERE chain = '{tenant}' AND seq = 4")).await.unwrap();
    assert!(problems(&s, &tenant).await.contains(&Problem::Missing { from: 4, to: 4 }));
    // two records swapped
    let swap = format!(
        "UPDATE audit_events SET seq = -6 WHERE chain = '{tenant}' AND seq = 6; \
         UPDATE audit_events SET seq = 6 WHERE chain = '{tenant}' AND seq = 7; \
         UPDATE audit_events SET seq = 7 WHERE chain = '{tenant}' AND seq = -6;"
    );
    sql(&s, &swap).await.unwrap();
    let p = problems(&s, &tenant).await;
    assert!(p.contains(&Problem::BrokenLink { seq: 6 }) && p.contains(&Problem::Edited { seq: 6 }), "{p:?}");
    // the newest cut off
    sql(&s, &format!("DELETE FROM audit_events WHERE chain = '{tenant}' AND seq = {n}")).await.unwrap();
    let p = problems(&s, &tenant).await;
    assert!(p.contains(&Problem::Truncated { head: n, last: n - 1 }), "{p:?}");
    assert!(!s.ops.verify_audit().await.unwrap().intact());
}
crate::both_backends!(the_audit_chain_reveals_tampering, audit_chain);
