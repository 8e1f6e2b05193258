//! idp-core: the domain model, the OAuth 2.0 / OpenID Connect protocol engine and the storage
//! ports of the identity provider.
//!
//! This crate never sees HTTP, SQL or an async runtime. Endpoints are functions that take parsed
//! parameters, an [`Env`] (clock and randomness) and a [`Store`] (the storage port), and return
//! decisions as values; the HTTP layer in `idp-server` only extracts, calls and maps outcomes.
//!
//! Departure from docs/design.md, on purpose: the store is used through `dyn Store` (via
//! `async-trait`) rather than a generic parameter threaded through every type. One vtable call
//! per query is nothing next to the I/O, and it keeps compile times and signatures small.

pub mod access_token;
pub mod admin;
pub mod audit;
pub mod authorize;
pub mod branding;
pub mod cas;
pub mod claims;
pub mod claims_request;
pub mod client_auth;
pub mod crypto;
pub mod device;
pub mod directory;
pub mod discovery;
pub mod env;
pub mod error;
pub mod identifiers;
pub mod keys;
pub mod licence;
pub mod logout;
pub mod model;
pub mod module;
pub mod netid;
pub mod org;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod ports;
pub mod profile;
pub mod realname;
pub mod saml;
pub mod scim;
pub mod scope;
pub mod signin;
pub mod sm;
pub mod sms;
pub mod suite;
pub mod svg;
pub mod token;
pub mod tokens_read;
pub mod totp;
pub mod upstream;
pub mod x509;

pub use env::{Env, SystemEnv, TestEnv};
pub use error::{OAuthError, StoreError};
pub use ports::{OrgStore, Store, UpstreamStore};
