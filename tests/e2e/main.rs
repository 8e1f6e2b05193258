//! The end-to-end test binary: every test starts its own provider on 127.0.0.1:0 with a fresh
//! SQLite file or a fresh PostgreSQL database and drives it as real clients do.
//!
//! PostgreSQL: tests use `IDP_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! to create and drop their own uniquely named databases. Without a server they fail with a
//! message saying so; `IDP_TEST_POSTGRES=off` skips them explicitly (CI never does).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod account_centre;
mod account_delete;
mod account_email;
mod account_grants;
mod account_password;
mod account_sessions;
mod admin_api;
mod admin_audience;
mod admin_tenants;
mod audit_chain;
mod backup;
mod branding;
mod browser;
mod cas;
mod cas_interop;
mod cas_proxy;
mod chromium;
mod claims_param;
mod common;
mod concurrency;
mod console;
mod console_browser;
mod console_first_start;
mod console_lists;
mod console_pages;
mod console_safety;
mod context;
mod device;
mod directory;
mod enterprise;
mod examples;
mod horizontal;
mod hostile;
mod java_oidc;
mod key_rotation;
mod logout_everywhere;
mod metrics;
mod migrations;
mod oidc_flow;
mod outage;
mod outbound;
mod pages_browser;
mod pages_chrome;
mod pairwise;
mod passkeys;
mod phone;
mod realname;
mod realname_card;
mod refusals;
mod rp;
mod saml;
mod saml_mellon;
mod scim;
mod scopes;
mod second_factor_rules;
mod selfservice;
mod sessions;
mod sm_crypto;
mod sm_saml;
mod sms;
mod softkey;
mod step_up;
mod store_contract;
mod store_contract_accounts;
mod store_contract_logout;
mod store_contract_org;
mod store_contract_upstream;
mod store_contract_webauthn;
mod tls;
mod token_binding;
mod upstream_admin;
mod upstream_licence;
mod upstream_netid;
mod upstream_node;
mod upstream_op;
mod upstream_saml;
mod upstream_signin;
