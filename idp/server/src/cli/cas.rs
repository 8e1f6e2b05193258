//! `idp cas-service …`: registering CAS services (clients of type `cas`, see
//! `idp_core::cas`). They go through the same rules and audit as the admin API's
//! `POST /clients` with `"type": "cas"`; the `client` commands list, show, disable and enable
//! them like any client.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use idp_proto::{ClientInfo, ClientRequest};

use super::{TenantArg, print};
use crate::ops::Ops;
use crate::ops::clients::client_info;

#[derive(Subcommand, Debug)]
pub enum CasServiceCmd {
    /// Register a CAS service; prints its id. Its tickets go only to the given URLs.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        name: String,
        /// A service URL: exact (any query allowed when it has none), or a prefix ending in
        /// `/*` (repeatable, at least one).
        #[arg(long = "service", required = true)]
        services: Vec<String>,
        /// Space-separated scopes whose attributes it receives (default: openid profile).
        #[arg(long)]
        scope: Option<String>,
        /// Why it receives a scope, shown on the consent page: `scope=text` (repeatable).
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// It processes personal data under a statutory duty: the consent page informs
        /// instead of asking.
        #[arg(long)]
        statutory: bool,
        /// The least assurance level any sign-in for it must reach.
        #[arg(long, value_parser = ["aal1", "aal2"])]
        min_acr: Option<String>,
        /// Seconds its tickets live (1-300; default 10).
        #[arg(long)]
        ticket_ttl: Option<i64>,
        /// Do not send it the CAS logoutRequest when a session it took part in ends.
        #[arg(long)]
        no_single_logout: bool,
        /// Its sector: services of one sector see the same pairwise user id.
        #[arg(long)]
        sector: Option<String>,
    },
}

pub async fn cas_service_command(ops: &Ops, json: bool, cmd: CasServiceCmd) -> anyhow::Result<()> {
    match cmd {
        CasServiceCmd::Add {
            tenant,
            name,
            services,
            scope,
            purposes,
            statutory,
            min_acr,
            ticket_ttl,
            no_single_logout,
            sector,
        } => {
            let mut p = std::collections::BTreeMap::new();
            for entry in purposes {
                let Some((scope, text)) = entry.split_once('=') else {
                    bail!("a purpose is scope=text, not {entry:?}");
                };
                p.insert(scope.trim().to_string(), text.trim().to_string());
            }
            let req = ClientRequest {
                name: Some(name),
                client_type: Some("cas".into()),
                services: Some(services),
                scope,
                purposes: (!p.is_empty()).then_some(p),
                consent: statutory.then(|| "statutory".into()),
                min_acr,
                ticket_ttl,
                single_logout: Some(!no_single_logout),
                sector,
                ..ClientRequest::default()
            };
            let (client, _) = ops.register_client_by(&tenant.tenant, &req, None, "cli").await?;
            let info = client_info(&client, None);
            print(json, &info, || service_text(&info))
        }
    }
}

fn service_text(c: &ClientInfo) -> String {
    let cas = c.cas.as_ref().ok_or_else(|| anyhow!("not a CAS service"));
    match cas {
        Ok(cas) => format!(
            "id: {}\nname: {}\nservices: {}\nscope: {}\nticket_ttl: {}\nsingle_logout: {}",
            c.client_id,
            c.name,
            cas.services.join(" "),
            c.scope,
            cas.ticket_ttl,
            cas.single_logout
        ),
        Err(e) => e.to_string(),
    }
}
