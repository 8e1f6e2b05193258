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
            // a device-bound key that verified the person (Windows Hello, a phone) is a passkey
            "hwk" if amr.iter().any(|a| a == "user") => t.m_swk,
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

/// How the pages name the signed-in person to themselves: the name they gave, else their
/// phone number masked, else the username (a registration's is generated: people sign in with
/// the number and would not recognise it).
pub fn shown_name(account: &idp_core::model::Account) -> String {
    match (&account.name, &account.phone) {
        (Some(n), _) if !n.trim().is_empty() => n.clone(),
        (_, Some(p)) => crate::http::signin::factor::mask_phone(p),
        _ => account.username.clone(),
    }
}

/// The browser and system a sign-in came from, as a person names them ("Chrome · Windows",
/// "微信 · iPhone"), from the `User-Agent` header: only this label is kept (on the sign-in's
/// audit event), never the header itself. Empty when neither is recognised.
pub fn device(user_agent: &str) -> String {
    let has = |s: &str| user_agent.contains(s);
    // the order matters: most browsers also claim to be Safari, Edge and Opera to be Chrome
    let browser = if has("MicroMessenger") {
        "微信"
    } else if has("AlipayClient") {
        "支付宝"
    } else if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else {
        ""
    };
    let system = if has("HarmonyOS") || has("OpenHarmony") {
        "HarmonyOS"
    } else if has("iPhone") {
        "iPhone"
    } else if has("iPad") {
        "iPad"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => String::new(),
        (b, "") => b.to_string(),
        ("", s) => s.to_string(),
        (b, s) => format!("{b} · {s}"),
    }
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

    #[test]
    fn devices_as_people_name_them() {
        let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device(chrome_win), "Chrome · Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device(edge), "Edge · Windows");
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(device(safari_iphone), "Safari · iPhone");
        let wechat = "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.49";
        assert_eq!(device(wechat), "微信 · Android");
        let firefox_mac =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device(firefox_mac), "Firefox · macOS");
        let harmony = "Mozilla/5.0 (Phone; OpenHarmony 4.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.4.300";
        assert_eq!(device(harmony), "Chrome · HarmonyOS");
        assert_eq!(device("curl/8.5.0"), "");
        assert_eq!(device("reqwest"), "");
    }
}
