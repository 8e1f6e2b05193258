//! `idp account …`: accounts, their passwords and their locks.

use std::io::Read;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::{TenantArg, print};
use crate::ops::accounts::account_info;
use crate::ops::{NewAccount, Ops};

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        #[arg(long)]
        username: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// An account role (repeatable): `system_admin`, `security_admin` or `audit_admin` (at
        /// most one of these three), `clerk`, or any staff role. Any role makes every sign-in
        /// need two factors.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Set the password (read from standard input) and clear any lockout.
    SetPassword {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
    /// Lock the account until unlocked.
    Lock {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
    Unlock {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
    },
    /// Assign a GM/T 0021 (SM3) hardware token: its seed, in hex as the vendor delivers it, is
    /// read from standard input (first line). It replaces the account's authenticator.
    OtpToken {
        #[command(flatten)]
        tenant: TenantArg,
        username: String,
        /// The token's step in seconds (GM/T 0021 allows at most 60).
        #[arg(long, default_value_t = 60)]
        period: i64,
    },
}

pub(super) async fn account_command(ops: &Ops, json: bool, cmd: AccountCmd) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Add { tenant, username, password_stdin, phone, email, name, roles } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let a = ops
                .add_account(&tenant.tenant, NewAccount { username, password, name, phone, email, roles })
                .await?;
            let info = account_info(&a);
            print(json, &info, || format!("account {} created (id {})", info.username, info.id))
        }
        AccountCmd::List { tenant } => {
            let t = ops.tenant(&tenant.tenant).await?;
            let list: Vec<_> = ops.store.list_accounts(&t.id).await?.iter().map(account_info).collect();
            print(json, &list, || {
                list.iter()
                    .map(|a| {
                        format!(
                            "{}\t{}\t{}{}",
                            a.id,
                            a.username,
                            a.phone.clone().unwrap_or_default(),
                            if a.disabled { "\t(locked)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AccountCmd::SetPassword { tenant, username } => {
            let pw = read_password()?;
            ops.set_password(&tenant.tenant, &username, &pw).await?;
            print(json, &serde_json::json!({"username": username, "password_set": true}), || {
                format!("password of {username} set")
            })
        }
        AccountCmd::Lock { tenant, username } => {
            ops.set_account_disabled(&tenant.tenant, &username, true).await?;
            print(json, &serde_json::json!({"username": username, "disabled": true}), || {
                format!("{username} locked")
            })
        }
        AccountCmd::OtpToken { tenant, username, period } => {
            let line = read_password().context("the token's seed, in hex, on standard input")?;
            let seed = idp_core::crypto::unhex(line.trim()).context("the seed is hexadecimal")?;
            ops.assign_otp_token_by(&tenant.tenant, &username, &seed, period, crate::ops::OPERATOR).await?;
            print(
                json,
                &serde_json::json!({"username": username, "otp_token": "sm3", "period": period}),
                || format!("{username} signs in with the GM/T 0021 token ({period}-second step)"),
            )
        }
        AccountCmd::Unlock { tenant, username } => {
            ops.set_account_disabled(&tenant.tenant, &username, false).await?;
            print(json, &serde_json::json!({"username": username, "disabled": false}), || {
                format!("{username} unlocked")
            })
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("cannot read the password from stdin")?;
    let pw = s.lines().next().unwrap_or_default().to_string();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}
