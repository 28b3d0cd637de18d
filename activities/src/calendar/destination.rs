//! Where a CalDAV calendar may point (`calendar.*` settings). An operator sets the URL through
//! the admin API, so it must not reach what only the server can reach: the URL needs `https`
//! (unless `caldav_allow_http`), and neither its host nor any address its name resolves to may
//! be loopback, private, link-local (the cloud metadata service, 169.254.169.254), unique-local
//! or otherwise not public (unless `caldav_allow_private`, which the tests set: Radicale runs
//! on 127.0.0.1).
//!
//! The URL is checked when it is set ([`CalDavPolicy::check_url`], the admin API) and again
//! whenever a calendar is opened; names are checked at connect time by the HTTP client's
//! resolver ([`CalDavPolicy::client`]), so a name that resolves differently later (DNS
//! rebinding) is still refused, and so are redirects to such places. Response bodies are read
//! up to `caldav_max_response_bytes`.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// The `calendar` settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalDavPolicy {
    /// Accept `http://` CalDAV URLs (default false: `https` only).
    pub caldav_allow_http: bool,
    /// Accept CalDAV hosts that are or resolve to loopback, private, link-local, unique-local
    /// or other non-public addresses (default false).
    pub caldav_allow_private: bool,
    /// Largest CalDAV response body read, in bytes (default 4 MiB); a larger one is an error.
    pub caldav_max_response_bytes: usize,
}

impl Default for CalDavPolicy {
    fn default() -> Self {
        Self {
            caldav_allow_http: false,
            caldav_allow_private: false,
            caldav_max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why a destination is refused; carried through reqwest's error chain so that the calendar
/// can tell it from a network failure (it is permanent).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl CalDavPolicy {
    /// Everything allowed (http, private addresses): for tests against a local server.
    pub fn permissive() -> Self {
        Self {
            caldav_allow_http: true,
            caldav_allow_private: true,
            ..Self::default()
        }
    }

    /// Checks a URL without resolving it: the scheme, and a host given as an address or as
    /// `localhost`. The reason names the rule and the setting that relaxes it.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.caldav_allow_http => {}
            "http" => {
                return Err(
                    "must use https (http is allowed only with calendar.caldav_allow_http)".into(),
                );
            }
            other => return Err(format!("must be an https URL, not {other:?}")),
        }
        if self.caldav_allow_private {
            return Ok(());
        }
        let refused = |what: &str| {
            Err(format!(
                "must not point to {what} (allowed only with calendar.caldav_allow_private)"
            ))
        };
        match url.host() {
            None => Err("must have a host".into()),
            Some(Host::Ipv4(ip)) => match non_public(IpAddr::V4(ip)) {
                Some(what) => refused(what),
                None => Ok(()),
            },
            Some(Host::Ipv6(ip)) => match non_public(IpAddr::V6(ip)) {
                Some(what) => refused(what),
                None => Ok(()),
            },
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    refused("a loopback address")
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The HTTP client CalDAV calendars use: its resolver refuses names that resolve to a
    /// non-public address, and redirects are followed only to URLs [`Self::check_url`]
    /// accepts (at most 5).
    pub fn client(&self) -> reqwest::Client {
        let policy = self.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error(Refused("more than 5 redirects".into()));
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(Refused(format!("redirect target {why}"))),
            }
        });
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .redirect(redirects);
        if !self.caldav_allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        builder.build().unwrap_or_default()
    }
}

/// A resolver that answers only public addresses, and an error when a name has no other.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| non_public(a.ip()).is_none())
                .collect();
            if public.is_empty() {
                let what = all
                    .first()
                    .and_then(|a| non_public(a.ip()))
                    .unwrap_or("no address");
                return Err(Box::new(Refused(format!(
                    "{host} resolves to {what}, which is refused (allowed only with calendar.caldav_allow_private)"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (such as the cloud metadata service)")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return non_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local address (such as the cloud metadata service)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Whether `err` (or its causes) is a destination this policy refused.
pub(crate) fn is_refusal(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(cause) = source {
        if cause.is::<Refused>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &CalDavPolicy, url: &str) -> Result<(), String> {
        policy.check_url(&Url::parse(url).expect("url"))
    }

    #[test]
    fn strict_policy_refuses_plain_http_and_non_public_hosts() {
        let strict = CalDavPolicy::default();
        assert_eq!(check(&strict, "https://dav.example.com/cal/"), Ok(()));
        assert_eq!(check(&strict, "https://93.184.216.34/cal/"), Ok(()));
        let err = check(&strict, "http://dav.example.com/cal/").unwrap_err();
        assert!(err.contains("https"), "{err}");
        for url in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://dav.localhost/",
        ] {
            let err = check(&strict, url).expect_err(url);
            assert!(err.contains("caldav_allow_private"), "{url}: {err}");
        }
        assert!(check(&strict, "ftp://dav.example.com/").is_err());
    }

    #[test]
    fn allow_flags_relax_each_rule() {
        let both = CalDavPolicy::permissive();
        assert_eq!(check(&both, "http://127.0.0.1:5232/cal/"), Ok(()));
        let http_only = CalDavPolicy {
            caldav_allow_http: true,
            ..CalDavPolicy::default()
        };
        assert_eq!(check(&http_only, "http://dav.example.com/"), Ok(()));
        assert!(check(&http_only, "http://127.0.0.1/").is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_loopback_addresses() {
        let err = PublicOnly
            .resolve("localhost".parse().expect("name"))
            .await
            .err()
            .expect("refused");
        assert!(is_refusal(&*err), "{err}");
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}
