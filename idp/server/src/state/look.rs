//! A tenant's look (name, stylesheet, logo; `idp_core::branding`), prepared once when the
//! tenant is loaded; `crate::http::look` serves it and puts it on every page of the tenant.

use idp_core::model::Tenant;

/// A tenant's look, prepared when the tenant is loaded.
#[derive(Debug, Default)]
pub struct Look {
    pub(crate) slug: String,
    pub(crate) name_zh: Option<String>,
    pub(crate) name_en: Option<String>,
    /// The stylesheet over the default one, and its version (for the URL).
    pub(crate) css: Option<(String, String)>,
    /// The logo's type, bytes and version.
    pub(crate) logo: Option<(String, Vec<u8>, String)>,
    /// The branding's footer parts (operator, filing numbers, help line, privacy policy;
    /// checked there); its logo is in `logo`.
    pub(crate) footer: idp_core::branding::Branding,
}

impl Look {
    pub fn of(tenant: &Tenant) -> Look {
        let b = &tenant.settings.branding;
        let version = |bytes: &[u8]| idp_core::crypto::sha256_hex(bytes)[..12].to_string();
        Look {
            slug: tenant.slug.clone(),
            name_zh: b.name_zh.clone(),
            name_en: b.name_en.clone(),
            css: b.css().map(|c| {
                let v = version(c.as_bytes());
                (c, v)
            }),
            logo: b.logo.as_ref().map(|l| {
                let bytes = l.bytes();
                let v = version(&bytes);
                (l.content_type.clone(), bytes, v)
            }),
            footer: idp_core::branding::Branding { logo: None, ..b.clone() },
        }
    }
}
