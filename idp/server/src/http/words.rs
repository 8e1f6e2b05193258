//! Sign-in methods, their strength and real-name levels in the words a person uses
//! ("密码 + 身份验证器", "两步验证"), never the protocol's codes (`aal2`, `pwd otp mfa`): the
//! pages show these; the codes stay in the tokens and in `data-` attributes for machines.
//! The methods are RFC 8176's, the levels those of `docs/domain.md`.

use super::texts::Texts;

/// How the person signed in: each method named once, joined with " + ". The markers `mfa`
/// (more than one factor) and `user` (the user verification of a passkey) add no method.
pub fn methods(amr: &[String], t: &Texts) -> String {
    let mut named: Vec<&str> = vec![];
    for m in amr {
        let word = match m.as_str() {
            "pwd" => t.m_pwd,
            "otp" => t.m_otp,
            "sms" => t.m_sms,
            "swk" => t.m_swk,
            "hwk" => t.m_hwk,
            "face" => t.m_face,
            _ => continue,
        };
        if !named.contains(&word) {
            named.push(word);
        }
    }
    if named.is_empty() { t.m_unknown.to_string() } else { named.join(" + ") }
}

/// How strong a sign-in at assurance level `acr` is.
pub fn strength(acr: &str, t: &Texts) -> &'static str {
    match acr {
        "aal3" => t.s_aal3,
        "aal2" => t.s_aal2,
        _ => t.s_aal1,
    }
}

/// What real-name level `level` (0: none) means, and how to reach the next one (`None` at 4).
pub fn realname(level: i64, t: &Texts) -> (&'static str, Option<&'static str>) {
    let i = level.clamp(0, 4) as usize;
    (t.rn_levels[i], t.rn_next.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::texts::{EN, ZH};

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn methods_in_plain_words() {
        assert_eq!(methods(&v(&["pwd", "otp", "mfa"]), &ZH), "密码 + 身份验证器");
        assert_eq!(methods(&v(&["swk", "user", "mfa"]), &ZH), "通行密钥");
        assert_eq!(methods(&v(&["pwd", "sms", "mfa"]), &EN), "password + SMS code");
        assert_eq!(methods(&v(&["hwk", "hwk"]), &EN), "security key", "each method once");
        assert_eq!(methods(&v(&["kba", "mfa"]), &ZH), ZH.m_unknown, "nothing known: not empty");
        for t in [&ZH, &EN] {
            let words = methods(&v(&["pwd", "otp", "sms", "swk", "hwk", "face", "user", "mfa"]), t);
            assert!(!words.contains("aal") && !words.contains("mfa") && !words.contains("pwd"), "{words}");
        }
    }

    #[test]
    fn strength_and_levels_in_plain_words() {
        assert_eq!(strength("aal2", &ZH), "两步验证");
        assert_eq!(strength("aal1", &EN), "one step");
        assert_eq!(strength("", &EN), "one step", "unknown is the weakest");
        assert_eq!(realname(0, &ZH).0, ZH.rn_levels[0]);
        assert!(realname(3, &ZH).1.is_some());
        assert_eq!(realname(4, &EN).1, None, "nothing above 4");
        assert_eq!(realname(9, &EN).0, EN.rn_levels[4], "clamped");
        assert_eq!(realname(-1, &EN).0, EN.rn_levels[0], "clamped");
    }
}
