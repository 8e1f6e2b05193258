//! What a person tells about themselves beyond the account: the OIDC Core §5.1 standard claims
//! released under `profile` and `address`, each optional, and the checks they pass before they
//! are stored.

use serde::{Deserialize, Serialize};

/// What a person tells about themselves beyond the account (OIDC Core §5.1 standard claims
/// under `profile` and `address`), each optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// An https URL of the person's picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// `female`, `male`, or what the person writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD` (or `0000-MM-DD` without the year, or `YYYY`; OIDC Core §5.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// An IANA time zone, e.g. `Asia/Shanghai`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// A postal address (OIDC Core §5.1.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Control characters and the invisible ones that reorder or hide text (bidirectional
/// controls, zero-width characters): a name must read as what it is.
pub fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}')
}

impl Profile {
    /// Trims every value, drops empty ones, and refuses what cannot be right: a value over
    /// 200 characters or with control characters, a picture or website that is not an https
    /// URL, a birth date that is not `YYYY-MM-DD`, `0000-MM-DD` or `YYYY`.
    pub fn checked(mut self) -> Result<Self, String> {
        fn clean(v: &mut Option<String>, what: &str) -> Result<(), String> {
            if let Some(s) = v.as_mut() {
                *s = s.trim().to_string();
                let max = if what == "address.formatted" { 1000 } else { 200 };
                if s.chars().count() > max || s.chars().any(invisible) {
                    return Err(format!("{what} has at most {max} characters, without control characters"));
                }
            }
            if v.as_deref() == Some("") {
                *v = None;
            }
            Ok(())
        }
        for (v, what) in [
            (&mut self.given_name, "given_name"),
            (&mut self.family_name, "family_name"),
            (&mut self.middle_name, "middle_name"),
            (&mut self.nickname, "nickname"),
            (&mut self.picture, "picture"),
            (&mut self.website, "website"),
            (&mut self.gender, "gender"),
            (&mut self.birthdate, "birthdate"),
            (&mut self.zoneinfo, "zoneinfo"),
        ] {
            clean(v, what)?;
        }
        for (v, what) in [(&self.picture, "picture"), (&self.website, "website")] {
            if let Some(u) = v
                && !(u.starts_with("https://")
                    && u.len() > 8
                    && !u.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\\' | '`')))
            {
                return Err(format!("{what} is an https URL"));
            }
        }
        if let Some(b) = &self.birthdate {
            let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
            let ok = match b.split('-').collect::<Vec<_>>().as_slice() {
                [y] => y.len() == 4 && digits(y),
                [y, m, d] => {
                    y.len() == 4 && digits(y) && m.len() == 2 && d.len() == 2 && digits(m) && digits(d) && {
                        let (mm, dd): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
                        (1..=12).contains(&mm) && (1..=31).contains(&dd)
                    }
                }
                _ => false,
            };
            if !ok {
                return Err("birthdate is YYYY-MM-DD (0000-MM-DD without the year, or YYYY)".into());
            }
        }
        if let Some(a) = self.address.as_mut() {
            for (v, what) in [
                (&mut a.formatted, "address.formatted"),
                (&mut a.street_address, "address.street_address"),
                (&mut a.locality, "address.locality"),
                (&mut a.region, "address.region"),
                (&mut a.postal_code, "address.postal_code"),
                (&mut a.country, "address.country"),
            ] {
                clean(v, what)?;
            }
            if *a == Address::default() {
                self.address = None;
            }
        }
        Ok(self)
    }
}
