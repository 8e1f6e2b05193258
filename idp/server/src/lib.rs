//! idp-server: the HTTP layer (axum), pages, operator CLI, configuration and start-up of the
//! identity provider. [`Application::build`] binds its own listener, so tests run many servers
//! side by side on port 0.

pub mod admin;
pub mod app;
pub mod audit_anchor;
pub mod cli;
pub mod cli_audit;
pub mod cli_ops;
pub mod cli_org;
pub mod config;
pub mod config_env;
pub mod devcerts;
pub mod http;
pub mod logout_everywhere;
pub mod metrics;
pub mod ops;
pub mod ops_accounts;
pub mod ops_audit;
pub mod ops_clients;
pub mod ops_org;
pub mod ops_tenants;
pub mod outbound;
pub mod seed;
pub mod sms;
pub mod state;
pub mod tls;
pub mod verifier;
pub mod webhook;

pub use app::Application;
pub use config::Config;
