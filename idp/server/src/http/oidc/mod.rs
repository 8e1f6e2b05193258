//! The OpenID Connect and OAuth 2.0 protocol endpoints: discovery and JWKS, `/authorize` (the
//! first front-end of the sign-in in `super::signin`), the token endpoint with introspection,
//! revocation and device authorization, UserInfo, and RP-initiated logout with the page that
//! tells every application of the session that it ended.

pub mod authorize;
pub mod discovery;
pub mod logout;
pub mod signed_out;
pub mod token;
pub mod userinfo;
