//! The records of the domain: tenants, signing keys, clients, accounts, browser sessions,
//! interactions, grants (consent records), authorization codes and tokens.
//!
//! Identifiers are random strings; times are Unix seconds. Secrets appear here only as
//! SHA-256 digests, Argon2id hashes or KEK-sealed bytes, and `Debug` never prints them.
//!
//! One file per aggregate; everything is re-exported here by name.

mod account;
mod audit;
mod client;
mod credential;
mod grant;
mod identity;
mod key;
mod session;
mod tenant;
mod token;
mod upstream;

pub use crate::profile::{Address, Profile};
pub use account::Account;
pub use audit::AuditEvent;
pub use client::{AccessTokenFormat, AuthMethod, Client, ClientSettings, ClientType};
pub use credential::{Ceremony, SmsCheck, SmsCode, TotpCredential, WebauthnCredential};
pub use grant::Grant;
pub use identity::RealName;
pub use key::{SM2_JOSE_ALG, SigningAlg, SigningKeyRecord};
pub use session::{
    AuthRequest, CasPgt, CasTicketUse, Interaction, LogoutDelivery, PendingSignIn, ResponseMode,
    SamlParticipation, Session,
};
pub use tenant::{
    CryptoProfile, CryptoSettings, DEFAULT_TIME_ZONE, MAX_REFRESH_REUSE_SECONDS, OfferedFactors, Tenant,
    TenantPolicy, TenantSettings,
};
pub use token::{AuthCode, Authorization, DeviceGrant, RefreshToken};
pub use upstream::{
    IdentityClaims, LevelRule, LicenceUpstream, NetidUpstream, SamlUpstream, Upstream, UpstreamAuth,
    UpstreamLink, UpstreamSession, UpstreamSettings,
};
