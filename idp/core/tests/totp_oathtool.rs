//! Interop: the codes Debian's `oathtool --totp -b SECRET` computes for a secret we generated
//! (shown to the person as base32) are the codes we accept, at the same instant.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use idp_core::totp::Secret;
use idp_core::{Env, SystemEnv};

fn oathtool(secret_b32: &str, at: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", secret_b32, "--now", &format!("@{at}")])
        .output()
        .expect("oathtool is installed (Debian package oathtool; scripts/test.sh installs it)");
    assert!(out.status.success(), "oathtool: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn codes_from_oathtool_are_accepted() {
    let now = SystemEnv.now();
    for _ in 0..5 {
        let secret = Secret::generate(&SystemEnv);
        let b32 = secret.base32();
        for at in [now, now - 30, now + 30, 59, 1_234_567_890] {
            let code = oathtool(&b32, at);
            assert_eq!(secret.verify(&code, at, None), Some(at.div_euclid(30)), "{b32} at {at}");
        }
        // oathtool's code of two steps ago is outside the window
        let old = oathtool(&b32, now - 60);
        if secret.code_at_step(now / 30) != old && secret.code_at_step(now / 30 - 1) != old {
            assert_eq!(secret.verify(&old, now, None), None);
        }
    }
}
