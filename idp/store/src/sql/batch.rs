//! The SQL of group commit (`crate::batch`): writing one batch of codes, sessions,
//! interactions, audit records and the token issuances that won their race, in one transaction
//! and a fixed number of statements. `spawn_batcher` starts the task, from the backend's
//! `connect`; the family revocation of a lost race is `token::revoke_family_in`.

use idp_core::model::{AuditEvent, AuthCode};
use idp_core::ports::Result;

use super::super::Db;
use super::token::revoke_family_in;
use crate::map_err;
use crate::rows::to_json;

/// Writes one group-commit batch (see `batch.rs`) in one transaction, in a fixed number
/// of statements whatever its size: the rotations' families locked first (migration
/// 0002), one conditional update consuming the batch's codes and one its refresh tokens
/// (the first claimant of each wins), one multi-row INSERT per table, then the rare
/// family revocations of the losers, which thus reach every row the batch wrote.
pub(crate) async fn flush_batch(
    pool: &sqlx::Pool<Db>,
    items: &[crate::batch::Item],
    key: &idp_core::crypto::Kek,
) -> Result<Vec<crate::batch::Outcome>> {
    use crate::batch::{Item, Outcome, Pending};
    let mut tx = pool.begin().await.map_err(map_err)?;
    let mut families: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Rotate { family, .. } => Some(family.as_str()),
            _ => None,
        })
        .collect();
    families.sort_unstable();
    families.dedup();
    if !families.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "UPDATE token_families SET expires_at = expires_at WHERE family_id IN (",
        );
        let mut list = q.separated(", ");
        for f in &families {
            list.push_bind(*f);
        }
        q.push(")");
        q.build().persistent(false).execute(&mut *tx).await.map_err(map_err)?;
    }
    let codes: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Redeem { code_hash, .. } => Some(code_hash.as_str()),
            _ => None,
        })
        .collect();
    let tokens: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Rotate { token_hash, .. } => Some(token_hash.as_str()),
            _ => None,
        })
        .collect();
    let mut consumed_codes = consume(
        &mut tx,
        "UPDATE auth_codes SET consumed = TRUE WHERE consumed = FALSE AND code_hash IN (",
        &codes,
        ") RETURNING code_hash",
    )
    .await?;
    let mut consumed_tokens = consume(
        &mut tx,
        "UPDATE refresh_tokens SET used = TRUE WHERE used = FALSE AND revoked = FALSE AND token_hash IN (",
        &tokens,
        ") RETURNING token_hash",
    )
    .await?;
    let required: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Redeem { issue, .. } | Item::Rotate { issue, .. } => {
                issue.live_session.as_ref().map(|l| l.sid.as_str())
            }
            _ => None,
        })
        .collect();
    let sessions = session_ends(&mut tx, &required).await?;
    let live = |l: &idp_core::ports::LiveSession| {
        sessions.get(&l.sid).is_some_and(|(tenant, ends)| *tenant == l.tenant_id && *ends > l.at)
    };
    let mut outcomes = Vec::with_capacity(items.len());
    let mut p = Pending::default();
    let mut lost = Vec::new();
    for item in items {
        outcomes.push(match item {
            Item::Code(c) => {
                p.codes.push(c);
                Outcome::Written
            }
            Item::Session(s) => {
                p.sessions.push(s);
                Outcome::Written
            }
            Item::Interaction(i) => {
                p.interactions.push(i);
                Outcome::Written
            }
            Item::Audit(e) => {
                p.audit.push(e);
                Outcome::Written
            }
            Item::Assertion { audit, participation } => {
                p.audit.extend(audit);
                p.saml.extend(participation);
                Outcome::Written
            }
            Item::Redeem { code_hash: key, family, issue }
            | Item::Rotate { token_hash: key, family, issue } => {
                let won = match item {
                    Item::Redeem { .. } => consumed_codes.remove(key),
                    _ => consumed_tokens.remove(key),
                };
                if won && issue.live_session.as_ref().is_some_and(|l| !live(l)) {
                    Outcome::Ended
                } else if won {
                    p.add(issue);
                    Outcome::Won
                } else {
                    let reason = match item {
                        Item::Redeem { .. } => "code_replay",
                        _ => "refresh_replay",
                    };
                    if !issue.spare_on_loss {
                        lost.push((family.as_str(), reason));
                    }
                    Outcome::Lost
                }
            }
        });
    }
    write_pending(&mut tx, &mut p, key).await?;
    for (family, reason) in lost {
        revoke_family_in(&mut tx, family, reason).await?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(outcomes)
}

/// Records that each (sid, client id, tenant id) client takes part in that browser session, for
/// logout everywhere.
async fn take_part<'c>(tx: &mut sqlx::Transaction<'c, Db>, mut rows: Vec<(&str, &str, &str)>) -> Result<()> {
    rows.sort_unstable();
    rows.dedup();
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO session_clients (sid, client_id, tenant_id) ");
    q.push_values(&rows, |mut b, (sid, client, tenant)| {
        b.push_bind(*sid).push_bind(*client).push_bind(*tenant);
    });
    q.push(" ON CONFLICT (sid, client_id) DO NOTHING");
    q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}

/// sid → (tenant id, end) of the browser sessions among `sids` that exist: one read for the
/// whole batch (`Issue::live_session`).
async fn session_ends<'c>(
    tx: &mut sqlx::Transaction<'c, Db>,
    sids: &[&str],
) -> Result<std::collections::HashMap<String, (String, i64)>> {
    if sids.is_empty() {
        return Ok(Default::default());
    }
    let mut q =
        sqlx::QueryBuilder::<Db>::new("SELECT sid, tenant_id, expires_at FROM sessions WHERE sid IN (");
    let mut list = q.separated(", ");
    for s in sids {
        list.push_bind(*s);
    }
    // PostgreSQL: the rows stay locked until the batch commits, so a logout's delete of the
    // session waits for it and its second look at the session's parties
    // (`Ops::end_sessions`) sees what the batch recorded (SQLite has one writer at a time)
    q.push(if super::super::BACKEND == "postgres" { ") FOR SHARE" } else { ")" });
    let rows: Vec<(String, String, i64)> =
        q.build_query_as().persistent(false).fetch_all(&mut **tx).await.map_err(map_err)?;
    Ok(rows.into_iter().map(|(sid, tenant, ends)| (sid, (tenant, ends))).collect())
}

/// Runs `head` + a bind list of `keys` + `tail` (an UPDATE ... RETURNING the key) and
/// returns the keys it updated.
async fn consume<'c>(
    tx: &mut sqlx::Transaction<'c, Db>,
    head: &str,
    keys: &[&str],
    tail: &str,
) -> Result<std::collections::HashSet<String>> {
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new(head);
    let mut list = q.separated(", ");
    for k in keys {
        list.push_bind(*k);
    }
    q.push(tail);
    let rows: Vec<(String,)> =
        q.build_query_as().persistent(false).fetch_all(&mut **tx).await.map_err(map_err)?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// One multi-row INSERT per table for what `p` gathered; empties it.
async fn write_pending<'c>(
    tx: &mut sqlx::Transaction<'c, Db>,
    p: &mut crate::batch::Pending<'_>,
    key: &idp_core::crypto::Kek,
) -> Result<()> {
    type Q = sqlx::QueryBuilder<Db>;
    let families = p.take_families();
    if !families.is_empty() {
        let mut q = Q::new("INSERT INTO token_families (family_id, revoked, expires_at) ");
        q.push_values(&families, |mut b, (id, until)| {
            b.push_bind(*id).push_bind(false).push_bind(*until);
        });
        q.push(
            " ON CONFLICT (family_id) DO UPDATE SET expires_at = CASE WHEN excluded.expires_at > \
             token_families.expires_at THEN excluded.expires_at ELSE token_families.expires_at END",
        );
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
    }
    if !p.refresh.is_empty() {
        let authz = p.refresh.iter().map(|r| to_json(&r.authz)).collect::<Result<Vec<_>>>()?;
        let mut q = Q::new(
            "INSERT INTO refresh_tokens (token_hash, family_id, authz, created_at, expires_at, used, \
             revoked) ",
        );
        q.push_values(p.refresh.iter().zip(authz), |mut b, (r, authz)| {
            b.push_bind(&r.token_hash)
                .push_bind(&r.family_id)
                .push_bind(authz)
                .push_bind(r.created_at)
                .push_bind(r.expires_at)
                .push_bind(r.used)
                .push_bind(r.revoked);
        });
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        p.refresh.clear();
    }
    if !p.codes.is_empty() {
        let authz = p.codes.iter().map(|c| to_json(&c.authz)).collect::<Result<Vec<_>>>()?;
        let mut q = Q::new(
            "INSERT INTO auth_codes (code_hash, family_id, authz, redirect_uri, code_challenge, \
             expires_at, consumed) ",
        );
        q.push_values(p.codes.iter().zip(authz), |mut b, (c, authz)| {
            b.push_bind(&c.code_hash)
                .push_bind(&c.family_id)
                .push_bind(authz)
                .push_bind(&c.redirect_uri)
                .push_bind(&c.code_challenge)
                .push_bind(c.expires_at)
                .push_bind(c.consumed);
        });
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        // the clients that take part in each browser session, for logout everywhere
        let taking_part = p.codes.iter().filter_map(|c| {
            Some((c.authz.sid.as_deref()?, c.authz.client_id.as_str(), c.authz.tenant_id.as_str()))
        });
        take_part(tx, taking_part.collect()).await?;
        // whose families they start, so that withdrawing a grant reaches them
        let owned: Vec<&AuthCode> =
            p.codes.iter().copied().filter(|c| c.authz.account_id.is_some()).collect();
        if !owned.is_empty() {
            let mut q = Q::new(
                "INSERT INTO grant_families (family_id, tenant_id, account_id, client_id, code_expires_at) \
                 ",
            );
            q.push_values(&owned, |mut b, c| {
                b.push_bind(&c.family_id)
                    .push_bind(&c.authz.tenant_id)
                    .push_bind(&c.authz.account_id)
                    .push_bind(&c.authz.client_id)
                    .push_bind(c.expires_at);
            });
            q.push(" ON CONFLICT (family_id) DO NOTHING");
            q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        }
        p.codes.clear();
    }
    if !p.sessions.is_empty() {
        let amr = p.sessions.iter().map(|s| to_json(&s.amr)).collect::<Result<Vec<_>>>()?;
        let mut q = Q::new(
            "INSERT INTO sessions (id_hash, sid, tenant_id, account_id, auth_time, amr, acr, min_acr, \
             created_at, last_seen, expires_at) ",
        );
        q.push_values(p.sessions.iter().zip(amr), |mut b, (s, amr)| {
            b.push_bind(&s.id_hash)
                .push_bind(&s.sid)
                .push_bind(&s.tenant_id)
                .push_bind(&s.account_id)
                .push_bind(s.auth_time)
                .push_bind(amr)
                .push_bind(&s.acr)
                .push_bind(&s.min_acr)
                .push_bind(s.created_at)
                .push_bind(s.last_seen)
                .push_bind(s.expires_at);
        });
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        p.sessions.clear();
    }
    if !p.interactions.is_empty() {
        let request = p.interactions.iter().map(|i| to_json(&i.front)).collect::<Result<Vec<_>>>()?;
        let mut q = Q::new(
            "INSERT INTO interactions (id, tenant_id, request, browser_hash, session_sid, created_at, \
             expires_at) ",
        );
        q.push_values(p.interactions.iter().zip(request), |mut b, (i, request)| {
            b.push_bind(&i.id)
                .push_bind(&i.tenant_id)
                .push_bind(request)
                .push_bind(&i.browser_hash)
                .push_bind(&i.session_sid)
                .push_bind(i.created_at)
                .push_bind(i.expires_at);
        });
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        p.interactions.clear();
    }
    if !p.audit.is_empty() {
        // Chained per tenant (idp_core::audit): each chain's head is locked by a no-op
        // update (chains in sorted order, so two writers never wait on each other in
        // turn), the records linked after it, and the head moved on.
        let mut chains: Vec<&str> =
            p.audit.iter().map(|e| idp_core::audit::chain_of(e.tenant_id.as_deref())).collect();
        chains.sort_unstable();
        chains.dedup();
        let mut rows: Vec<(&AuditEvent, String, i64, String, String)> = Vec::with_capacity(p.audit.len());
        for chain in chains {
            sqlx::query(
                "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO \
                 NOTHING",
            )
            .bind(chain)
            .bind(idp_core::audit::GENESIS)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
            let (mut seq, mut prev): (i64, String) =
                sqlx::query_as("UPDATE audit_heads SET seq = seq WHERE chain = $1 RETURNING seq, hash")
                    .bind(chain)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map_err)?;
            for e in p.audit.iter().filter(|e| idp_core::audit::chain_of(e.tenant_id.as_deref()) == chain) {
                seq += 1;
                let detail = to_json(&e.detail)?;
                let fields = idp_core::audit::Fields {
                    chain,
                    seq,
                    tenant_id: e.tenant_id.as_deref(),
                    kind: &e.kind,
                    account_id: e.account_id.as_deref(),
                    client_id: e.client_id.as_deref(),
                    ip: e.ip.as_deref(),
                    detail: &detail,
                    at: e.at,
                };
                let hash = idp_core::audit::link(key, &prev, &fields);
                rows.push((e, detail, seq, std::mem::replace(&mut prev, hash.clone()), hash));
            }
            sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1")
                .bind(chain)
                .bind(seq)
                .bind(&prev)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
        }
        let mut q = Q::new(
            "INSERT INTO audit_events (tenant_id, kind, account_id, client_id, ip, detail, at, chain, seq, \
             prev_hash, hash) ",
        );
        q.push_values(&rows, |mut b, (e, detail, seq, prev, hash)| {
            b.push_bind(&e.tenant_id)
                .push_bind(&e.kind)
                .push_bind(&e.account_id)
                .push_bind(&e.client_id)
                .push_bind(&e.ip)
                .push_bind(detail)
                .push_bind(e.at)
                .push_bind(idp_core::audit::chain_of(e.tenant_id.as_deref()))
                .push_bind(*seq)
                .push_bind(prev)
                .push_bind(hash);
        });
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        p.audit.clear();
    }
    if !p.saml.is_empty() {
        let mut q = Q::new(
            "INSERT INTO saml_participations (sid, client_id, session_index, tenant_id, account_id, \
             name_id, name_id_format, created_at) ",
        );
        q.push_values(&p.saml, |mut b, s| {
            b.push_bind(&s.sid)
                .push_bind(&s.client_id)
                .push_bind(&s.session_index)
                .push_bind(&s.tenant_id)
                .push_bind(&s.account_id)
                .push_bind(&s.name_id)
                .push_bind(&s.name_id_format)
                .push_bind(s.created_at);
        });
        q.push(" ON CONFLICT (sid, client_id, session_index) DO NOTHING");
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        let taking_part = p.saml.iter().map(|s| (s.sid.as_str(), s.client_id.as_str(), s.tenant_id.as_str()));
        take_part(tx, taking_part.collect()).await?;
        p.saml.clear();
    }
    if !p.cas_tickets.is_empty() {
        let mut q = Q::new(
            "INSERT INTO cas_session_tickets (sid, ticket, tenant_id, client_id, service, created_at) ",
        );
        q.push_values(&p.cas_tickets, |mut b, u| {
            b.push_bind(&u.sid)
                .push_bind(&u.ticket)
                .push_bind(&u.tenant_id)
                .push_bind(&u.client_id)
                .push_bind(&u.service)
                .push_bind(u.created_at);
        });
        q.push(" ON CONFLICT (sid, ticket) DO NOTHING");
        q.build().persistent(false).execute(&mut **tx).await.map_err(map_err)?;
        p.cas_tickets.clear();
    }
    Ok(())
}

pub(crate) fn spawn_batcher(pool: &sqlx::Pool<Db>, key: idp_core::crypto::Kek) -> crate::batch::Batcher {
    let pool = pool.clone();
    let key = std::sync::Arc::new(key);
    crate::batch::Batcher::spawn(Box::new(move |items| {
        let (pool, key) = (pool.clone(), key.clone());
        Box::pin(async move { flush_batch(&pool, items, &key).await })
    }))
}
