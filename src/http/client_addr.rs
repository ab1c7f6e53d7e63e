//! The client's address: the socket peer, or — only when the peer is one of
//! `CASEWORK_TRUSTED_PROXIES` — the nearest untrusted address of
//! `X-Forwarded-For`. A client that is not behind a trusted proxy cannot
//! choose its address by sending the header itself. Used by the sign-in
//! limiter and the audit trail (and for any per-address limit of the edge).

use std::{net::IpAddr, str::FromStr};

use axum::http::HeaderMap;

/// Addresses or CIDR blocks (`10.0.0.0/8`, `::1`) of the proxies whose
/// `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, IPv6 likewise; empty entries are skipped.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut blocks = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (addr, bits) = match entry.split_once('/') {
                Some((addr, bits)) => (addr, Some(bits)),
                None => (entry, None),
            };
            let addr = IpAddr::from_str(addr).map_err(|_| format!("{entry:?} is not an address or CIDR block"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("{entry:?}: bad prefix length"))?,
                None => max,
            };
            blocks.push((addr, bits));
        }
        Ok(TrustedProxies(blocks))
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|(block, bits)| match (canonical(*block), addr) {
            (IpAddr::V4(block), IpAddr::V4(addr)) => prefix_eq(&block.octets(), &addr.octets(), *bits),
            (IpAddr::V6(block), IpAddr::V6(addr)) => prefix_eq(&block.octets(), &addr.octets(), *bits),
            _ => false,
        })
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (bytes, rest) = ((bits / 8) as usize, bits % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    rest == 0 || (a[bytes] ^ b[bytes]) >> (8 - rest) == 0
}

/// The client of a request that reached us from `peer`.
pub fn client_addr(headers: &HeaderMap, peer: IpAddr, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    // Right to left: each trusted hop vouches for the one before it.
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|hop| IpAddr::from_str(hop).ok().map(canonical))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !trusted.contains(hop) {
            break;
        }
    }
    client
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
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_addr(&headers("198.51.100.7"), proxy, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_addr(&headers("198.51.100.7"), stranger, &trusted), stranger);
        // A client's own forged entry sits left of the address the proxy saw.
        assert_eq!(client_addr(&headers("1.2.3.4, 198.51.100.7, 10.9.9.9"), proxy, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_addr(&headers("garbage"), proxy, &trusted), proxy);
        assert!(trusted.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!trusted.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }
}
