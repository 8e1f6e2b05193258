//! The sign-in engine (`engine.rs`) and its pages (the interaction): password, SMS code, second
//! factors (TOTP, passkeys, recovery by SMS), the choice of acting context, the real-name
//! upgrade and consent; beside them self-registration and the forgotten password
//! (`selfservice.rs`). An interaction is started by a protocol front-end (OpenID Connect,
//! CAS, SAML) or the account pages with a
//! `SignInRequest` (`idp_core::signin`), and ends by handing a `SignedIn` or a refusal back to
//! it through `super::fronts`. Nothing here reads a protocol's request.

pub mod context;
pub mod engine;
pub mod enrol;
pub mod factor;
pub mod interaction;
pub mod passkey;
pub mod realname;
pub mod recovery;
pub mod selfservice;
pub mod sms;
pub mod upstream;
pub mod upstream_app;
pub mod upstream_licence;
pub mod upstream_link;
pub mod upstream_logout;
pub mod upstream_netid;
pub mod upstream_saml;
pub mod upstream_saml_slo;
