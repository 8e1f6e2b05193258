//! The tamper-evident audit trail: records written by the running provider are chained per
//! tenant and `verify` finds the chain intact; the database refuses changes to records; with
//! that guard dropped (as the database owner could), an edited record, a deleted one, two
//! records swapped and a cut-off tail are each reported. Exports keep what the search asked for.

use idp_core::audit::{Filter, Problem};

use crate::browser::Browser;
use crate::common::{Backend, TestServer, auth_url, sql};

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
    let csv = idp_server::ops::audit::to_csv(&found);
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

/// What the chains alone cannot show — the newest records cut with the head rewound, a chain
/// deleted with its head — the signed checkpoints outside the database do; a forged
/// checkpoint line is reported too.
async fn anchors(backend: Backend) {
    // checkpoints only when the test writes them (the server's own would race it)
    let Some(s) = TestServer::start_with(backend, |c| c.audit.anchor_every_seconds = 0).await else {
        return;
    };
    let tenant = s.ops.tenant("main").await.unwrap().id;
    let (client, _) = s.add_client(idp_core::model::ClientType::Web, Default::default()).await;
    for who in ["an", "bo", "cy"] {
        s.add_account(who).await;
        Browser::new().authorize(&s, &auth_url(&s.issuer, &client, ""), who).await.callback();
    }
    s.ops.add_tenant("north", None).await.unwrap();
    s.add_account_in("north", "nu").await;
    s.ops.set_account_disabled("north", "nu", true).await.unwrap();
    let north = s.ops.tenant("north").await.unwrap().id;
    let written = s.ops.write_audit_anchors(&mut Default::default()).await.unwrap();
    assert!(written >= 2, "{written}: {:?}", s.ops.store.audit_heads().await.unwrap());
    let report = s.ops.verify_audit().await.unwrap();
    assert!(report.intact(), "{report:?}");
    let file = s.db().dir.path().join("audit-anchors.jsonl");
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(lines.lines().all(|l| l.split('.').count() == 2), "payload.mac lines: {lines}");
    let head = |chain: &str| {
        let chain = chain.to_string();
        let store = s.ops.store.clone();
        async move { store.audit_heads().await.unwrap().into_iter().find(|(c, ..)| *c == chain).unwrap() }
    };
    let (_, n, _) = head(&tenant).await;

    // with the database's guard dropped: cut the newest two records and rewind the head to the
    // one before — the chain itself is consistent again
    let drop_guard = if s.db().url.starts_with("sqlite:") {
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
    } else {
        "DROP TRIGGER audit_events_append_only ON audit_events"
    };
    sql(&s, drop_guard).await.unwrap();
    let prev = s.ops.store.audit_chain(&tenant, n - 3, 1).await.unwrap().remove(0);
    sql(&s, &format!("DELETE FROM audit_events WHERE chain = '{tenant}' AND seq > {}", n - 2)).await.unwrap();
    sql(
        &s,
        &format!(
            "UPDATE audit_heads SET seq = {}, hash = '{}' WHERE chain = '{tenant}'",
            prev.seq, prev.hash
        ),
    )
    .await
    .unwrap();
    let p = problems(&s, &tenant).await;
    assert_eq!(p, vec![Problem::Shortened { anchored: n, head: n - 2 }], "{p:?}");
    // the server will not checkpoint the rewound head… (other chains may move meanwhile: the
    // nodes' background work audits too)
    s.ops.write_audit_anchors(&mut Default::default()).await.unwrap();
    let anchored = s.ops.read_anchors().unwrap().chains.remove(&tenant).unwrap_or_default();
    assert!(!anchored.contains_key(&(n - 2)), "the rewound head was checkpointed: {anchored:?}");
    // …and once new records carry the chain past the old head, the checkpoint at n still
    // names the hash that is gone: rewritten
    for who in ["ed", "fi", "gu"] {
        s.add_account(who).await;
        Browser::new().authorize(&s, &auth_url(&s.issuer, &client, ""), who).await.callback();
    }
    let (_, later, _) = head(&tenant).await;
    assert!(later > n, "{later} > {n}");
    let p = problems(&s, &tenant).await;
    assert!(p.contains(&Problem::Rewritten { seq: n }), "{p:?}");
    // a new checkpoint does not bless it: every checkpoint is checked
    s.ops.write_audit_anchors(&mut Default::default()).await.unwrap();
    assert!(problems(&s, &tenant).await.contains(&Problem::Rewritten { seq: n }));
    // a whole chain deleted with its head
    sql(&s, &format!("DELETE FROM audit_events WHERE chain = '{north}'; DELETE FROM audit_heads WHERE chain = '{north}'"))
        .await
        .unwrap();
    let p = problems(&s, &north).await;
    assert!(matches!(p.as_slice(), [Problem::Deleted { .. }]), "{p:?}");
    // a checkpoint line forged (claims changed, MAC kept) is reported, and hides nothing: the
    // real checkpoints are still checked
    let lines = std::fs::read_to_string(&file).unwrap();
    let first = lines.lines().next().unwrap().to_string();
    let mut parts: Vec<String> = first.split('.').map(str::to_string).collect();
    let mut claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[0]).unwrap(),
    )
    .unwrap();
    claims["seq"] = serde_json::json!(i64::MAX);
    parts[0] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims.to_string());
    std::fs::write(&file, format!("{lines}{}\n", parts.join("."))).unwrap();
    assert!(problems(&s, "(anchor file)").await.iter().any(|p| matches!(p, Problem::Unverifiable { .. })));
    assert!(problems(&s, &tenant).await.contains(&Problem::Rewritten { seq: n }));
    assert!(!s.ops.verify_audit().await.unwrap().intact());
}
crate::both_backends!(signed_checkpoints_reveal_a_shortened_or_deleted_chain, anchors);
