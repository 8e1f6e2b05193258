//! idp-server: the HTTP layer (axum), pages, operator CLI, configuration and start-up of the
//! identity provider. [`Application::build`] binds its own listener, so tests run many servers
//! side by side on port 0.
//!
//! One sign-in, many protocols: the sign-in pages (`http::signin`) are an engine that a
//! protocol front-end drives with a protocol-neutral `idp_core::signin::SignInRequest` — the
//! party, the release asked for, the level, fresh or passive, the locale — and that ends with a
//! `SignedIn` (the session and the consented release) or a refusal. OpenID Connect's
//! `/authorize` (`http::oidc::authorize`) is the first front-end; the account pages are another.
//! A new protocol (CAS, SAML) adds a `FrontRequest` variant, its answer in `http::fronts` and
//! its endpoints, and leaves the pages untouched. `ARCHITECTURE.md` (The sign-in seam) has the
//! whole contract.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod state;
pub mod tls;

pub use app::Application;
pub use config::Config;
