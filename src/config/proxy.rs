//! `[server] trusted_proxies`: address ranges (CIDRs) and the client address they vouch
//! for. Only a trusted proxy's forwarding header is believed; the client is the right-most
//! address in it that is not itself a trusted proxy (as nginx's `real_ip_recursive`), so a
//! client cannot choose its own address by sending the header itself.
use super::ServerConfig;
use std::net::IpAddr;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("{s:?} is not an address or CIDR (for example 10.0.0.0/8, 127.0.0.1 or fd00::/8)");
        let (addr, bits) = match s.trim().split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(bad());
        }
        Ok(Cidr { net, bits })
    }
}

impl Cidr {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

impl ServerConfig {
    /// The trusted ranges; entries that do not parse are skipped (validation refuses them).
    pub fn proxies(&self) -> Vec<Cidr> {
        self.trusted_proxies.iter().filter_map(|s| s.parse().ok()).collect()
    }

    /// The client's address, given the connection's peer and the forwarding header's
    /// addresses in order (left-most first, as every proxy appends).
    pub fn client_ip(&self, peer: IpAddr, forwarded: impl IntoIterator<Item = IpAddr>) -> IpAddr {
        let proxies = self.proxies();
        let trusted = |ip: IpAddr| proxies.iter().any(|c| c.contains(ip));
        let peer = canonical(peer);
        if !trusted(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded.into_iter().map(canonical).collect();
        // Right to left: every hop a trusted proxy added is believed; the first address
        // that no trusted proxy vouches for is the client. A chain of only proxies means
        // the left-most is the client.
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !trusted(hop) {
                break;
            }
        }
        client
    }
}

/// The addresses in `X-Forwarded-For` header values, in order. Only the part right of the
/// last entry that is not an address counts: what lies left of it cannot be told apart
/// from what the client wrote.
pub fn parse_x_forwarded_for<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<IpAddr> {
    parsable_suffix(values.into_iter().flat_map(|v| v.split(',')).map(|a| parse_node(a.trim())).collect())
}

/// The `for=` addresses in `Forwarded` (RFC 7239) header values, in order, right of the last
/// element without one that is an address (`for=unknown`, an obfuscated name, none).
pub fn parse_forwarded<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<IpAddr> {
    let nodes = values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim().trim_matches('"'))
            })?;
            parse_node(node)
        })
        .collect();
    parsable_suffix(nodes)
}

fn parsable_suffix(nodes: Vec<Option<IpAddr>>) -> Vec<IpAddr> {
    let start = nodes.iter().rposition(Option::is_none).map_or(0, |i| i + 1);
    nodes[start..].iter().flatten().copied().collect()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:5678`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse().ok());
    }
    s.rsplit_once(':')
        .and_then(|(a, port)| port.parse::<u16>().ok().and(a.parse::<std::net::Ipv4Addr>().ok()))
        .map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn server(trusted: &[&str]) -> ServerConfig {
        ServerConfig { trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn ranges_match_by_prefix() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.255.1.2")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let odd: Cidr = "192.168.4.0/22".parse().unwrap();
        assert!(odd.contains(ip("192.168.7.255")) && !odd.contains(ip("192.168.8.0")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0/8", "::/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_the_right_most_untrusted_hop_is_the_client() {
        let s = server(&["10.0.0.0/8", "127.0.0.1"]);
        // An untrusted peer's header is ignored.
        assert_eq!(s.client_ip(ip("203.0.113.9"), [ip("1.1.1.1")]), ip("203.0.113.9"));
        assert_eq!(server(&[]).client_ip(ip("127.0.0.1"), [ip("1.1.1.1")]), ip("127.0.0.1"));
        // Behind one proxy: the address it appended.
        assert_eq!(s.client_ip(ip("127.0.0.1"), [ip("198.51.100.7")]), ip("198.51.100.7"));
        // A client that sends its own header cannot pick its address: the proxy's
        // appended hop is to the right of what the client wrote.
        assert_eq!(s.client_ip(ip("127.0.0.1"), [ip("6.6.6.6"), ip("198.51.100.7")]), ip("198.51.100.7"));
        // Through two trusted proxies.
        assert_eq!(s.client_ip(ip("10.0.0.2"), [ip("198.51.100.7"), ip("10.0.0.1")]), ip("198.51.100.7"));
        // A trusted peer that sent no header is the client.
        assert_eq!(s.client_ip(ip("127.0.0.1"), []), ip("127.0.0.1"));
    }

    #[test]
    fn headers_parse_into_addresses_or_not_at_all() {
        assert_eq!(
            parse_x_forwarded_for(["1.2.3.4, 2001:db8::1", "5.6.7.8:80"]),
            vec![ip("1.2.3.4"), ip("2001:db8::1"), ip("5.6.7.8")]
        );
        // Garbage from the client stops the walk; what the proxy appended after it counts.
        assert_eq!(parse_x_forwarded_for(["1.2.3.4, evil, 5.6.7.8"]), vec![ip("5.6.7.8")]);
        assert_eq!(parse_x_forwarded_for(["1.2.3.4, evil"]), Vec::<IpAddr>::new());
        assert_eq!(
            parse_forwarded([r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#]),
            vec![ip("192.0.2.60"), ip("2001:db8:cafe::17")]
        );
        assert_eq!(parse_forwarded(["for=unknown"]), Vec::<IpAddr>::new());
        assert_eq!(parse_forwarded(["proto=https, for=1.2.3.4"]), vec![ip("1.2.3.4")]);
    }
}
