//! HTTPS: the `https-serve` crate, shared with the admin console (one TLS loop for both).

pub mod devcerts;

pub use https_serve::*;
