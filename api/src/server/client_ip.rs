//! Who the client is, for rate limiting: the peer address, or — when the peer is one of
//! `http.trusted_proxies` — the right-most `X-Forwarded-For` hop that is not a trusted proxy.
//! A client can write anything into `X-Forwarded-For`; only the hops our own proxies appended
//! are believed, so an attacker cannot choose its bucket, and behind a load balancer Vapi's
//! traffic does not share one bucket with everyone else's. IPv6 clients are keyed per /64
//! (one subscriber usually holds a whole /64).

use axum::http::HeaderMap;
use serde::Deserialize;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// An address block such as `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network = IpAddr::from_str(addr)
            .map_err(|_| format!("`{text}` is not an address block (e.g. 10.0.0.0/8)"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0..={max}"))?,
        };
        let cidr = Self { network, prefix };
        if cidr.masked(network) != network {
            return Err(format!(
                "`{text}` has bits set beyond its /{prefix} prefix; write the network address"
            ));
        }
        Ok(cidr)
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl Cidr {
    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }

    /// Whether `ip` (canonical: an IPv4-mapped IPv6 address counts as IPv4) is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.masked(ip) == self.network
    }
}

fn trusted(proxies: &[Cidr], ip: IpAddr) -> bool {
    proxies.iter().any(|c| c.contains(ip))
}

/// One `X-Forwarded-For` hop: an address, optionally with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| std::net::SocketAddr::from_str(hop).ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client's address as seen through `proxies`. Without trusted proxies (the default) or
/// from an untrusted peer this is the peer address and no header is read. Walking
/// `X-Forwarded-For` from the right, the first hop outside `proxies` is the client; a hop that
/// is not an address (no trusted proxy writes one) stops the walk at the last trusted hop.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[Cidr]) -> IpAddr {
    let mut client = peer.to_canonical();
    if proxies.is_empty() || !trusted(proxies, client) {
        return client;
    }
    // Several headers are one list in order; the last header's last hop is the nearest.
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return client;
        };
        for hop in value.rsplit(',') {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !trusted(proxies, ip) {
                return ip;
            }
        }
    }
    client
}

/// The rate-limit bucket of a client: its IPv4 address, or its IPv6 /64.
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn proxies(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn blocks_parse_and_bad_ones_say_why() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.200.1.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(
            c.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped counts as IPv4"
        );
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let single: Cidr = "192.0.2.7".parse().unwrap();
        assert!(single.contains(ip("192.0.2.7")) && !single.contains(ip("192.0.2.8")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "nonsense", "10.0.0.0/x"] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let lb = proxies(&["10.0.0.0/8"]);
        let headers = xff(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("10.1.1.1"), &headers, &lb), ip("203.0.113.9"));
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &lb),
            ip("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_ip(ip("10.1.1.1"), &headers, &[]),
            ip("10.1.1.1"),
            "no trusted proxies: the peer"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let lb = proxies(&["10.0.0.0/8", "192.168.0.0/16"]);
        // The client forged the first hop; our proxies appended the rest.
        let headers = xff(&["6.6.6.6, 203.0.113.9", "192.168.1.1"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &headers, &lb), ip("203.0.113.9"));
        let ports = xff(&["[2001:db8::1]:443, 10.0.0.3:80"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &ports, &lb), ip("2001:db8::1"));
        let garbage = xff(&["203.0.113.9, not-an-ip, 10.0.0.3"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &garbage, &lb),
            ip("10.0.0.3"),
            "a hop no proxy would write stops at the last trusted hop"
        );
        let all_trusted = xff(&["10.9.9.9, 10.0.0.3"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &all_trusted, &lb), ip("10.9.9.9"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &lb),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        assert_eq!(
            bucket_key(ip("2001:db8:1:2:aaaa::1")),
            bucket_key(ip("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_ne!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(bucket_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(bucket_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
    }
}
