//! The `Store` contract for accounts (part of `store_contract`): lookups by id, username,
//! phone and verified email address, tenant isolation, the unique username and phone, and
//! the account's updates.

use idp_core::model::Account;
use idp_core::{Store, StoreError};

use crate::store_contract::{T1, T2, acc, account};

/// Asserts that a value matches a pattern, printing the value otherwise.
macro_rules! is {
    ($e:expr, $p:pat) => {{
        let v = $e;
        assert!(matches!(v, $p), "{}: got {v:?}", stringify!($p));
    }};
}

pub(crate) async fn accounts(s: &dyn Store) {
    let alice = account(T1, "acc-1", "alice", Some("+8613800000001"));
    let bob =
        Account { roles: vec![], locale: None, password_hash: None, ..account(T1, "acc-2", "bob", None) };
    s.insert_account(&bob).await.unwrap();
    s.insert_account(&alice).await.unwrap();
    // two accounts without a phone do not collide; the same username in another tenant is fine
    s.insert_account(&account(T1, "acc-3", "carol", None)).await.unwrap();
    let alice_b = account(T2, "acc-b1", "alice", Some("+8613800000001"));
    s.insert_account(&alice_b).await.unwrap();

    assert_eq!(s.account(T1, "acc-1").await.unwrap(), Some(alice.clone()));
    assert_eq!(s.account(T1, "acc-2").await.unwrap(), Some(bob));
    assert_eq!(s.account(T2, "acc-1").await.unwrap(), None, "tenant isolation");
    assert_eq!(s.account(T1, "nope").await.unwrap(), None);
    assert_eq!(s.account_by_login(T1, "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(s.account_by_login(T1, "+8613800000001").await.unwrap(), Some(alice), "by phone");
    assert_eq!(s.account_by_login(T2, "alice").await.unwrap(), Some(alice_b.clone()));
    assert_eq!(s.account_by_login(T2, "bob").await.unwrap(), None, "tenant isolation");
    assert_eq!(s.account_by_login(T1, "dave").await.unwrap(), None);
    // a username equal to someone else's phone number: the username wins
    s.insert_account(&account(T1, "acc-4", "13900000000", None)).await.unwrap();
    s.insert_account(&account(T1, "acc-5", "erin", Some("13900000000"))).await.unwrap();
    assert_eq!(s.account_by_login(T1, "13900000000").await.unwrap().unwrap().id, "acc-4");
    let names: Vec<String> = s.list_accounts(T1).await.unwrap().into_iter().map(|a| a.username).collect();
    assert_eq!(names, vec!["13900000000", "alice", "bob", "carol", "erin"], "ordered by username");
    assert_eq!(s.list_accounts(T2).await.unwrap(), vec![alice_b.clone()]);
    is!(s.insert_account(&account(T1, "acc-9", "alice", None)).await, Err(StoreError::Conflict(_)));
    is!(
        s.insert_account(&account(T1, "acc-9", "frank", Some("+8613800000001"))).await,
        Err(StoreError::Conflict(_))
    );
    is!(s.insert_account(&account(T1, "acc-1", "george", None)).await, Err(StoreError::Conflict(_)));

    // by a verified email address: only where the account's current address was proven
    let found = |t: &'static str, e: &'static str| async move {
        s.accounts_by_verified_email(t, e, 10).await.unwrap().into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert!(found(T1, "alice@example.test").await.is_empty(), "stored, not verified");
    for (t, id, name) in [(T1, "acc-6", "hana"), (T1, "acc-7", "ines"), (T2, "acc-b2", "hana")] {
        s.insert_account(&account(t, id, name, None)).await.unwrap();
    }
    s.set_account_email(T1, "acc-6", "shared@example.test", 300).await.unwrap();
    s.set_account_email(T1, "acc-7", "shared@example.test", 301).await.unwrap();
    s.set_account_email(T2, "acc-b2", "shared@example.test", 302).await.unwrap();
    assert_eq!(found(T1, "shared@example.test").await, vec!["acc-6", "acc-7"]);
    assert_eq!(found(T2, "shared@example.test").await, vec!["acc-b2"], "tenant isolation");
    assert!(found(T1, "hana@example.test").await.is_empty(), "the address it had before");
    assert_eq!(s.accounts_by_verified_email(T1, "shared@example.test", 1).await.unwrap().len(), 1);
    let a = &s.accounts_by_verified_email(T1, "shared@example.test", 1).await.unwrap()[0];
    assert_eq!(a.email_verified_at, Some(300));

    s.set_password_hash(T1, "acc-1", "$argon2id$new", 500).await.unwrap();
    let a = acc(s, "acc-1").await;
    assert_eq!((a.password_hash.as_deref(), a.updated_at), (Some("$argon2id$new"), 500));
    is!(s.set_password_hash(T2, "acc-1", "h", 500).await, Err(StoreError::NotFound));
    is!(s.set_account_disabled(T1, "nope", true, 500).await, Err(StoreError::NotFound));
    is!(s.set_account_disabled(T2, "acc-1", true, 500).await, Err(StoreError::NotFound));
    assert_eq!(s.account(T2, "acc-b1").await.unwrap(), Some(alice_b.clone()), "other tenant untouched");

    // lockout: true exactly on the threshold-th failure, then the counter restarts
    let fails = |lock_until| s.record_login_failure(T1, "acc-1", 3, lock_until);
    let state = |a: Account| (a.failed_logins, a.locked_until);
    assert!(!fails(1001).await.unwrap());
    assert_eq!(state(acc(s, "acc-1").await), (1, None));
    assert!(!fails(1002).await.unwrap());
    assert!(fails(1003).await.unwrap(), "the third failure locks");
    assert_eq!(state(acc(s, "acc-1").await), (0, Some(1003)));
    assert!(!fails(2001).await.unwrap());
    assert!(!fails(2002).await.unwrap());
    assert_eq!(state(acc(s, "acc-1").await), (2, Some(1003)), "the old lock stays until relocked");
    assert!(fails(2003).await.unwrap(), "the counter restarted: three more lock again");
    assert_eq!(state(acc(s, "acc-1").await), (0, Some(2003)));
    // failures within the same second as the locking one do not report "locked now" again
    assert!(!fails(2003).await.unwrap());
    assert!(!fails(2003).await.unwrap());
    assert!(fails(2003).await.unwrap());
    assert!(!s.record_login_failure(T1, "nope", 3, 1).await.unwrap(), "unknown account");
    assert!(!s.record_login_failure(T2, "acc-1", 1, 1).await.unwrap(), "tenant isolation");
    assert_eq!(s.account(T2, "acc-b1").await.unwrap(), Some(alice_b));
    assert!(!fails(3001).await.unwrap());
    s.reset_login_failures(T1, "acc-1").await.unwrap();
    assert_eq!(state(acc(s, "acc-1").await), (0, None));
    s.reset_login_failures(T1, "acc-1").await.unwrap();
    s.reset_login_failures(T1, "nope").await.unwrap();

    // disabling also clears the failure counter and the lock
    assert!(!fails(4001).await.unwrap());
    s.set_account_disabled(T1, "acc-1", true, 600).await.unwrap();
    let a = acc(s, "acc-1").await;
    assert_eq!((a.disabled, a.failed_logins, a.locked_until, a.updated_at), (true, 0, None, 600));
    s.set_account_disabled(T1, "acc-1", false, 700).await.unwrap();
    let a = acc(s, "acc-1").await;
    assert_eq!((a.disabled, a.updated_at), (false, 700));
}
