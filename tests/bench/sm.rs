//! Commercial cryptography against its international counterparts, on the same machine
//! (docs/cryptography.md): SM2 against ES256 signing and verifying a token, SM3 against
//! SHA-256, SM4-GCM against AES-256-GCM, PBKDF2-HMAC-SM3 at its default iterations against
//! Argon2id at its production parameters. In process, one core.

use std::time::Instant;

use idp_core::crypto::{Kek, SealAlg};
use idp_core::model::{CryptoProfile, CryptoSettings, SigningAlg};

/// What [`primitives`] measured.
pub struct Primitives {
    /// (SM2, ES256) mean µs to sign an ID-token-sized JWT (the mean: SM2 makes its nonces
    /// sixteen at a time, so the median would show only the cheap fifteen).
    pub sign_us: (f64, f64),
    /// (SM2, ES256) median µs to verify one.
    pub verify_us: (f64, f64),
    /// (SM3, SHA-256) MB/s over 1 MiB.
    pub hash_mbs: (f64, f64),
    /// (SM4-GCM, AES-256-GCM) MB/s sealing 1 MiB.
    pub seal_mbs: (f64, f64),
    /// (PBKDF2-HMAC-SM3 at the default iterations, Argon2id at the production parameters) ms
    /// per password hash.
    pub password_ms: (f64, f64),
}

fn mean_us(n: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn median_us(n: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

fn mb_per_s(bytes: usize, rounds: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..rounds {
        f();
    }
    (bytes * rounds) as f64 / t.elapsed().as_secs_f64() / 1e6
}

pub fn primitives(n: usize) -> Primitives {
    let env = idp_core::SystemEnv;
    let kek = Kek::generate(&env);
    let module = idp_core::module::SoftwareModule::new(kek.clone());
    let now = idp_core::Env::now(&env);
    let records: Vec<_> = [SigningAlg::ES256, SigningAlg::SM2]
        .into_iter()
        .map(|alg| idp_core::keys::generate(&env, &module, "t", alg, &Default::default()).expect("a key"))
        .collect();
    let dual = CryptoSettings { profile: CryptoProfile::Dual, ..Default::default() };
    let keys =
        idp_core::keys::KeySet::load(&records, &module, &kek, &idp_core::suite::Suite::of(&dual), "t", now)
            .expect("keys");
    let claims = serde_json::json!({
        "iss": "https://idp.example.gov.cn/t/main", "sub": "a3k9x2", "aud": "client", "azp": "client",
        "iat": now, "exp": now + 600, "at_hash": "x4bHqQ9t2yF0gC3eB1vS5w", "nonce": "n-0S6_WzA2Mj",
        "acr": "aal2", "amr": ["pwd", "otp"], "name": "林晓", "preferred_username": "lin",
    });
    let sign = |alg| {
        let mut token = String::new();
        let us = mean_us(n, || token = keys.sign(alg, "JWT", &claims).expect("signed"));
        let verify = median_us(n, || {
            keys.verify::<serde_json::Value>(&token, "https://idp.example.gov.cn/t/main", false, now)
                .expect("verified");
        });
        (us, verify)
    };
    let (sm2_sign, sm2_verify) = sign(SigningAlg::SM2);
    let (es_sign, es_verify) = sign(SigningAlg::ES256);

    let mib = vec![7u8; 1 << 20];
    let hash_mbs = (
        mb_per_s(mib.len(), 50, || {
            std::hint::black_box(idp_core::sm::sm3(&mib));
        }),
        mb_per_s(mib.len(), 50, || {
            std::hint::black_box(idp_core::crypto::sha256(&mib));
        }),
    );
    let seal_mbs = (
        mb_per_s(mib.len(), 50, || {
            std::hint::black_box(kek.seal_with(&env, SealAlg::Sm4Gcm, &mib, "bench"));
        }),
        mb_per_s(mib.len(), 50, || {
            std::hint::black_box(kek.seal_with(&env, SealAlg::Aes256Gcm, &mib, "bench"));
        }),
    );
    let pbkdf2 =
        idp_core::password::Hasher::new(Default::default()).with_config(idp_core::password::PasswordConfig {
            scheme: idp_core::password::PasswordScheme::Pbkdf2Sm3,
            ..Default::default()
        });
    let argon2 = idp_core::password::Hasher::new(Default::default());
    let password_ms = (
        median_us(5, || {
            pbkdf2.hash(&env, "Tiger-Lily-42").expect("hashed");
        }) / 1000.0,
        median_us(5, || {
            argon2.hash(&env, "Tiger-Lily-42").expect("hashed");
        }) / 1000.0,
    );
    Primitives {
        sign_us: (sm2_sign, es_sign),
        verify_us: (sm2_verify, es_verify),
        hash_mbs,
        seal_mbs,
        password_ms,
    }
}

impl Primitives {
    pub fn markdown(&self) -> String {
        let row = |what: &str, unit: &str, (sm, intl): (f64, f64)| {
            format!("| {what} | {sm:.1} | {intl:.1} | {unit} | {:.2}× |\n", sm / intl.max(1e-9))
        };
        let mut s = String::from(
            "| operation | SM | international | unit | SM / international |\n|---|---:|---:|---|---:|\n",
        );
        s.push_str(&row("sign an ID token: SM2 (SM3) / ES256", "µs, mean", self.sign_us));
        s.push_str(&row("verify it: SM2 / ES256", "µs, median", self.verify_us));
        s.push_str(&row("hash 1 MiB: SM3 / SHA-256", "MB/s", self.hash_mbs));
        s.push_str(&row("seal 1 MiB: SM4-GCM / AES-256-GCM", "MB/s", self.seal_mbs));
        s.push_str(&row(
            "hash a password: PBKDF2-HMAC-SM3 (300 000 iterations) / Argon2id (19 MiB, t=2)",
            "ms, median",
            self.password_ms,
        ));
        s
    }
}
