//! The one table of the admin API: every operation's method, path (under `/admin/v1`), handler,
//! summary, request body and answers. `super::routes` routes it and `doc.rs` documents it.

use idp_proto as p;

use super::doc::{Method::*, Route, route};
use super::{accounts, audit, clients, keys, org, stats, tenants, upstreams};

/// Every operation, in the order the document lists them.
pub(super) fn table() -> Vec<Route> {
    let mut all = tenant_routes();
    all.extend(org_routes());
    all.extend(security_routes());
    all.extend(upstream_routes());
    all.extend(client_routes());
    all
}

fn tenant_routes() -> Vec<Route> {
    vec![
        route(
            Get,
            "/tenants",
            "listTenants",
            "Every tenant (system administrators of the administrators' tenant, with its token)",
            tenants::list,
        )
        .answers_list::<p::TenantDetail>(200, "The tenants"),
        route(
            Post,
            "/tenants",
            "createTenant",
            "A new tenant: its own issuer and signing keys; a sandbox uses the simulated verification \
             provider",
            tenants::add,
        )
        .body::<p::NewTenant>()
        .answers::<p::TenantDetail>(201, "Created")
        .also(&[409]),
        route(
            Post,
            "/tenants/{tenant}/{action}",
            "switchTenant",
            "Disable (its issuer stops answering) or enable a tenant; the administrators' own tenant \
             cannot be disabled",
            tenants::switch,
        )
        .param("action", "", &["disable", "enable"])
        .answers::<p::TenantDetail>(200, "The tenant"),
        route(
            Get,
            "/tenants/{tenant}/settings",
            "getTenantSettings",
            "The tenant's rules and branding (its security and system administrators)",
            tenants::settings,
        )
        .answers::<p::TenantDetail>(200, "The tenant"),
        route(
            Put,
            "/tenants/{tenant}/settings",
            "setTenantSettings",
            "Offered factors and session/lockout policy (its security administrators); parts left out \
             stay",
            tenants::set_settings,
        )
        .body::<p::TenantRules>()
        .answers::<p::TenantDetail>(200, "The tenant"),
        route(
            Get,
            "/tenants/{tenant}/branding",
            "getTenantBranding",
            "The whole branding, the logo's data included (its security and system administrators)",
            tenants::branding,
        )
        .answers::<p::Branding>(200, "The branding"),
        route(
            Put,
            "/tenants/{tenant}/branding",
            "setTenantBranding",
            "Name, logo and colours on the tenant's pages (its system administrators); replaces the \
             whole branding",
            tenants::set_branding,
        )
        .body::<p::Branding>()
        .answers::<p::TenantDetail>(200, "The tenant"),
        route(
            Post,
            "/tenants/{tenant}/synthetic-people",
            "createSyntheticPeople",
            "Synthetic people to sign in as, bound at real-name level 2 with synthetic identities \
             (sandbox tenants, their system administrators)",
            tenants::synthetic,
        )
        .body::<p::SyntheticPeople>()
        .answers_list::<p::SyntheticPerson>(201, "The people, with their passwords (shown once)"),
        route(
            Get,
            "/tenants/{tenant}/stats",
            "getStats",
            "The dashboard's figures: sign-ins and failures per hour over the last 24 hours, live \
             sessions, the signing keys' schedule (system and security administrators)",
            stats::stats,
        )
        .answers::<p::Stats>(200, "Counts only"),
        route(
            Get,
            "/tenants/{tenant}/me",
            "getMe",
            "The calling administrator: account, name, roles, whether they administer by delegation, \
             and the tenant's time zone (any administrator)",
            stats::me,
        )
        .answers::<p::Me>(200, "The administrator"),
    ]
}

fn org_routes() -> Vec<Route> {
    vec![
        route(
            Get,
            "/tenants/{tenant}/organisations",
            "listOrganisations",
            "The organisation tree in order (a delegated administrator: its subtrees)",
            org::list,
        )
        .query::<p::OrganisationsQuery>()
        .answers_list::<p::OrganisationInfo>(200, "The organisations"),
        route(
            Post,
            "/tenants/{tenant}/organisations",
            "addOrganisation",
            "Add an organisation (a root: system administrators only)",
            org::add,
        )
        .body::<p::NewOrganisation>()
        .answers::<p::OrganisationInfo>(201, "Added")
        .also(&[409]),
        route(Get, "/tenants/{tenant}/organisations/{id}", "getOrganisation", "One organisation", org::one)
            .answers::<p::OrganisationInfo>(200, "The organisation"),
        route(
            Get,
            "/tenants/{tenant}/organisations/{id}/members",
            "listMembers",
            "Every membership in the organisation, live and ended",
            org::members,
        )
        .answers_list::<p::MembershipInfo>(200, "The memberships"),
        route(
            Post,
            "/tenants/{tenant}/organisations/{id}/members",
            "addMember",
            "Make a person staff of the organisation with roles (`org_admin` delegates the subtree)",
            org::add_member,
        )
        .body::<p::NewMembership>()
        .answers::<p::MembershipInfo>(201, "Added")
        .also(&[409]),
        route(
            Delete,
            "/tenants/{tenant}/memberships/{id}",
            "revokeMember",
            "End a staff membership now; tokens acting through it stop at once",
            org::revoke_member,
        )
        .answers::<p::MembershipInfo>(200, "Ended"),
    ]
}

fn upstream_routes() -> Vec<Route> {
    vec![
        route(
            Get,
            "/tenants/{tenant}/upstreams",
            "listUpstreams",
            "The upstream OpenID providers people may sign in with (security administrators only)",
            upstreams::list,
        )
        .answers_list::<p::UpstreamInfo>(200, "The tenant's upstreams"),
        route(
            Post,
            "/tenants/{tenant}/upstreams",
            "addUpstream",
            "Add an upstream OpenID provider; its settings checked, its client secret sealed and never \
             shown again",
            upstreams::add,
        )
        .body::<p::UpstreamRequest>()
        .answers::<p::UpstreamInfo>(201, "Added"),
        route(
            Post,
            "/tenants/{tenant}/upstreams/{id}/{action}",
            "upstreamAction",
            "`disable` (no longer offered; its links stay) or `enable`",
            upstreams::action,
        )
        .answers::<p::UpstreamInfo>(200, "Done")
        .also(&[404]),
        route(
            Delete,
            "/tenants/{tenant}/upstreams/{id}",
            "removeUpstream",
            "Remove an upstream and every account's link to it",
            upstreams::remove,
        )
        .answers_list::<p::UpstreamInfo>(200, "The tenant's upstreams left")
        .also(&[404]),
    ]
}

fn security_routes() -> Vec<Route> {
    vec![
        route(
            Get,
            "/tenants/{tenant}/audit",
            "searchAudit",
            "The tenant's audit records, newest first (audit administrators only)",
            audit::search,
        )
        .query::<p::AuditQuery>()
        .answers_list::<p::AuditRecord>(200, "The records")
        .or_csv(),
        route(
            Get,
            "/tenants/{tenant}/audit/verify",
            "verifyAudit",
            "Check every hash chain of the audit trail (audit administrators only)",
            audit::verify,
        )
        .answers::<p::AuditReport>(200, "Each chain with its problems (none: intact)"),
        route(
            Get,
            "/tenants/{tenant}/keys",
            "listKeys",
            "The tenant's signing keys and their schedule (security administrators only)",
            keys::list,
        )
        .answers_list::<p::KeyInfo>(200, "The tenant's keys"),
        route(
            Post,
            "/tenants/{tenant}/keys/rotate",
            "rotateKey",
            "A new key of the algorithm signs from now; the replaced ones stay published until their \
             tokens have expired",
            keys::rotate,
        )
        .body::<p::KeyRotation>()
        .answers_list::<p::KeyInfo>(201, "The tenant's keys"),
        route(
            Post,
            "/tenants/{tenant}/keys/{kid}/revoke",
            "revokeKey",
            "Emergency: withdraw the key at once (what it signed stops verifying); a signing key is \
             replaced; the key signing the administrators' tokens only with its kid as `confirm`",
            keys::revoke,
        )
        .body::<p::KeyRevocation>()
        .answers_list::<p::KeyInfo>(200, "The tenant's keys")
        .also(&[409]),
        route(
            Get,
            "/tenants/{tenant}/accounts",
            "searchAccounts",
            "Accounts by username, name, phone (however typed) or ID number (exact, through its keyed \
             hash); security administrators only",
            accounts::search,
        )
        .query::<p::AccountSearch>()
        .answers_list::<p::AccountInfo>(200, "Matching accounts (at most 100)"),
        route(
            Get,
            "/tenants/{tenant}/accounts/{id}",
            "getAccount",
            "Everything about an account: real-name level (ID number masked), factors, memberships, \
             sessions",
            accounts::one,
        )
        .answers::<p::AccountDetail>(200, "The account"),
        route(
            Post,
            "/tenants/{tenant}/accounts/{id}/{action}",
            "actOnAccount",
            "Lock, unlock, reset factors, end sessions; audited with the administrator's identity",
            accounts::act,
        )
        .param(
            "action",
            "lock (and end its sessions), unlock, reset-factors (remove the authenticator app, passkeys, \
             security keys and recovery codes; end its sessions), end-sessions",
            &["lock", "unlock", "reset-factors", "end-sessions"],
        )
        .answers::<p::AccountDetail>(200, "The account afterwards"),
    ]
}

fn client_routes() -> Vec<Route> {
    vec![
        route(
            Get,
            "/tenants/{tenant}/clients",
            "listClients",
            "The clients the caller manages (system administrators: all; delegated administrators: \
             those of their subtree) — the register of who receives what, and why",
            clients::list,
        )
        .answers_list::<p::ClientInfo>(200, "The clients"),
        route(
            Post,
            "/tenants/{tenant}/clients",
            "registerClient",
            "Register a department application; the secret (web, service) is in the answer, once",
            clients::add,
        )
        .body::<p::ClientRequest>()
        .answers::<p::ClientInfo>(201, "Registered")
        .also(&[409]),
        route(Get, "/tenants/{tenant}/clients/{id}", "getClient", "One client", clients::one)
            .answers::<p::ClientInfo>(200, "The client"),
        route(
            Patch,
            "/tenants/{tenant}/clients/{id}",
            "updateClient",
            "Change a client (not its type or organisation)",
            clients::update,
        )
        .body::<p::ClientRequest>()
        .answers::<p::ClientInfo>(200, "Changed")
        .also(&[409]),
        route(
            Post,
            "/tenants/{tenant}/clients/{id}/{action}",
            "actOnClient",
            "rotate-secret (a new secret in the answer, once; with overlap_seconds the old one keeps \
             working that long, at most 30 days), disable, enable",
            clients::act,
        )
        .param("action", "", &["rotate-secret", "disable", "enable"])
        .optional_body::<p::SecretRotation>()
        .answers::<p::ClientInfo>(200, "The client afterwards"),
        route(
            Get,
            "/tenants/{tenant}/clients/{id}/logout-deliveries",
            "listLogoutDeliveries",
            "The back-channel logout tokens sent to the client or on their way, newest first (at most \
             100)",
            clients::logout_deliveries,
        )
        .answers_list::<p::LogoutDeliveryInfo>(200, "The deliveries")
        .only(&[401, 403, 404]),
    ]
}
