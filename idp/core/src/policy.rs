//! Which factors make which assurance level (docs/domain.md "Authentication assurance (acr) and
//! methods (amr)"), in one place: `aal1` is one factor; `aal2` two factors of different kinds
//! (something known — password or SMS code to a verified phone — plus something held: TOTP,
//! passkey, security key), or a passkey or security key that verified its user (`user`: PIN or
//! biometric on the authenticator, which makes it two factors in one); `aal3` is reserved for
//! hardware-bound authenticators with user verification (not offered yet). amr values follow RFC
//! 8176.

/// The known levels, weakest first.
pub const LEVELS: [&str; 3] = ["aal1", "aal2", "aal3"];
/// The levels a sign-in here can reach (published as `acr_values_supported`).
pub const OFFERED: [&str; 2] = ["aal1", "aal2"];

/// The rank of an acr value (0 for unknown values).
pub fn level(acr: &str) -> usize {
    LEVELS.iter().position(|l| *l == acr).map_or(0, |p| p + 1)
}

/// The level the methods in `amr` reach together.
pub fn acr_of(amr: &[String]) -> &'static str {
    let has = |m: &str| amr.iter().any(|a| a == m);
    // `fed`: a sign-in at an upstream identity provider, one factor here
    let known = has("pwd") || has("sms") || has("fed");
    let held = has("otp") || has("hwk") || has("swk");
    // a passkey that verified its user (PIN or biometric) is two factors in one
    let verified_key = (has("hwk") || has("swk")) && has("user");
    // an upstream whose sign-in the operator counts as two factors (`acr_map`) says so with
    // `mfa` beside `fed` (`idp_server::http::signin::upstream_link`)
    let federated_mfa = has("fed") && has("mfa") && amr.len() == 2;
    if (known && held) || verified_key || federated_mfa { "aal2" } else { "aal1" }
}

/// The amr of a sign-in that added `method` to `amr` (with `mfa` once two are present).
pub fn add_method(amr: &[String], method: &str) -> Vec<String> {
    let mut out: Vec<String> = amr.iter().filter(|a| *a != "mfa").cloned().collect();
    if !out.iter().any(|a| a == method) {
        out.push(method.to_string());
    }
    if out.len() >= 2 {
        out.push("mfa".into());
    }
    out
}

/// The level a request needs: what the client asked for with `acr_values` (the weakest of the
/// known values it lists, since any of them satisfies it) and never less than the client's
/// registered minimum. `None` when nothing beyond a sign-in is needed.
pub fn required(acr_values: Option<&str>, client_minimum: Option<&str>) -> Option<&'static str> {
    let asked = acr_values.and_then(|v| v.split(' ').map(level).filter(|l| *l > 0).min());
    let floor = client_minimum.map(level).filter(|l| *l > 0);
    let need = asked.max(floor)?;
    (need > 1).then(|| LEVELS[need - 1])
}

/// The level an account's roles demand of every sign-in (docs/domain.md: staff and administrators
/// need `aal2` at least). Every account role is a staff or administrator role — citizens have
/// none, and enterprise roles are memberships, not account roles — so any role means `aal2`.
pub fn required_by_roles(roles: &[String]) -> Option<&'static str> {
    (!roles.is_empty()).then_some("aal2")
}

/// The level staff acting as staff need (docs/domain.md).
pub const STAFF: &str = "aal2";

/// The stronger of two requirements.
pub fn strongest(a: Option<&'static str>, b: Option<&'static str>) -> Option<&'static str> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if level(x) >= level(y) { x } else { y }),
        (x, y) => x.or(y),
    }
}

/// Whether a session at `acr` satisfies `required`.
pub fn satisfies(acr: &str, required: Option<&str>) -> bool {
    required.is_none_or(|r| level(acr) >= level(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn levels_from_methods() {
        assert_eq!(acr_of(&v(&["pwd"])), "aal1");
        assert_eq!(acr_of(&v(&["otp"])), "aal1", "a held factor alone is one factor");
        assert_eq!(acr_of(&v(&["pwd", "otp", "mfa"])), "aal2");
        assert_eq!(acr_of(&v(&["sms", "hwk"])), "aal2");
        assert_eq!(acr_of(&v(&["pwd", "sms"])), "aal1", "two known factors are not two kinds");
        assert_eq!(acr_of(&v(&["swk", "user", "mfa"])), "aal2", "a passkey with user verification");
        assert_eq!(acr_of(&v(&["hwk"])), "aal1", "a security key without user verification");
        assert_eq!(acr_of(&v(&["otp", "user"])), "aal1", "user verification belongs to a key");
        assert_eq!(acr_of(&v(&["fed"])), "aal1", "an upstream's sign-in is one factor");
        assert_eq!(acr_of(&v(&["fed", "otp", "mfa"])), "aal2", "and the account's own second");
        assert_eq!(acr_of(&v(&["fed", "mfa"])), "aal2", "or both, where the operator counts it so");
        assert_eq!(acr_of(&v(&["pwd", "mfa"])), "aal1", "mfa alone proves nothing");
        assert_eq!(add_method(&v(&["pwd"]), "otp"), v(&["pwd", "otp", "mfa"]));
        assert_eq!(add_method(&v(&["pwd", "otp", "mfa"]), "otp"), v(&["pwd", "otp", "mfa"]));
    }

    #[test]
    fn what_a_request_needs() {
        assert_eq!(required(None, None), None);
        assert_eq!(required(Some("aal1"), None), None);
        assert_eq!(required(Some("aal2"), None), Some("aal2"));
        assert_eq!(required(Some("aal2 aal1"), None), None, "aal1 is acceptable to the client");
        assert_eq!(required(Some("urn:unknown aal2"), None), Some("aal2"));
        assert_eq!(required(Some("urn:unknown"), None), None);
        assert_eq!(required(None, Some("aal2")), Some("aal2"), "the client's minimum applies");
        assert_eq!(required(Some("aal1"), Some("aal2")), Some("aal2"));
        assert_eq!(required(Some("aal3"), Some("aal2")), Some("aal3"));
        assert!(satisfies("aal2", Some("aal2")) && satisfies("aal1", None));
        assert_eq!(required_by_roles(&[]), None, "a citizen");
        assert_eq!(required_by_roles(&v(&["system_admin"])), Some("aal2"));
        assert_eq!(required_by_roles(&v(&["clerk"])), Some("aal2"));
        assert!(!satisfies("aal1", Some("aal2")) && !satisfies("aal2", Some("aal3")));
        let published = crate::discovery::metadata(
            &crate::discovery::Endpoints::new("https://x/t/a"),
            &Default::default(),
        );
        assert_eq!(published["acr_values_supported"], serde_json::json!(OFFERED));
    }
}
