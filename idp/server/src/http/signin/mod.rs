//! The sign-in pages (the interaction): password, SMS code, second factors (TOTP, passkeys,
//! recovery by SMS), the choice of acting context, the real-name upgrade and consent. An
//! interaction is started by a protocol front-end (`super::oidc::authorize` today) and ends by
//! handing its result back to it.

pub mod context;
pub mod factor;
pub mod interaction;
pub mod passkey;
pub mod realname;
pub mod recovery;
pub mod sms;
