//! The client's address: the TCP peer, or — only when the peer is one of our
//! own proxies (`CASEWORK_TRUSTED_PROXIES`) — the address those proxies
//! reported in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is a list each proxy appends its peer to, so only its
//! right end is trustworthy: walking it from the right, every address that is
//! itself a trusted proxy is skipped and the first one that is not is the
//! client. Anything further left was written by the client and is ignored.
//! With no trusted proxies (the default) the header is never believed.
//!
//! ```
//! # use casework::http::client_addr::TrustedProxies;
//! let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
//! let peer = "10.1.2.3:4711".parse().unwrap();
//! let mut headers = axum::http::HeaderMap::new();
//! headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.9.9.9".parse().unwrap());
//! assert_eq!(proxies.client_addr(peer, &headers).to_string(), "203.0.113.9");
//! ```

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks
    /// (`10.0.0.0/8, 192.168.1.7, fd00::/8`); empty means none.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("{item:?} is neither an IP address nor a CIDR network")),
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of our proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client_addr(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
            .into_iter()
            .map(parse_hop)
            .collect::<Option<Vec<_>>>()
            // A malformed list is not believed at all: the proxy is the client.
            .unwrap_or_default();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn the_header_is_ignored_without_trusted_proxies() {
        let none = TrustedProxies::default();
        let peer: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        assert_eq!(none.client_addr(peer, &headers("1.1.1.1")).to_string(), "198.51.100.1");
    }

    #[test]
    fn the_header_is_ignored_from_an_untrusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        assert_eq!(proxies.client_addr(peer, &headers("1.1.1.1")).to_string(), "198.51.100.1");
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,127.0.0.1").unwrap();
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(proxies.client_addr(peer, &headers("9.9.9.9, 203.0.113.5, 10.0.0.2")).to_string(), "203.0.113.5");
        // Only proxies in the list: the leftmost is the best we know.
        assert_eq!(proxies.client_addr(peer, &headers("10.0.0.3, 10.0.0.2")).to_string(), "10.0.0.3");
        // No header: the proxy itself.
        assert_eq!(proxies.client_addr(peer, &HeaderMap::new()).to_string(), "127.0.0.1");
        // Garbage is not believed.
        assert_eq!(proxies.client_addr(peer, &headers("evil, 1.2.3.4")).to_string(), "127.0.0.1");
        // Ports and mapped addresses.
        assert_eq!(proxies.client_addr(peer, &headers("[2001:db8::1]:443")).to_string(), "2001:db8::1");
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:80".parse().unwrap();
        assert_eq!(proxies.client_addr(mapped, &headers("203.0.113.7")).to_string(), "203.0.113.7");
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
