//! The `Store` contract for logout everywhere, withdrawn grants and deleted accounts (part of
//! `store_contract`): the clients of a session come from its codes; a due delivery is claimed
//! by one caller only, stays leased, and comes back at its next attempt; withdrawing a grant
//! revokes the pair's families and uses up its unredeemed codes, nobody else's; deleting an
//! account removes what describes the person and kills its tokens. A redemption that needs its
//! session live writes only while it lives (in its tenant).

use idp_core::Store;
use idp_core::model::CasTicketUse;
use idp_core::model::{AuthCode, Authorization, Grant, LogoutDelivery, Session};
use idp_core::ports::{Issue, LiveSession, Redeem};
use idp_core::token::TokenResponse;

use crate::store_contract::{T1, account, authz, code, session};

fn delivery(id: &str, client: &str, now: i64) -> LogoutDelivery {
    LogoutDelivery {
        id: id.into(),
        tenant_id: T1.into(),
        client_id: client.into(),
        account_id: "acc-l1".into(),
        sid: "sid-l".into(),
        uri: "https://rp.example.test/bc".into(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
        delivered_at: None,
        expires_at: now + 86_400,
        session_index: None,
        name_id: None,
    }
}

fn ids(list: &[LogoutDelivery]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|d| d.id.clone()).collect();
    v.sort();
    v
}

pub async fn logout(s: &dyn Store) {
    // the clients that took part in a session are those its codes were issued to, each once
    let with_sid = |hash: &str, client: &str, sid: &str| AuthCode {
        authz: Authorization { client_id: client.into(), sid: Some(sid.into()), ..authz() },
        ..code(hash, &format!("fam-{hash}"))
    };
    s.insert_session(&Session { sid: "sid-l".into(), id_hash: "sess-hash-l".into(), ..session(9, 50_000) })
        .await
        .unwrap();
    for (hash, client) in [("lc-1", "web-1"), ("lc-2", "web-2"), ("lc-3", "web-1")] {
        s.insert_code(&with_sid(hash, client, "sid-l")).await.unwrap();
    }
    s.insert_code(&with_sid("lc-4", "web-3", "sid-other")).await.unwrap();
    assert_eq!(s.session_clients(T1, "sid-l").await.unwrap(), vec!["web-1", "web-2"]);
    assert!(s.session_clients("tenant-b", "sid-l").await.unwrap().is_empty(), "per tenant");

    live_session_redemption(s).await;

    // the same person signing in again renews the session in place, under its sid
    let renewed =
        Session { id_hash: "sess-hash-l2".into(), acr: "aal2".into(), last_seen: 70, ..session(9, 60_000) };
    let renewed = Session { sid: "sid-l".into(), ..renewed };
    assert!(s.renew_session(&renewed).await.unwrap());
    assert!(s.session(T1, "sess-hash-l").await.unwrap().is_none(), "the old cookie is dead");
    let now_live = s.session(T1, "sess-hash-l2").await.unwrap().expect("renewed");
    assert_eq!(
        (now_live.sid.as_str(), now_live.acr.as_str(), now_live.expires_at),
        ("sid-l", "aal2", 60_000)
    );
    assert_eq!(s.session_clients(T1, "sid-l").await.unwrap(), vec!["web-1", "web-2"], "its clients stay");
    let stranger = Session { account_id: "acc-2".into(), id_hash: "sess-hash-x".into(), ..renewed.clone() };
    assert!(!s.renew_session(&stranger).await.unwrap(), "only the same person's");
    assert!(!s.renew_session(&Session { sid: "sid-none".into(), ..renewed }).await.unwrap());

    // a background job's lease: one holder at a time, renewed by it, taken over once run out
    assert!(s.claim_job("housekeeping", "node-a", 1_000, 1_090).await.unwrap());
    assert!(!s.claim_job("housekeeping", "node-b", 1_010, 1_100).await.unwrap(), "node-a holds it");
    assert!(s.claim_job("housekeeping", "node-a", 1_060, 1_150).await.unwrap(), "renewed");
    assert!(!s.claim_job("housekeeping", "node-b", 1_100, 1_190).await.unwrap(), "still node-a's");
    assert!(s.claim_job("other-job", "node-b", 1_100, 1_190).await.unwrap(), "leases are per job");
    assert!(s.claim_job("housekeeping", "node-b", 1_150, 1_240).await.unwrap(), "run out: taken over");
    assert!(!s.claim_job("housekeeping", "node-a", 1_200, 1_290).await.unwrap());

    // deliveries: claimed once, leased, retried at their time
    let now = 60_000;
    let batch: Vec<_> =
        (0..6).map(|i| delivery(&format!("d-{i}"), if i < 3 { "web-1" } else { "web-2" }, now)).collect();
    s.insert_logout_deliveries(&batch).await.unwrap();
    s.insert_logout_deliveries(&[]).await.unwrap();
    let (a, b) = tokio::join!(
        s.claim_logout_deliveries(now, now + 60, 4),
        s.claim_logout_deliveries(now, now + 60, 4)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all = ids(&a);
    all.extend(ids(&b));
    all.sort();
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all, unique, "no delivery claimed twice");
    assert!(all.len() <= 6);
    let rest = s.claim_logout_deliveries(now, now + 60, 10).await.unwrap();
    assert_eq!(all.len() + rest.len(), 6, "every one claimed exactly once");
    assert!(s.claim_logout_deliveries(now + 59, now + 120, 10).await.unwrap().is_empty(), "still leased");
    // one delivered, one failed with its next attempt at now + 5
    let done = LogoutDelivery {
        status: "delivered".into(),
        attempts: 1,
        delivered_at: Some(now),
        ..delivery("d-0", "web-1", now)
    };
    s.finish_logout_delivery(&done).await.unwrap();
    let failed = LogoutDelivery {
        attempts: 1,
        next_attempt_at: now + 5,
        last_error: Some("HTTP 500".into()),
        ..delivery("d-1", "web-1", now)
    };
    s.finish_logout_delivery(&failed).await.unwrap();
    assert!(s.claim_logout_deliveries(now + 4, now + 64, 10).await.unwrap().is_empty());
    let again = s.claim_logout_deliveries(now + 5, now + 65, 10).await.unwrap();
    assert_eq!(ids(&again), vec!["d-1"], "the failed one, at its time; never the delivered one");
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 500"));
    // the leases of the others run out: taken over
    assert_eq!(s.claim_logout_deliveries(now + 61, now + 121, 10).await.unwrap().len(), 4);
    let listed = s.logout_deliveries(T1, Some("web-1"), 10).await.unwrap();
    assert_eq!(ids(&listed), vec!["d-0", "d-1", "d-2"]);
    let d0 = listed.iter().find(|d| d.id == "d-0").unwrap();
    assert_eq!((d0.status.as_str(), d0.delivered_at), ("delivered", Some(now)));
    assert_eq!(s.logout_deliveries(T1, None, 10).await.unwrap().len(), 6);
    assert!(s.logout_deliveries("tenant-b", None, 10).await.unwrap().is_empty());

    // withdrawing a grant: the pair's families die, its unredeemed code is used up
    s.insert_account(&account(T1, "acc-l1", "lena", None)).await.unwrap();
    let pair = |hash: &str, client: &str, account: &str| AuthCode {
        authz: Authorization { client_id: client.into(), account_id: Some(account.into()), ..authz() },
        ..code(hash, &format!("fam-{hash}"))
    };
    for (hash, client, acc) in
        [("gw-1", "web-1", "acc-l1"), ("gw-2", "web-2", "acc-l1"), ("gw-3", "web-1", "acc-2")]
    {
        s.insert_code(&pair(hash, client, acc)).await.unwrap();
    }
    let grant = |client: &str, at: i64| Grant {
        tenant_id: T1.into(),
        account_id: "acc-l1".into(),
        client_id: client.into(),
        scopes: vec!["openid".into(), "profile".into()],
        created_at: at,
        updated_at: at,
    };
    s.upsert_grant(&grant("web-1", 10)).await.unwrap();
    s.upsert_grant(&grant("web-2", 20)).await.unwrap();
    let listed: Vec<String> =
        s.account_grants(T1, "acc-l1").await.unwrap().into_iter().map(|g| g.client_id).collect();
    assert_eq!(listed, vec!["web-2", "web-1"], "most recently changed first");
    assert!(s.withdraw_grant(T1, "acc-l1", "web-1").await.unwrap());
    assert!(!s.withdraw_grant(T1, "acc-l1", "web-1").await.unwrap(), "once");
    assert!(s.access_token_revoked("any-jti", Some("fam-gw-1"), "no-tenant", "no-client").await.unwrap());
    assert!(
        !s.access_token_revoked("any-jti", Some("fam-gw-2"), "no-tenant", "no-client").await.unwrap(),
        "another client's"
    );
    assert!(
        !s.access_token_revoked("any-jti", Some("fam-gw-3"), "no-tenant", "no-client").await.unwrap(),
        "another person's"
    );
    let refuse =
        |_: &AuthCode| -> Result<_, idp_core::OAuthError> { Err(idp_core::OAuthError::invalid_grant("no")) };
    assert!(
        matches!(s.redeem_code("gw-1", T1, "web-1", &refuse).await.unwrap(), Redeem::Replayed),
        "used up"
    );
    assert_eq!(s.account_grants(T1, "acc-l1").await.unwrap().len(), 1);

    // deleting the account: everything that describes the person goes, its tokens die
    assert!(!s.delete_account("tenant-b", "acc-l1").await.unwrap(), "not in that tenant");
    assert!(s.delete_account(T1, "acc-l1").await.unwrap());
    assert_eq!(s.account(T1, "acc-l1").await.unwrap(), None);
    assert!(s.account_grants(T1, "acc-l1").await.unwrap().is_empty());
    assert!(s.access_token_revoked("any-jti", Some("fam-gw-2"), "no-tenant", "no-client").await.unwrap());
    assert!(
        !s.access_token_revoked("any-jti", Some("fam-gw-3"), "no-tenant", "no-client").await.unwrap(),
        "another person's"
    );
    assert!(s.account_by_login(T1, "lena").await.unwrap().is_none());
    assert!(!s.delete_account(T1, "acc-l1").await.unwrap(), "once");
}

/// A redemption that needs its browser session live (a CAS ticket's): written while the
/// session lives; once it has ended, for another tenant's session of that sid, or for an unknown
/// sid, the code is used up and nothing of the issue is written. Session "sid-l" (tenant T1)
/// lives until 50,000.
async fn live_session_redemption(s: &dyn Store) {
    let redeem = async |hash: &str, tenant: &str, sid: &str, at: i64| {
        let code = AuthCode {
            authz: Authorization { client_id: "web-1".into(), sid: Some("sid-l".into()), ..authz() },
            ..code(hash, &format!("fam-{hash}"))
        };
        s.insert_code(&code).await.unwrap();
        let issue = |c: &AuthCode| -> Result<(Issue, TokenResponse), idp_core::OAuthError> {
            let used = CasTicketUse {
                sid: "sid-l".into(),
                ticket: c.code_hash.clone(),
                tenant_id: T1.into(),
                client_id: "web-1".into(),
                service: "https://app.example.test/".into(),
                created_at: at,
            };
            let live = LiveSession { tenant_id: tenant.into(), sid: sid.into(), at };
            Ok((
                Issue { cas_ticket: Some(used), live_session: Some(live), ..Issue::default() },
                Default::default(),
            ))
        };
        let read = s.code(hash).await.unwrap().unwrap();
        let outcome = s.redeem_read_code(read, T1, "web-1", &issue).await.unwrap();
        let written = s.cas_session_tickets(T1, "sid-l").await.unwrap().iter().any(|t| t.ticket == hash);
        let again = s.redeem_code(hash, T1, "web-1", &issue).await.unwrap();
        assert!(matches!(again, Redeem::Replayed), "{hash}: used up either way");
        (outcome, written)
    };
    let (outcome, written) = redeem("ls-1", T1, "sid-l", 49_999).await;
    assert!(matches!(outcome, Redeem::Issued(..)) && written, "a live session");
    for (hash, tenant, sid, at) in
        [("ls-2", T1, "sid-l", 50_000), ("ls-3", "tenant-b", "sid-l", 100), ("ls-4", T1, "sid-none", 100)]
    {
        let (outcome, written) = redeem(hash, tenant, sid, at).await;
        assert!(matches!(outcome, Redeem::SessionEnded) && !written, "{hash}");
    }
    // a code read before another caller consumed it loses, as a stale read must
    let stale = s.code("ls-1").await.unwrap().map(|c| AuthCode { consumed: false, ..c }).unwrap();
    let ok = |_: &AuthCode| -> Result<(Issue, TokenResponse), idp_core::OAuthError> {
        Ok((Issue::default(), TokenResponse::default()))
    };
    assert!(matches!(s.redeem_read_code(stale, T1, "web-1", &ok).await.unwrap(), Redeem::Replayed));
}
