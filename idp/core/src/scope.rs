//! Scopes this provider understands (docs/domain.md "Scopes and claims") with the claims each
//! releases and the plain-words description shown on the consent page.

pub struct ScopeInfo {
    pub name: &'static str,
    pub claims: &'static [&'static str],
    pub zh: &'static str,
    pub en: &'static str,
}

pub const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        name: "openid",
        claims: &["sub", "acr", "amr", "auth_time", "sid"],
        zh: "确认您的身份（账号标识、登录时间与登录方式）",
        en: "Confirm who you are (your account identifier, when and how you signed in)",
    },
    ScopeInfo {
        name: "profile",
        claims: &[
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        zh: "基本资料：姓名、昵称、用户名、头像、性别、出生日期、时区与语言",
        en: "Basic profile: name, nickname, username, picture, gender, birth date, time zone and language",
    },
    ScopeInfo {
        name: "email",
        claims: &["email", "email_verified"],
        zh: "电子邮箱地址",
        en: "Email address",
    },
    ScopeInfo { name: "address", claims: &["address"], zh: "通讯地址", en: "Postal address" },
    ScopeInfo {
        name: "phone",
        claims: &["phone_number", "phone_number_verified"],
        zh: "手机号码",
        en: "Phone number",
    },
    ScopeInfo {
        name: "realname",
        claims: &["realname_level", "verified_name", "id_type", "id_number_masked"],
        zh: "实名信息：实名等级、已核验的姓名、证件类型和部分隐藏的证件号码",
        en: "Your verified identity: real-name level, verified name, document type and the document number with most digits hidden",
    },
    ScopeInfo {
        name: "id_number",
        claims: &["id_number"],
        zh: "完整的身份证件号码（敏感个人信息）",
        en: "Your full identity document number (sensitive personal information)",
    },
    ScopeInfo {
        name: "org",
        claims: &["org", "roles"],
        zh: "工作身份：您所在的部门及岗位角色（以工作人员身份办理时）",
        en: "Your staff context: your department and roles (when you act as staff)",
    },
    ScopeInfo {
        name: "enterprise",
        claims: &["entity"],
        zh: "企业身份：您代表的企业（统一社会信用代码、名称）及您的角色和委托事项（以企业身份办理时）",
        en: "Your enterprise context: the enterprise you act for (credit code, name), your role and mandated matters (when you act for it)",
    },
    ScopeInfo {
        name: "admin",
        claims: &[],
        zh: "以您的管理员身份管理本租户（组织机构、应用、账号等，以您的权限为限）",
        en: "Administer this tenant as you (organisations, applications, accounts — within your rights)",
    },
    ScopeInfo {
        name: "offline_access",
        claims: &[],
        zh: "在您离开后继续访问上述信息（长期授权）",
        en: "Keep access to the above when you are not present",
    },
];

/// Scopes that release sensitive personal information (PIPL art. 28): requested only by clients
/// an administrator registered with them, and consented to with their own tick.
pub const SENSITIVE: &[&str] = &["id_number"];

/// When a scope last came to release more than before (seconds since the epoch): consent given
/// earlier was informed of less, so it no longer covers the scope and the person is asked again
/// (PIPL art. 14 and 17: consent is informed, and a change of what is processed needs it anew).
/// `profile` widened from name and username to the standard claims of OIDC Core §5.1 on
/// 2026-12-05.
pub const WIDENED: &[(&str, i64)] = &[("profile", 1_796_428_800)];

/// Whether a consent given (last confirmed) at `granted_at` for `scope` still covers it.
pub fn consent_current(scope: &str, granted_at: i64) -> bool {
    WIDENED.iter().all(|(name, at)| *name != scope || granted_at >= *at)
}

pub fn info(name: &str) -> Option<&'static ScopeInfo> {
    SCOPES.iter().find(|s| s.name == name)
}

/// The requested scope values this provider understands; the others are ignored (OIDC Core
/// §3.1.2.1: "Scope values used that are not understood by an implementation SHOULD be
/// ignored"). `also` are values the client was registered with beyond the standard ones (a
/// service's API scopes).
pub fn understood(requested: Vec<String>, also: &[String]) -> Vec<String> {
    requested.into_iter().filter(|s| info(s).is_some() || also.contains(s)).collect()
}

/// The scope values a tenant defines: the standard ones, `api` (a service's default), `scim`
/// (the SCIM endpoints) and the tenant's own API scopes.
pub fn defined(name: &str, tenant_api_scopes: &[String]) -> bool {
    info(name).is_some()
        || name == "api"
        || name == crate::scim::SCOPE
        || tenant_api_scopes.iter().any(|s| s == name)
}

/// Parses a space-separated scope string into distinct values in order. Refuses characters
/// outside RFC 6749 §3.3 `scope-token` (%x21 / %x23-5B / %x5D-7E).
pub fn parse(scope: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = vec![];
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)) {
            return Err("scope contains characters that are not allowed".into());
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedups_and_refuses_bad_characters() {
        assert_eq!(parse("openid  profile openid").unwrap(), vec!["openid", "profile"]);
        assert!(parse("openid \"x\"").is_err());
        assert!(parse("openid\u{0}").is_err());
        assert!(parse("").unwrap().is_empty());
    }
}
