//! Row structs shared by both backends and their conversion to the core's records.

use idp_core::StoreError;
use idp_core::model::{
    Account, AuditEvent, AuthCode, Ceremony, Client, ClientType, Grant, Interaction, RealName, RefreshToken,
    Session, SigningAlg, SigningKeyRecord, Tenant, TotpCredential, Upstream, UpstreamAuth, UpstreamLink,
    WebauthnCredential,
};
use idp_core::org::{Membership, Organisation};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("corrupt JSON column: {e}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: String,
    slug: String,
    name: String,
    created_at: i64,
    disabled: bool,
    settings: String,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        Ok(Tenant {
            settings: from_json(&r.settings)?,
            id: r.id,
            slug: r.slug,
            name: r.name,
            created_at: r.created_at,
            disabled: r.disabled,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    tenant_id: String,
    alg: String,
    sealed_private_key: Vec<u8>,
    created_at: i64,
    active: bool,
    activates_at: Option<i64>,
    retires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for SigningKeyRecord {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(SigningKeyRecord {
            alg: SigningAlg::parse(&r.alg)
                .ok_or_else(|| StoreError::Other(format!("unknown key algorithm {}", r.alg)))?,
            kid: r.kid,
            tenant_id: r.tenant_id,
            sealed_private_key: r.sealed_private_key,
            activates_at: r.activates_at.unwrap_or(r.created_at),
            created_at: r.created_at,
            active: r.active,
            retires_at: r.retires_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    tenant_id: String,
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    settings: String,
    disabled: bool,
    created_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Ok(Client {
            client_type: ClientType::parse(&r.client_type)
                .ok_or_else(|| StoreError::Other(format!("unknown client type {}", r.client_type)))?,
            settings: from_json(&r.settings)?,
            tenant_id: r.tenant_id,
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            disabled: r.disabled,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    tenant_id: String,
    username: String,
    name: Option<String>,
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    email: Option<String>,
    email_verified_at: Option<i64>,
    password_hash: Option<String>,
    failed_logins: i64,
    locked_until: Option<i64>,
    disabled: bool,
    roles: String,
    locale: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            roles: from_json(&r.roles)?,
            id: r.id,
            tenant_id: r.tenant_id,
            username: r.username,
            name: r.name,
            phone: r.phone,
            phone_verified_at: r.phone_verified_at,
            email: r.email,
            email_verified_at: r.email_verified_at,
            password_hash: r.password_hash,
            failed_logins: r.failed_logins,
            locked_until: r.locked_until,
            disabled: r.disabled,
            locale: r.locale,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id_hash: String,
    sid: String,
    tenant_id: String,
    account_id: String,
    auth_time: i64,
    amr: String,
    acr: String,
    min_acr: Option<String>,
    created_at: i64,
    last_seen: i64,
    expires_at: i64,
    act_context: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            amr: from_json(&r.amr)?,
            id_hash: r.id_hash,
            sid: r.sid,
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            auth_time: r.auth_time,
            acr: r.acr,
            min_acr: r.min_acr,
            act_context: r.act_context,
            created_at: r.created_at,
            last_seen: r.last_seen,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InteractionRow {
    id: String,
    tenant_id: String,
    request: String,
    browser_hash: String,
    session_sid: Option<String>,
    created_at: i64,
    expires_at: i64,
    pending: Option<String>,
    act_context: Option<String>,
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = StoreError;
    fn try_from(r: InteractionRow) -> Result<Self, StoreError> {
        Ok(Interaction {
            front: from_json(&r.request)?,
            id: r.id,
            tenant_id: r.tenant_id,
            browser_hash: r.browser_hash,
            session_sid: r.session_sid,
            pending: r.pending.as_deref().map(from_json).transpose()?,
            act_context: r.act_context,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    tenant_id: String,
    account_id: String,
    client_id: String,
    scopes: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        Ok(Grant {
            scopes: from_json(&r.scopes)?,
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            client_id: r.client_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    code_hash: String,
    family_id: String,
    authz: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    expires_at: i64,
    consumed: bool,
}

impl TryFrom<CodeRow> for AuthCode {
    type Error = StoreError;
    fn try_from(r: CodeRow) -> Result<Self, StoreError> {
        Ok(AuthCode {
            authz: from_json(&r.authz)?,
            code_hash: r.code_hash,
            family_id: r.family_id,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            expires_at: r.expires_at,
            consumed: r.consumed,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    token_hash: String,
    family_id: String,
    authz: String,
    created_at: i64,
    expires_at: i64,
    used: bool,
    revoked: bool,
}

impl TryFrom<RefreshRow> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            authz: from_json(&r.authz)?,
            token_hash: r.token_hash,
            family_id: r.family_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used: r.used,
            revoked: r.revoked,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    tenant_id: Option<String>,
    kind: String,
    account_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    detail: String,
    at: i64,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            detail: from_json(&r.detail)?,
            tenant_id: r.tenant_id,
            kind: r.kind,
            account_id: r.account_id,
            client_id: r.client_id,
            ip: r.ip,
            at: r.at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TotpRow {
    account_id: String,
    tenant_id: String,
    sealed_secret: Vec<u8>,
    confirmed: bool,
    last_step: Option<i64>,
    created_at: i64,
    algorithm: String,
    period: i64,
}

impl TryFrom<TotpRow> for TotpCredential {
    type Error = StoreError;
    fn try_from(r: TotpRow) -> Result<Self, StoreError> {
        Ok(TotpCredential {
            kind: idp_core::totp::OtpKind::from_stored(&r.algorithm, r.period)
                .ok_or_else(|| StoreError::Other(format!("one-time-password algorithm {:?}", r.algorithm)))?,
            account_id: r.account_id,
            tenant_id: r.tenant_id,
            sealed_secret: r.sealed_secret,
            confirmed: r.confirmed,
            last_step: r.last_step,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct WebauthnRow {
    id: String,
    tenant_id: String,
    account_id: String,
    cred_id: String,
    kind: String,
    name: String,
    credential: String,
    backup_eligible: bool,
    created_at: i64,
    last_used_at: Option<i64>,
    flagged_at: Option<i64>,
}

impl From<WebauthnRow> for WebauthnCredential {
    fn from(r: WebauthnRow) -> Self {
        WebauthnCredential {
            id: r.id,
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            cred_id: r.cred_id,
            kind: r.kind,
            name: r.name,
            credential: r.credential,
            backup_eligible: r.backup_eligible,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            flagged_at: r.flagged_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CeremonyRow {
    key: String,
    tenant_id: String,
    account_id: Option<String>,
    state: String,
    expires_at: i64,
}

impl From<CeremonyRow> for Ceremony {
    fn from(r: CeremonyRow) -> Self {
        Ceremony {
            key: r.key,
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            state: r.state,
            expires_at: r.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RealNameRow {
    account_id: String,
    tenant_id: String,
    level: i64,
    name: String,
    id_type: String,
    id_sealed: Vec<u8>,
    id_hash: String,
    id_masked: String,
    method: String,
    verifier: String,
    verified_at: i64,
    evidence: Option<String>,
}

impl From<RealNameRow> for RealName {
    fn from(r: RealNameRow) -> Self {
        RealName {
            account_id: r.account_id,
            tenant_id: r.tenant_id,
            level: r.level,
            name: r.name,
            id_type: r.id_type,
            id_sealed: r.id_sealed,
            id_hash: r.id_hash,
            id_masked: r.id_masked,
            method: r.method,
            verifier: r.verifier,
            verified_at: r.verified_at,
            evidence: r.evidence,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UpstreamRow {
    tenant_id: String,
    id: String,
    issuer: String,
    client_id: String,
    auth_method: String,
    secret_sealed: Option<Vec<u8>>,
    settings: String,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UpstreamRow> for Upstream {
    type Error = StoreError;
    fn try_from(r: UpstreamRow) -> Result<Self, StoreError> {
        Ok(Upstream {
            auth: UpstreamAuth::parse(&r.auth_method).ok_or_else(|| {
                StoreError::Other(format!("unknown upstream auth method {}", r.auth_method))
            })?,
            settings: from_json(&r.settings)?,
            tenant_id: r.tenant_id,
            id: r.id,
            issuer: r.issuer,
            client_id: r.client_id,
            secret_sealed: r.secret_sealed,
            disabled: r.disabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UpstreamLinkRow {
    tenant_id: String,
    upstream_id: String,
    subject: String,
    account_id: String,
    via: String,
    created_at: i64,
    last_used_at: Option<i64>,
    last_acr: Option<String>,
}

impl From<UpstreamLinkRow> for UpstreamLink {
    fn from(r: UpstreamLinkRow) -> Self {
        UpstreamLink {
            tenant_id: r.tenant_id,
            upstream_id: r.upstream_id,
            subject: r.subject,
            account_id: r.account_id,
            via: r.via,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            last_acr: r.last_acr,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrganisationRow {
    id: String,
    tenant_id: String,
    kind: String,
    name: String,
    parent_id: Option<String>,
    level: Option<String>,
    region_code: Option<String>,
    uscc: Option<String>,
    uscc_flagged: bool,
    path: String,
    created_at: i64,
    representative_name: Option<String>,
    representative_hash: Option<String>,
}

impl From<OrganisationRow> for Organisation {
    fn from(r: OrganisationRow) -> Self {
        Organisation {
            id: r.id,
            tenant_id: r.tenant_id,
            kind: r.kind,
            name: r.name,
            parent_id: r.parent_id,
            level: r.level,
            region_code: r.region_code,
            uscc: r.uscc,
            uscc_flagged: r.uscc_flagged,
            path: r.path,
            created_at: r.created_at,
            representative_name: r.representative_name,
            representative_hash: r.representative_hash,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    id: String,
    tenant_id: String,
    account_id: String,
    organisation_id: String,
    kind: String,
    roles: String,
    created_at: i64,
    revoked_at: Option<i64>,
    matters: Option<String>,
    starts_at: Option<i64>,
    expires_at: Option<i64>,
    confirmed_at: Option<i64>,
    granted_by: Option<String>,
    source: Option<String>,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(r: MembershipRow) -> Result<Self, StoreError> {
        Ok(Membership {
            roles: from_json(&r.roles)?,
            id: r.id,
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            organisation_id: r.organisation_id,
            kind: r.kind,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            matters: r.matters.as_deref().map(from_json).transpose()?.unwrap_or_default(),
            starts_at: r.starts_at,
            expires_at: r.expires_at,
            confirmed_at: r.confirmed_at,
            granted_by: r.granted_by,
            source: r.source,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChainedRow {
    chain: String,
    seq: i64,
    prev_hash: String,
    hash: String,
    tenant_id: Option<String>,
    kind: String,
    account_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    detail: String,
    at: i64,
}

impl From<ChainedRow> for idp_core::audit::ChainedRecord {
    fn from(r: ChainedRow) -> Self {
        Self {
            chain: r.chain,
            seq: r.seq,
            prev_hash: r.prev_hash,
            hash: r.hash,
            tenant_id: r.tenant_id,
            kind: r.kind,
            account_id: r.account_id,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
            at: r.at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceGrantRow {
    device_hash: String,
    tenant_id: String,
    client_id: String,
    user_code: String,
    scope: String,
    status: String,
    account_id: Option<String>,
    interval_seconds: i64,
    last_poll_at: i64,
    expires_at: i64,
    created_at: i64,
}

impl From<DeviceGrantRow> for idp_core::model::DeviceGrant {
    fn from(r: DeviceGrantRow) -> Self {
        idp_core::model::DeviceGrant {
            device_hash: r.device_hash,
            tenant_id: r.tenant_id,
            client_id: r.client_id,
            user_code: r.user_code,
            scope: r.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            status: r.status,
            account_id: r.account_id,
            interval: r.interval_seconds,
            last_poll_at: r.last_poll_at,
            expires_at: r.expires_at,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LogoutDeliveryRow {
    id: String,
    tenant_id: String,
    client_id: String,
    account_id: String,
    sid: String,
    uri: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    #[allow(dead_code)] // read with the other columns; only the claim query uses it
    leased_until: i64,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
    expires_at: i64,
    session_index: Option<String>,
    name_id: Option<String>,
    name_id_format: Option<String>,
}

impl From<LogoutDeliveryRow> for idp_core::model::LogoutDelivery {
    fn from(r: LogoutDeliveryRow) -> Self {
        idp_core::model::LogoutDelivery {
            id: r.id,
            tenant_id: r.tenant_id,
            client_id: r.client_id,
            account_id: r.account_id,
            sid: r.sid,
            uri: r.uri,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            expires_at: r.expires_at,
            session_index: r.session_index,
            name_id: r.name_id.zip(r.name_id_format),
        }
    }
}
