//! A tenant's look: its name in each language, its logo and its colours, on every page the
//! people of that tenant see ("branding"). The colours are checked so that text stays
//! readable whatever an administrator picks: the text on the accent colour is chosen for
//! contrast (at least 4.5:1, WCAG AA), and the page background must be light.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The largest logo accepted, decoded.
pub const LOGO_MAX_BYTES: usize = 32 * 1024;

#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// The name in the page header and title, and in SMS messages, in Chinese.
    pub name_zh: Option<String>,
    /// The same in English.
    pub name_en: Option<String>,
    /// `#rrggbb`: the header and the buttons.
    pub accent: Option<String>,
    /// `#rrggbb`: the page around the content; light.
    pub background: Option<String>,
    pub logo: Option<Logo>,
    /// The footer of every page: who runs the service, in Chinese and in English.
    pub operator_zh: Option<String>,
    pub operator_en: Option<String>,
    /// The ICP filing number (ICP备案号, e.g. 京ICP备12345678号-1), linked to MIIT's register.
    pub icp_filing: Option<String>,
    /// The public-security filing number (公安备案号, e.g. 京公网安备11010502030000号),
    /// linked to the Ministry of Public Security's register by its digits.
    pub psb_filing: Option<String>,
    /// The help line, as dialled (digits, spaces, `+`, `-`, parentheses).
    pub help_phone: Option<String>,
    /// The privacy policy: an https URL, or a path on this site.
    pub privacy_url: Option<String>,
}

/// A logo: PNG, JPEG or SVG, base64 in `data`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Logo {
    pub content_type: String,
    pub data: String,
}

impl std::fmt::Debug for Branding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Branding")
            .field("name_zh", &self.name_zh)
            .field("name_en", &self.name_en)
            .field("accent", &self.accent)
            .field("background", &self.background)
            .field("logo", &self.logo.as_ref().map(|l| (&l.content_type, l.data.len())))
            .field("operator_zh", &self.operator_zh)
            .field("operator_en", &self.operator_en)
            .field("icp_filing", &self.icp_filing)
            .field("psb_filing", &self.psb_filing)
            .field("help_phone", &self.help_phone)
            .field("privacy_url", &self.privacy_url)
            .finish()
    }
}

impl Logo {
    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(&self.data).unwrap_or_default()
    }
}

/// `#rrggbb` (or `#RRGGBB`) as its three channels.
pub fn parse_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let ch = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([ch(0)?, ch(2)?, ch(4)?])
}

/// WCAG 2 relative luminance, 0 (black) to 1 (white).
pub fn luminance(rgb: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
}

/// WCAG 2 contrast ratio of two luminances, 1 to 21.
pub fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

/// The bidirectional controls, which make a text read otherwise than it is stored.
fn bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// The dark text colour of the pages.
const INK: &str = "#1d2733";

impl Branding {
    /// Checks every part and normalises the colours to lower case; a clear message otherwise.
    pub fn checked(mut self) -> Result<Branding, String> {
        for (what, name) in [("name_zh", &mut self.name_zh), ("name_en", &mut self.name_en)] {
            if let Some(n) = name {
                let t = n.trim().to_string();
                if t.is_empty() || t.chars().count() > 40 || t.chars().any(char::is_control) {
                    return Err(format!("{what} has 1 to 40 characters"));
                }
                *n = t;
            }
        }
        for (what, text, max) in [
            ("operator_zh", &mut self.operator_zh, 60),
            ("operator_en", &mut self.operator_en, 80),
            ("icp_filing", &mut self.icp_filing, 40),
            ("psb_filing", &mut self.psb_filing, 40),
        ] {
            if let Some(n) = text {
                let t = n.trim().to_string();
                if t.is_empty()
                    || t.chars().count() > max
                    || t.chars().any(|c| c.is_control() || c == '<' || bidi(c))
                {
                    return Err(format!("{what} has 1 to {max} characters"));
                }
                *n = t;
            }
        }
        if self.psb_filing.as_deref().is_some_and(|p| !p.chars().any(|c| c.is_ascii_digit())) {
            return Err("psb_filing carries the record's number".into());
        }
        if let Some(phone) = &mut self.help_phone {
            let t = phone.trim().to_string();
            let dialled = t.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
            if !dialled || !(3..=20).contains(&t.len()) || !t.chars().any(|c| c.is_ascii_digit()) {
                return Err("help_phone is a number as dialled: digits, spaces, + - ( )".into());
            }
            *phone = t;
        }
        if let Some(u) = &mut self.privacy_url {
            let t = u.trim().to_string();
            let path = t.starts_with('/') && !t.starts_with("//") && !t.contains('\\');
            // (no user part: `https://gov.cn@elsewhere.example/` reads as the province's address)
            let https = url::Url::parse(&t).is_ok_and(|x| {
                x.scheme() == "https"
                    && x.host().is_some()
                    && x.username().is_empty()
                    && x.password().is_none()
            });
            if !(path || https) || t.len() > 300 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err("privacy_url is an https URL or a path on this site".into());
            }
            *u = t;
        }
        if let Some(a) = &mut self.accent {
            parse_colour(a).ok_or("accent is a colour #rrggbb")?;
            *a = a.to_ascii_lowercase();
        }
        if let Some(b) = &mut self.background {
            let rgb = parse_colour(b).ok_or("background is a colour #rrggbb")?;
            // the page's dark text must stay readable on it
            if contrast(luminance(rgb), luminance(parse_colour(INK).unwrap_or_default())) < 7.0 {
                return Err("background must be a light colour (contrast 7:1 with the text)".into());
            }
            *b = b.to_ascii_lowercase();
        }
        if let Some(logo) = &self.logo {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&logo.data)
                .map_err(|_| "logo.data is not base64")?;
            if bytes.is_empty() || bytes.len() > LOGO_MAX_BYTES {
                return Err(format!("the logo has at most {} KiB", LOGO_MAX_BYTES / 1024));
            }
            if sniff(&bytes) != Some(logo.content_type.as_str()) {
                return Err("the logo is a PNG, JPEG or SVG image and logo.content_type says which".into());
            }
        }
        Ok(self)
    }

    /// The stylesheet that applies the colours over the default one, if any colour is set.
    pub fn css(&self) -> Option<String> {
        if self.accent.is_none() && self.background.is_none() {
            return None;
        }
        let mut css = String::from(":root{");
        if let Some(rgb) = self.accent.as_deref().and_then(parse_colour) {
            let l = luminance(rgb);
            // white or the dark ink, whichever contrasts more: never below 4.5:1
            let ink =
                if contrast(l, 1.0) >= contrast(l, luminance([0x1d, 0x27, 0x33])) { "#fff" } else { INK };
            css.push_str(&format!(
                "--accent:{};--accent-ink:{ink};",
                self.accent.as_deref().unwrap_or_default()
            ));
        }
        if let Some(b) = &self.background {
            css.push_str(&format!("--page:{b};"));
        }
        css.push('}');
        Some(css)
    }

    /// What is shown of the branding in the admin API (the logo as its type and size only).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "name_zh": self.name_zh, "name_en": self.name_en,
            "accent": self.accent, "background": self.background,
            "logo": self.logo.as_ref().map(|l| serde_json::json!({
                "content_type": l.content_type, "bytes": l.bytes().len(),
            })),
            "operator_zh": self.operator_zh, "operator_en": self.operator_en,
            "icp_filing": self.icp_filing, "psb_filing": self.psb_filing,
            "help_phone": self.help_phone, "privacy_url": self.privacy_url,
        })
    }
}

/// The image type by its first bytes; SVG only when it is plain drawing (`svg::is_safe`; it is
/// also served with a sandboxing CSP and shown only through `<img>`, where no script runs).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some("image/jpeg");
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_start_matches('\u{feff}');
    crate::svg::is_safe(text).then_some("image/svg+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn colours_and_contrast() {
        assert_eq!(parse_colour("#B3261E"), Some([0xb3, 0x26, 0x1e]));
        assert_eq!(parse_colour("b3261e"), None);
        assert_eq!(parse_colour("#b3261"), None);
        assert_eq!(parse_colour("#gg0000"), None);
        assert!((contrast(luminance([0, 0, 0]), luminance([255, 255, 255])) - 21.0).abs() < 0.01);
        let dark = Branding { accent: Some("#0B3D91".into()), ..Default::default() }.checked().unwrap();
        assert_eq!(dark.css().unwrap(), ":root{--accent:#0b3d91;--accent-ink:#fff;}");
        let light = Branding { accent: Some("#ffd54f".into()), ..Default::default() };
        assert!(light.css().unwrap().contains("--accent-ink:#1d2733"));
        assert!(Branding { background: Some("#333333".into()), ..Default::default() }.checked().is_err());
        let page = Branding { background: Some("#F7F3E8".into()), ..Default::default() }.checked().unwrap();
        assert_eq!(page.css().unwrap(), ":root{--page:#f7f3e8;}");
        assert_eq!(Branding::default().css(), None);
    }

    #[test]
    fn names() {
        let b =
            Branding { name_zh: Some("  吉林省政务服务  ".into()), ..Default::default() }.checked().unwrap();
        assert_eq!(b.name_zh.as_deref(), Some("吉林省政务服务"));
        assert!(Branding { name_en: Some(" ".into()), ..Default::default() }.checked().is_err());
        assert!(Branding { name_en: Some("x".repeat(41)), ..Default::default() }.checked().is_err());
        assert!(Branding { name_en: Some("a\u{7}b".into()), ..Default::default() }.checked().is_err());
        let footer = Branding {
            operator_zh: Some(" 吉林省政务服务和数字化建设管理局 ".into()),
            icp_filing: Some("吉ICP备12345678号-1".into()),
            psb_filing: Some("吉公网安备22010202000123号".into()),
            help_phone: Some("12345".into()),
            privacy_url: Some("https://zwfw.jl.gov.cn/privacy".into()),
            ..Default::default()
        }
        .checked()
        .unwrap();
        assert_eq!(footer.operator_zh.as_deref(), Some("吉林省政务服务和数字化建设管理局"));
        assert!(
            Branding { privacy_url: Some("/privacy.html".into()), ..Default::default() }.checked().is_ok()
        );
        for bad in [
            "http://x.example/p",
            "javascript:alert(1)",
            "//evil.example/",
            "data:text/html,x",
            "/a b",
            "https://gov.cn@evil.example/",
        ] {
            let b = Branding { privacy_url: Some(bad.into()), ..Default::default() };
            assert!(b.checked().is_err(), "{bad}");
        }
        for bad in ["call me", "1", "+86 <b>"] {
            assert!(
                Branding { help_phone: Some(bad.into()), ..Default::default() }.checked().is_err(),
                "{bad}"
            );
        }
        assert!(Branding { psb_filing: Some("公网安备".into()), ..Default::default() }.checked().is_err());
        assert!(Branding { icp_filing: Some("<script>".into()), ..Default::default() }.checked().is_err());
        let flipped = Branding { operator_zh: Some("\u{202e}局理管".into()), ..Default::default() };
        assert!(flipped.checked().is_err(), "no bidirectional controls");
    }

    #[test]
    fn logos() {
        let logo = |ct: &str, data: &[u8]| Branding {
            logo: Some(Logo { content_type: ct.into(), data: b64(data) }),
            ..Default::default()
        };
        assert!(logo("image/png", b"\x89PNG\r\n\x1a\n....").checked().is_ok());
        assert!(logo("image/jpeg", b"\x89PNG\r\n\x1a\n....").checked().is_err(), "type must match");
        assert!(logo("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0]).checked().is_ok());
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>"#;
        assert!(
            logo("image/svg+xml", &[b"\xef\xbb\xbf".as_slice(), svg.as_slice()].concat()).checked().is_ok()
        );
        assert!(logo("image/svg+xml", svg).checked().is_ok());
        for bad in [
            &br#"<svg><script>alert(1)</script></svg>"#[..],
            br#"<svg onload="alert(1)"></svg>"#,
            br#"<svg><a href="javascript:x()"/></svg>"#,
            b"<html>not an image</html>",
        ] {
            assert!(logo("image/svg+xml", bad).checked().is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(logo("image/png", &[0u8; LOGO_MAX_BYTES + 1]).checked().is_err());
        let bad64 = Branding {
            logo: Some(Logo { content_type: "image/png".into(), data: "***".into() }),
            ..Default::default()
        };
        assert!(bad64.checked().is_err());
        assert!(
            !format!("{:?}", logo("image/png", b"\x89PNG\r\n\x1a\n")).contains("iVBOR"),
            "no data in Debug"
        );
    }
}
