//! Group commit for the append-only writes of the hot paths (access-token records, audit
//! events, authorization codes, browser sessions, interactions): concurrent callers' rows are written in one transaction, and each caller is
//! answered only after that transaction committed, so nothing is acknowledged before it is
//! durable. Under load one commit carries many rows instead of one each.

use std::future::Future;
use std::pin::Pin;

use idp_core::StoreError;
use idp_core::model::{AccessTokenRecord, AuditEvent, AuthCode, Interaction, Session};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub enum Item {
    Access(AccessTokenRecord),
    Audit(AuditEvent),
    Code(AuthCode),
    Session(Session),
    Interaction(Interaction),
}

type Reply = oneshot::Sender<Result<(), StoreError>>;
pub type Flush =
    Box<dyn Fn(Vec<Item>) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>> + Send + Sync>;

/// The most rows one transaction carries.
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
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (items, replies): (Vec<Item>, Vec<Reply>) = batch.into_iter().unzip();
                match flush(items.clone()).await {
                    Ok(()) => {
                        for r in replies {
                            let _ = r.send(Ok(()));
                        }
                        continue;
                    }
                    Err(StoreError::Unavailable(why)) => {
                        // The database is away: every row fails alike, retrying each would only wait longer.
                        for r in replies {
                            let _ = r.send(Err(StoreError::Unavailable(why.clone())));
                        }
                        continue;
                    }
                    Err(_) => {}
                }
                // One bad row must not fail its neighbours: retry each on its own.
                for (item, r) in items.into_iter().zip(replies) {
                    let _ = r.send(flush(vec![item]).await);
                }
            }
        });
        Self { tx }
    }

    /// Queues the row and waits until it is committed.
    pub async fn submit(&self, item: Item) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((item, reply)).map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        answer.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the writer has stopped".into())))
    }
}
