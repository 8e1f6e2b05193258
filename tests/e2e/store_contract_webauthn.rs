//! The `Store` contract for the second factors and settings (part of
//! `store_contract`). Passkeys and WebAuthn ceremonies: a
//! credential id registered once per tenant, per-account listing, use and flagging, removal
//! only by its owner; a ceremony taken once and not after it expired.

use idp_core::Store;
use idp_core::model::{Ceremony, WebauthnCredential};

fn key(id: &str, account_id: &str, cred_id: &str, created_at: i64) -> WebauthnCredential {
    WebauthnCredential {
        id: id.into(),
        tenant_id: "tenant-a".into(),
        account_id: account_id.into(),
        cred_id: cred_id.into(),
        kind: "passkey".into(),
        name: format!("key {id}"),
        credential: "{\"counter\":0}".into(),
        backup_eligible: true,
        created_at,
        last_used_at: None,
        flagged_at: None,
    }
}

pub async fn webauthn(s: &dyn Store) {
    let k1 = key("k1", "acc-1", "cred-1", 10);
    let k2 = key("k2", "acc-1", "cred-2", 20);
    assert!(s.add_webauthn_credential(&k2).await.unwrap());
    assert!(s.add_webauthn_credential(&k1).await.unwrap());
    assert!(
        !s.add_webauthn_credential(&key("k3", "acc-3", "cred-1", 30)).await.unwrap(),
        "one credential id per tenant"
    );
    assert_eq!(s.webauthn_credentials("acc-1").await.unwrap(), vec![k1.clone(), k2.clone()], "oldest first");
    assert!(s.webauthn_credentials("acc-3").await.unwrap().is_empty());
    assert_eq!(s.webauthn_credential("tenant-a", "cred-2").await.unwrap(), Some(k2.clone()));
    assert_eq!(s.webauthn_credential("tenant-b", "cred-2").await.unwrap(), None, "tenant isolation");

    s.use_webauthn_credential("k1", 40, Some("{\"counter\":5}")).await.unwrap();
    s.use_webauthn_credential("k1", 41, None).await.unwrap();
    let used = s.webauthn_credential("tenant-a", "cred-1").await.unwrap().unwrap();
    assert_eq!((used.last_used_at, used.credential.as_str()), (Some(41), "{\"counter\":5}"));
    s.flag_webauthn_credential("k1", 50).await.unwrap();
    s.flag_webauthn_credential("k1", 60).await.unwrap();
    assert_eq!(
        s.webauthn_credential("tenant-a", "cred-1").await.unwrap().unwrap().flagged_at,
        Some(50),
        "first flag kept"
    );

    assert!(!s.delete_webauthn_credential("acc-3", "k1").await.unwrap(), "only the owner's");
    assert!(s.delete_webauthn_credential("acc-1", "k1").await.unwrap());
    assert!(!s.delete_webauthn_credential("acc-1", "k1").await.unwrap());
    assert_eq!(s.webauthn_credentials("acc-1").await.unwrap(), vec![k2]);

    let c = |state: &str, expires_at| Ceremony {
        key: "int-1:signin".into(),
        tenant_id: "tenant-a".into(),
        account_id: None,
        state: state.into(),
        expires_at,
    };
    s.put_ceremony(&c("first", 100)).await.unwrap();
    s.put_ceremony(&c("second", 100)).await.unwrap();
    assert_eq!(
        s.take_ceremony("int-1:signin", 50).await.unwrap(),
        Some(c("second", 100)),
        "the last replaces"
    );
    assert_eq!(s.take_ceremony("int-1:signin", 50).await.unwrap(), None, "once");
    s.put_ceremony(&c("late", 100)).await.unwrap();
    assert_eq!(s.take_ceremony("int-1:signin", 100).await.unwrap(), None, "expired");
    assert_eq!(s.take_ceremony("int-1:signin", 10).await.unwrap(), None, "and gone");
    s.put_ceremony(&c("old", 5)).await.unwrap();
    assert!(s.purge_expired(10).await.unwrap() >= 1);
    assert_eq!(s.take_ceremony("int-1:signin", 1).await.unwrap(), None, "purged");
}

/// Tenant settings round-trip (and default when never set); a verified phone is stored with
/// its time and refused when another account of the tenant has the number.
pub async fn settings_and_phones(s: &dyn Store) {
    use idp_core::StoreError;
    use idp_core::model::TenantSettings;
    let before = s.tenant_by_slug("alpha").await.unwrap().unwrap();
    assert_eq!(before.settings, TenantSettings::default());
    let mut settings = TenantSettings::default();
    settings.factors.sms_signin = false;
    settings.factors.sms_recovery = true;
    s.set_tenant_settings(&before.id, &settings).await.unwrap();
    assert_eq!(s.tenant_by_slug("alpha").await.unwrap().unwrap().settings, settings);
    assert!(s.list_tenants().await.unwrap().iter().any(|t| t.settings == settings));

    s.set_account_phone("tenant-a", "acc-3", "+8613800000003", 70).await.unwrap();
    let carol = s.account("tenant-a", "acc-3").await.unwrap().unwrap();
    assert_eq!((carol.phone.as_deref(), carol.phone_verified_at), (Some("+8613800000003"), Some(70)));
    // acc-1 holds +8613800000001
    let taken = s.set_account_phone("tenant-a", "acc-3", "+8613800000001", 80).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(
        s.account("tenant-a", "acc-3").await.unwrap().unwrap().phone.as_deref(),
        Some("+8613800000003")
    );
}
