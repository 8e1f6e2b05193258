//! A closed-loop load generator: N workers, each sending its next request as soon as the last
//! one is answered, for a fixed time; latencies of successful requests and error counts.

use std::future::Future;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 { self.ok as f64 / self.seconds } else { 0.0 }
    }
}

/// What one worker measured.
#[derive(Default)]
pub struct Sample {
    pub micros: Vec<u32>,
    pub errors: u64,
}

impl Sample {
    /// Times one request; `ok` false counts as an error.
    pub async fn time<F: Future<Output = bool>>(&mut self, f: F) {
        let t0 = Instant::now();
        if f.await {
            self.micros.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
        } else {
            self.errors += 1;
        }
    }
}

/// Runs `workers` workers for `duration`. `worker(i, deadline)` loops until the deadline.
pub async fn run<F, Fut>(workers: usize, duration: Duration, worker: F) -> Stats
where
    F: Fn(usize, Instant) -> Fut,
    Fut: Future<Output = Sample> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..workers).map(|i| tokio::spawn(worker(i, deadline))).collect();
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok(s) = h.await {
            all.extend(s.micros);
            errors += s.errors;
        } else {
            errors += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i] as f64 / 1000.0
    };
    Stats { ok: all.len() as u64, errors, seconds, p50_ms: pct(0.50), p99_ms: pct(0.99) }
}
