//! The columns each row struct reads, by table: every query names its columns (never `*`), so
//! that a migration may add a column without changing what an older node's prepared
//! statements return (PostgreSQL refuses a cached plan whose result type changed).
//! `concat!("SELECT ", tenants_columns!(), " FROM tenants …")` keeps each query one literal.

macro_rules! tenants_columns {
    () => {
        "id, slug, name, created_at, disabled, settings"
    };
}

macro_rules! signing_keys_columns {
    () => {
        "kid, tenant_id, alg, sealed_private_key, created_at, active, activates_at, \
         retires_at, revoked_at"
    };
}

macro_rules! clients_columns {
    () => {
        "tenant_id, client_id, name, client_type, secret_hash, settings, disabled, \
         created_at"
    };
}

macro_rules! accounts_columns {
    () => {
        "accounts.id, accounts.tenant_id, accounts.username, accounts.name, accounts.phone, \
         accounts.phone_verified_at, accounts.email, accounts.password_hash, \
         accounts.failed_logins, accounts.locked_until, accounts.disabled, accounts.roles, \
         accounts.locale, accounts.created_at, accounts.updated_at"
    };
}

macro_rules! sessions_columns {
    () => {
        "id_hash, sid, tenant_id, account_id, auth_time, amr, acr, min_acr, created_at, \
         last_seen, expires_at, act_context"
    };
}

macro_rules! interactions_columns {
    () => {
        "id, tenant_id, request, browser_hash, session_sid, created_at, expires_at, pending, \
         act_context"
    };
}

macro_rules! grants_columns {
    () => {
        "tenant_id, account_id, client_id, scopes, created_at, updated_at"
    };
}

macro_rules! auth_codes_columns {
    () => {
        "code_hash, family_id, authz, redirect_uri, code_challenge, expires_at, consumed"
    };
}

macro_rules! refresh_tokens_columns {
    () => {
        "token_hash, family_id, authz, created_at, expires_at, used, revoked"
    };
}

macro_rules! totp_credentials_columns {
    () => {
        "account_id, tenant_id, sealed_secret, confirmed, last_step, created_at, algorithm, period"
    };
}

macro_rules! webauthn_credentials_columns {
    () => {
        "id, tenant_id, account_id, cred_id, kind, name, credential, backup_eligible, \
         created_at, last_used_at, flagged_at"
    };
}

macro_rules! webauthn_ceremonies_columns {
    () => {
        "key, tenant_id, account_id, state, expires_at"
    };
}

macro_rules! real_names_columns {
    () => {
        "account_id, tenant_id, level, name, id_type, id_sealed, id_hash, id_masked, method, \
         verifier, verified_at, evidence"
    };
}

macro_rules! upstreams_columns {
    () => {
        "tenant_id, id, issuer, client_id, auth_method, secret_sealed, settings, disabled, created_at, \
         updated_at"
    };
}

macro_rules! upstream_links_columns {
    () => {
        "tenant_id, upstream_id, subject, account_id, via, created_at, last_used_at, last_acr"
    };
}

macro_rules! organisations_columns {
    () => {
        "id, tenant_id, kind, name, parent_id, level, region_code, uscc, uscc_flagged, path, \
         created_at, representative_name, representative_hash"
    };
}

macro_rules! memberships_columns {
    () => {
        "id, tenant_id, account_id, organisation_id, kind, roles, created_at, revoked_at, \
         matters, starts_at, expires_at, confirmed_at, granted_by, source"
    };
}

macro_rules! device_grants_columns {
    () => {
        "device_hash, tenant_id, client_id, user_code, scope, status, account_id, \
         interval_seconds, last_poll_at, expires_at, created_at"
    };
}

macro_rules! logout_deliveries_columns {
    () => {
        "id, tenant_id, client_id, account_id, sid, uri, status, attempts, next_attempt_at, \
         leased_until, last_error, created_at, delivered_at, expires_at, session_index, name_id, name_id_format"
    };
}
