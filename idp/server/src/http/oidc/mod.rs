//! The OpenID Connect and OAuth 2.0 protocol endpoints: discovery and JWKS, `/authorize` (the
//! first front-end of the sign-in in `super::signin`), the token endpoint with introspection,
//! revocation and device authorization, UserInfo, and RP-initiated logout (whose page, telling
//! every application of the session that it ended, is `super::signed_out`, shared with the
//! account pages and every other protocol's logout).

pub mod authorize;
pub mod discovery;
pub mod logout;
pub mod token;
pub mod userinfo;
