//! Every request the server makes to an address it did not choose itself — back-channel logout
//! URIs (registered by administrators), the SMS and email gateways, the identity verification
//! gateway — goes through a client built here (docs/design.md "Outbound requests"):
//!
//! - an operator's allow-list of host names (`[outbound] allow_hosts`: exact names or
//!   `*.example.gov.cn` for the subdomains; empty allows any name);
//! - every address a name resolves to is checked when the connection is made (the resolver
//!   below hands the connector only allowed addresses, so a name that rebinds to an internal
//!   address between the check and the connection gets nowhere): loopback, link-local,
//!   private, shared (CGNAT), multicast, reserved and unspecified addresses are refused unless
//!   their network is listed in `allow_networks` (a department application on a private
//!   network is allowed by listing its network). Addresses written in the URL are checked the
//!   same way before sending;
//! - no proxy from the environment (it would resolve names where we cannot check them), no
//!   redirects (a redirect could point anywhere), a timeout.
//!
//! Refusals and failures are logged here with their reason; what administrators see of them
//! is generic ([`Refused`] says only that the destination is not allowed), so that a logout
//! URI cannot be used to scan the internal network. The OTLP trace exporter (the operator's
//! own collector) and `idp healthcheck` (the node itself) are not outbound in this sense.

pub mod anchor;
pub mod connector;
pub mod ldap;
pub mod licence;
pub mod logout;
pub mod netid;
pub mod pinning;
pub mod sms;
pub mod upstream;
pub mod verifier;
pub mod webhook;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[outbound]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Host names outbound requests may go to: `host.example` or `*.example` (its
    /// subdomains). Empty: any name (the address checks still apply).
    pub allow_hosts: Vec<String>,
    /// Networks (CIDR, e.g. `10.20.0.0/16`) that may be reached although they are loopback,
    /// link-local or private.
    pub allow_networks: Vec<String>,
    /// Certificate authorities (a PEM file) trusted for outbound HTTPS besides the public
    /// ones: the province's own PKI behind department systems.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The destination is not one the operator allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the destination is not allowed ([outbound] allow_hosts / allow_networks)")
    }
}

impl std::error::Error for Refused {}

/// The operator's rules, ready to check.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    hosts: Vec<String>,
    networks: Vec<ipnet::IpNet>,
    roots: Vec<reqwest::Certificate>,
}

impl Policy {
    pub fn new(c: &OutboundConfig) -> anyhow::Result<Self> {
        let mut hosts = vec![];
        for h in &c.allow_hosts {
            let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
            let name = h.strip_prefix("*.").unwrap_or(&h);
            if name.is_empty() || name.contains(['/', ':', '*', ' ']) {
                anyhow::bail!("outbound.allow_hosts: {h:?} is not a host name or *.domain");
            }
            hosts.push(h);
        }
        let networks = c
            .allow_networks
            .iter()
            .map(|n| {
                n.trim()
                    .parse::<ipnet::IpNet>()
                    .map_err(|_| anyhow::anyhow!("outbound.allow_networks: {n:?} is not a CIDR network"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut roots = vec![];
        if let Some(path) = &c.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("outbound.ca_file: cannot read {}: {}", path.display(), e.kind())
            })?;
            roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow::anyhow!("outbound.ca_file: {} is not usable: {e}", path.display()))?;
            anyhow::ensure!(!roots.is_empty(), "outbound.ca_file: {} holds no certificate", path.display());
        }
        Ok(Self { hosts, networks, roots })
    }

    /// Whether requests may go to the host `name` (before resolving it).
    pub fn host_allowed(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.is_empty()
            || self.hosts.iter().any(|h| match h.strip_prefix("*.") {
                Some(domain) => name.len() > domain.len() && name.ends_with(&format!(".{domain}")),
                None => *h == name,
            })
    }

    /// Whether a connection may be made to `ip`.
    pub fn addr_allowed(&self, ip: IpAddr) -> bool {
        !special(ip) || self.networks.iter().any(|n| n.contains(&ip))
    }

    /// Checks a URL before a request: http(s), an allowed host, and an allowed address when
    /// the URL names one. Names are checked again, resolved, at connect time.
    pub fn check_url(&self, url: &str) -> Result<(), Refused> {
        let u = url::Url::parse(url).map_err(|_| Refused)?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(Refused);
        }
        match u.host() {
            Some(url::Host::Ipv4(ip)) if self.addr_allowed(IpAddr::V4(ip)) && self.hosts.is_empty() => Ok(()),
            Some(url::Host::Ipv6(ip)) if self.addr_allowed(IpAddr::V6(ip)) && self.hosts.is_empty() => Ok(()),
            // an address in the URL passes a host list only through its networks
            Some(url::Host::Ipv4(ip)) if self.networks.iter().any(|n| n.contains(&IpAddr::V4(ip))) => Ok(()),
            Some(url::Host::Ipv6(ip)) if self.networks.iter().any(|n| n.contains(&IpAddr::V6(ip))) => Ok(()),
            Some(url::Host::Domain(d)) if self.host_allowed(d) => Ok(()),
            _ => Err(Refused),
        }
    }

    /// A client whose every connection obeys this policy.
    pub fn client(&self, timeout: Duration) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Resolver { policy: self.clone() }))
            .tls_certs_merge(self.roots.clone())
    }
}

/// The body of `res`, refused beyond `max` bytes without reading further.
pub async fn read_at_most(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if res.content_length().is_some_and(|n| n as usize > max) {
        return Err(format!("larger than {max} bytes"));
    }
    let mut body = vec![];
    while let Some(chunk) = res.chunk().await.map_err(|e| e.without_url().to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Addresses never reached unless their network is allowed.
pub fn special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let o = v6.octets();
            // forms that carry an IPv4 address: NAT64 (64:ff9b::/96, and the local-use
            // 64:ff9b:1::/48, RFC 8215) in the last 32 bits, 6to4 (2002::/16) in bits 16-48
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || seg[..3] == [0x64, 0xff9b, 1] {
                return special(IpAddr::V4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15])));
            }
            if seg[0] == 0x2002 {
                return special(IpAddr::V4(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5])));
            }
            v6.is_loopback()
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo: tunnels to anywhere
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside)
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || seg[0] == 0 // IPv4-compatible and other reserved
        }
    }
}

/// Resolves names for the outbound clients: the host list first, then only allowed addresses.
struct Resolver {
    policy: Policy,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            if !policy.host_allowed(&host) {
                tracing::warn!(host = %host, "outbound request refused: the host is not allowed");
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.iter().copied().filter(|a| policy.addr_allowed(a.ip())).collect();
            if allowed.is_empty() {
                tracing::warn!(host = %host, "outbound request refused: the host resolves only to addresses that are not allowed");
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether a reqwest error came from this policy's refusal.
pub fn is_refusal(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<Refused>().is_some() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str], nets: &[&str]) -> Policy {
        Policy::new(&OutboundConfig {
            allow_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allow_networks: nets.iter().map(|s| s.to_string()).collect(),
            ca_file: None,
        })
        .unwrap()
    }

    #[test]
    fn special_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:5",
            "2002:a00:5::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "::127.0.0.1",
        ] {
            assert!(special(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "203.119.0.1", "2400:3200::1", "::ffff:8.8.8.8"] {
            assert!(!special(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn hosts_networks_and_urls() {
        let open = policy(&[], &[]);
        assert!(open.check_url("https://app.example.gov.cn/bcl").is_ok());
        for bad in [
            "http://127.0.0.1:8080/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/",
            "http://0x7f000001/",
            "http://2130706433/",
            "ftp://app.example/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert_eq!(open.check_url(bad), Err(Refused), "{bad}");
        }
        let listed = policy(&["*.gov.cn", "sms.example.com"], &["10.20.0.0/16"]);
        assert!(listed.check_url("https://rs.jl.gov.cn/bcl").is_ok());
        assert!(listed.check_url("https://SMS.example.com./send").is_ok());
        assert!(listed.check_url("https://gov.cn/").is_err(), "the bare domain is not a subdomain");
        assert!(listed.check_url("https://evilgov.cn/").is_err());
        assert!(listed.check_url("https://example.com/").is_err());
        assert!(listed.check_url("http://10.20.3.4:8443/bcl").is_ok(), "a listed private network");
        assert!(listed.check_url("http://10.21.0.1/").is_err());
        assert!(listed.check_url("http://8.8.8.8/").is_err(), "a host list admits addresses only by network");
        assert!(listed.addr_allowed("10.20.9.9".parse().unwrap()));
        assert!(!listed.addr_allowed("127.0.0.1".parse().unwrap()));
        assert!(listed.addr_allowed("8.8.8.8".parse().unwrap()));
        assert!(
            Policy::new(&OutboundConfig { allow_networks: vec!["10.0.0.0/33".into()], ..Default::default() })
                .is_err()
        );
        assert!(
            Policy::new(&OutboundConfig { allow_hosts: vec!["http://x".into()], ..Default::default() })
                .is_err()
        );
    }

    /// The resolver refuses a name that resolves to a refused address, at connect time.
    #[tokio::test]
    async fn connections_to_refused_addresses_never_start() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = policy(&[], &[]).client(Duration::from_secs(2)).build().unwrap();
        let e = open.get(format!("http://localhost:{port}/")).send().await.unwrap_err();
        assert!(is_refusal(&e), "{e:?}");
        let allowed =
            policy(&[], &["127.0.0.0/8", "::1/128"]).client(Duration::from_secs(2)).build().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.is_ok() });
        let _ = allowed.get(format!("http://localhost:{port}/")).send().await;
        assert!(accept.await.unwrap(), "a listed network is reached");
    }
}
