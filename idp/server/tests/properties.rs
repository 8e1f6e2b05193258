//! Property tests for what the HTTP layer parses itself: form and query strings (repeated
//! parameters refused, never a panic) and cookies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{HeaderMap, HeaderValue, header};
use idp_server::http::{cookie, parse_params};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn form_bodies_never_panic_and_never_repeat(s in "\\PC{0,300}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        for input in [s, String::from_utf8_lossy(&raw).to_string()] {
            if let Ok(pairs) = parse_params(&input) {
                let mut names: Vec<_> = pairs.iter().map(|(k, _)| k.clone()).collect();
                names.sort();
                let n = names.len();
                names.dedup();
                prop_assert_eq!(n, names.len(), "a repeated parameter was accepted");
            }
        }
    }

    #[test]
    fn cookies_never_panic(v in "[ -~]{0,400}") {
        let mut h = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&v) {
            h.insert(header::COOKIE, value);
            if let Some(c) = cookie(&h, "idp_session") {
                prop_assert!(!c.is_empty() && c.len() <= 256);
            }
        }
    }
}
