//! Group commit for the writes of the hot paths: authorization codes, browser sessions,
//! interactions, audit events, and the conditional writes that redeem a code or rotate a
//! refresh token. Concurrent callers' items are written in one transaction, and each caller is
//! answered only after that transaction committed, so nothing is acknowledged before it is
//! durable. Under load one commit (one fsync) carries many requests instead of one each.
//!
//! A redemption or rotation is a compare-and-set inside the batch: the code or token is
//! consumed only if it still is unconsumed, and only then are the caller's tokens written; the
//! caller that loses (a replay, or a race inside the same batch) gets [`Outcome::Lost`] and the
//! family is revoked in the same transaction.

use std::future::Future;
use std::pin::Pin;

use idp_core::StoreError;
use idp_core::model::{AuditEvent, AuthCode, Interaction, Session};
use idp_core::ports::Issue;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub enum Item {
    Audit(AuditEvent),
    Code(AuthCode),
    Session(Session),
    Interaction(Interaction),
    /// Consume the code if it is unconsumed and write `issue`; otherwise revoke `family`.
    Redeem {
        code_hash: String,
        family: String,
        issue: Issue,
    },
    /// A SAML assertion's audit events and the service provider's part in the session.
    Assertion {
        audit: Vec<AuditEvent>,
        participation: Option<idp_core::model::SamlParticipation>,
    },
    /// Mark the refresh token used if it is unused and its family unrevoked, and write `issue`;
    /// otherwise revoke `family`.
    Rotate {
        token_hash: String,
        family: String,
        issue: Issue,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A plain insert was written.
    Written,
    /// The compare-and-set was won: the code or token was consumed by this caller.
    Won,
    /// It had been consumed already: nothing of the caller's was written, the family is revoked.
    Lost,
    /// Consumed by this caller, but the session its issue required had ended
    /// (`Issue::live_session`): nothing else of the caller's was written.
    Ended,
}

type Reply = oneshot::Sender<Result<Outcome, StoreError>>;
pub type Flush = Box<
    dyn for<'a> Fn(&'a [Item]) -> Pin<Box<dyn Future<Output = Result<Vec<Outcome>, StoreError>> + Send + 'a>>
        + Send
        + Sync,
>;

/// The most items one transaction carries.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Batcher {
    tx: mpsc::UnboundedSender<(Item, Reply)>,
}

impl Batcher {
    /// Starts the writer task; it ends when the last `Batcher` clone is dropped.
    pub fn spawn(flush: Flush) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Item, Reply)>();
        tokio::spawn(async move {
            let mut items = Vec::new();
            let mut replies = Vec::new();
            while let Some((first, reply)) = rx.recv().await {
                items.push(first);
                replies.push(reply);
                while items.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((next, reply)) => {
                            items.push(next);
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                match flush(&items).await {
                    Ok(outcomes) => {
                        for (r, o) in replies.drain(..).zip(outcomes) {
                            let _ = r.send(Ok(o));
                        }
                    }
                    Err(StoreError::Unavailable(why)) => {
                        // The database is away: every item fails alike, retrying each would only wait longer.
                        for r in replies.drain(..) {
                            let _ = r.send(Err(StoreError::Unavailable(why.clone())));
                        }
                    }
                    Err(_) => {
                        // The transaction was rolled back as a whole; one bad item must not fail
                        // its neighbours: retry each on its own.
                        for (item, r) in items.iter().zip(replies.drain(..)) {
                            let one = flush(std::slice::from_ref(item)).await;
                            let _ = r.send(one.map(|o| o.first().copied().unwrap_or(Outcome::Written)));
                        }
                    }
                }
                items.clear();
            }
        });
        Self { tx }
    }

    /// Queues the item and waits until it is committed.
    pub async fn submit(&self, item: Item) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((item, reply)).map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        answer.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the writer has stopped".into())))
    }
}

/// The inserts of one batch, written with one multi-row statement per table (a batch of 32
/// rotations is a handful of statements rather than 160).
#[derive(Default)]
pub struct Pending<'a> {
    pub codes: Vec<&'a AuthCode>,
    pub sessions: Vec<&'a Session>,
    pub interactions: Vec<&'a Interaction>,
    pub audit: Vec<&'a AuditEvent>,
    pub refresh: Vec<&'a idp_core::model::RefreshToken>,
    /// Family rows to create or extend: id and expiry.
    pub families: Vec<(&'a str, i64)>,
    /// CAS tickets validated in browser sessions (for single logout).
    pub cas_tickets: Vec<&'a idp_core::model::CasTicketUse>,
    /// SAML assertions' parts in browser sessions (for single logout).
    pub saml: Vec<&'a idp_core::model::SamlParticipation>,
}

impl<'a> Pending<'a> {
    /// What a won redemption or rotation writes.
    pub fn add(&mut self, issue: &'a Issue) {
        if let Some((id, until)) = &issue.family {
            self.families.push((id, *until));
        }
        self.refresh.extend(&issue.refresh_token);
        self.audit.extend(&issue.audit);
        self.cas_tickets.extend(&issue.cas_ticket);
    }

    /// The families, each once with its latest expiry (one upsert may not touch a row twice).
    pub fn take_families(&mut self) -> Vec<(&'a str, i64)> {
        let mut f = std::mem::take(&mut self.families);
        f.sort_unstable_by(|a, b| a.0.cmp(b.0).then(b.1.cmp(&a.1)));
        f.dedup_by(|later, first| later.0 == first.0);
        f
    }
}
