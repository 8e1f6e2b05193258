//! Claims released about an account, per granted scope (OIDC Core §5.1, §5.4; DOMAIN.md).

use serde_json::{Map, Value, json};

use crate::model::{Account, RealName};
use crate::org::{Membership, Organisation};

/// What the claims may need beyond the account, read only for the scopes that release it.
#[derive(Default, Clone, Copy)]
pub struct Extra<'a> {
    /// The bound identity (`realname`).
    pub real_name: Option<&'a RealName>,
    /// The organisation and membership of the context the token acts in (`org` for staff,
    /// `enterprise` for an enterprise role).
    pub context: Option<(&'a Organisation, &'a Membership)>,
    /// The full ID number, opened from its sealed form (`id_number`).
    pub id_number: Option<&'a str>,
}
use crate::scope;

/// The UserInfo claims for `scopes`: exactly the claims of the granted scopes, nothing else.
/// `real_name` is the account's bound identity (read only when `realname` is granted); without
/// one, `realname_level` is 0 and the other real-name claims are absent.
/// `sub` is what this client sees (`keys::subject`).
pub fn userinfo(
    account: &Account,
    sub: &str,
    extra: Extra<'_>,
    scopes: &[String],
    act_as: &str,
) -> Map<String, Value> {
    let real_name = extra.real_name;
    let staff = extra.context.filter(|(_, m)| act_as == "staff" && m.kind == "staff");
    let enterprise = extra.context.filter(|(_, m)| act_as == "enterprise" && m.kind != "staff");
    let mut out = Map::new();
    out.insert("sub".into(), json!(sub));
    out.insert("act_as".into(), json!(act_as));
    for s in scopes {
        let Some(info) = scope::info(s) else { continue };
        for claim in info.claims {
            let value = match *claim {
                "name" => account.name.as_ref().map(|v| json!(v)),
                "preferred_username" => Some(json!(account.username)),
                "locale" => account.locale.as_ref().map(|v| json!(v)),
                "updated_at" => Some(json!(account.updated_at)),
                "email" => account.email.as_ref().map(|v| json!(v)),
                // Contact details are not verified yet (verification comes with SMS codes).
                "email_verified" => account.email.as_ref().map(|_| json!(false)),
                "phone_number" => account.phone.as_ref().map(|v| json!(v)),
                "phone_number_verified" => {
                    account.phone.as_ref().map(|_| json!(account.phone_verified_at.is_some()))
                }
                "realname_level" => Some(json!(real_name.map_or(0, |r| r.level))),
                "verified_name" => real_name.map(|r| json!(r.name)),
                "id_type" => real_name.map(|r| json!(r.id_type)),
                "id_number_masked" => real_name.map(|r| json!(r.id_masked)),
                "id_number" => extra.id_number.map(|n| json!(n)),
                "org" => staff.map(|(o, _)| {
                    json!({"id": o.id, "name": o.name, "path": o.path, "region_code": o.region_code})
                }),
                "roles" => staff.map(|(_, m)| json!(m.roles)),
                "entity" => enterprise.map(|(o, m)| {
                    json!({
                        "uscc": o.uscc, "name": o.name, "role": m.kind,
                        "mandate_id": (m.kind == "agent").then_some(&m.id),
                        "matters": (m.kind == "agent").then_some(&m.matters),
                        "expiry": m.expires_at,
                    })
                }),
                _ => None,
            };
            if let Some(v) = value {
                out.insert((*claim).to_string(), v);
            }
        }
    }
    out
}
