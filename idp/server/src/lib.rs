//! idp-server: the HTTP layer (axum), pages, operator CLI, configuration and start-up of the
//! identity provider. [`Application::build`] binds its own listener, so tests run many servers
//! side by side on port 0.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod state;
pub mod tls;

pub use app::Application;
pub use config::Config;
