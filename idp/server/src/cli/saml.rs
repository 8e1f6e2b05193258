//! `idp saml-sp …`: registering SAML 2.0 service providers (clients of type `saml`, see
//! `idp_core::saml`) from their metadata. They go through the same rules and audit as the
//! admin API's `POST /clients` with `"type": "saml"`; the `client` commands list, show,
//! disable and enable them like any client.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use idp_proto::{ClientInfo, ClientRequest};

use super::{TenantArg, print};
use crate::ops::Ops;
use crate::ops::clients::client_info;

#[derive(Subcommand, Debug)]
pub enum SamlSpCmd {
    /// Register a service provider from its metadata (a file, or a URL fetched through the
    /// outbound rules); prints its id and what was read.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        name: String,
        /// The service provider's metadata (an EntityDescriptor).
        #[arg(long, required_unless_present = "metadata_url")]
        metadata: Option<PathBuf>,
        /// Where to fetch the metadata instead.
        #[arg(long)]
        metadata_url: Option<String>,
        /// Space-separated scopes whose attributes it receives (default: openid profile).
        #[arg(long)]
        scope: Option<String>,
        /// Why it receives a scope, shown on the consent page: `scope=text` (repeatable).
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// The NameID when a request names none.
        #[arg(long, value_parser = ["persistent", "transient", "email", "unspecified"])]
        name_id_format: Option<String>,
        /// It processes personal data under a statutory duty: the consent page informs.
        #[arg(long)]
        statutory: bool,
        /// The least assurance level any sign-in for it must reach.
        #[arg(long, value_parser = ["aal1", "aal2"])]
        min_acr: Option<String>,
        /// Its requests must be signed, whatever its metadata says.
        #[arg(long)]
        require_signed_requests: bool,
    },
}

pub async fn saml_sp_command(ops: &Ops, json: bool, cmd: SamlSpCmd) -> anyhow::Result<()> {
    match cmd {
        SamlSpCmd::Add {
            tenant,
            name,
            metadata,
            metadata_url,
            scope,
            purposes,
            name_id_format,
            statutory,
            min_acr,
            require_signed_requests,
        } => {
            let mut p = std::collections::BTreeMap::new();
            for entry in purposes {
                let Some((scope, text)) = entry.split_once('=') else {
                    bail!("a purpose is scope=text, not {entry:?}");
                };
                p.insert(scope.trim().to_string(), text.trim().to_string());
            }
            let xml = match &metadata {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                ),
                None => None,
            };
            let req = ClientRequest {
                name: Some(name),
                client_type: Some("saml".into()),
                saml_metadata: xml,
                saml_metadata_url: metadata_url,
                scope,
                purposes: (!p.is_empty()).then_some(p),
                consent: statutory.then(|| "statutory".into()),
                min_acr,
                name_id_format,
                authn_requests_signed: require_signed_requests.then_some(true),
                ..ClientRequest::default()
            };
            let (client, _) = ops.register_client_by(&tenant.tenant, &req, None, "cli").await?;
            let info = client_info(&client, None);
            print(json, &info, || sp_text(&info))
        }
    }
}

fn sp_text(c: &ClientInfo) -> String {
    match &c.saml {
        Some(s) => format!(
            "id: {}\nname: {}\nentity_id: {}\nacs: {}\nname_id_format: {}\nscope: {}\nsigned requests required: {}",
            c.client_id,
            c.name,
            s.entity_id,
            s.acs.join(" "),
            s.name_id_format,
            c.scope,
            s.authn_requests_signed
        ),
        None => "not a SAML service provider".into(),
    }
}
