//! Time and randomness enter the core through [`Env`], so tests can step the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The source of time (Unix seconds) and of cryptographic randomness.
pub trait Env: Send + Sync + 'static {
    fn now(&self) -> i64;
    fn fill_random(&self, buf: &mut [u8]) {
        // aws-lc-rs draws from the operating system's CSPRNG; failure there is unrecoverable.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(buf).expect("system random number generator failed");
    }
}

/// The real clock.
#[derive(Debug, Clone, Default)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that starts at the real time and moves only when a test steps it.
#[derive(Debug, Clone)]
pub struct TestEnv {
    now: Arc<AtomicI64>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self { now: Arc::new(AtomicI64::new(SystemEnv.now())) }
    }
}

impl TestEnv {
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Env for TestEnv {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}
