//! The network a request comes from, as limits count it, and the network an address
//! is shortened to when it is kept no longer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The source a limit counts for `ip`: an IPv4 address itself (IPv4-mapped IPv6
/// included), and for IPv6 its /64, which one subscriber usually holds whole —
/// counting single IPv6 addresses would let one client rotate through billions of
/// them. Anything that does not parse is counted as the text it is.
pub fn source_network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

const IPV4_PREFIX: u8 = 24;
const IPV6_PREFIX: u8 = 48;

/// The network an address belongs to, written `203.0.113.0/24` or `2001:db8:1::/48`.
/// A network is its own network, so truncating twice changes nothing; text that is no
/// address (an empty address of work the system did itself) truncates to nothing.
pub fn truncate_ip(address: &str) -> String {
    let (host, given_prefix) = match address.split_once('/') {
        Some((host, prefix)) => match prefix.parse::<u8>() {
            Ok(prefix) => (host, Some(prefix)),
            Err(_) => return String::new(),
        },
        None => (address, None),
    };
    let Ok(ip) = host.parse::<IpAddr>() else {
        return String::new();
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let prefix = given_prefix.unwrap_or(IPV4_PREFIX).min(IPV4_PREFIX);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            format!("{}/{prefix}", Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let prefix = given_prefix.unwrap_or(IPV6_PREFIX).min(IPV6_PREFIX);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            format!("{}/{prefix}", Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Whether `address` is already shortened to its network (or empty).
pub fn is_truncated(address: &str) -> bool {
    address.is_empty() || truncate_ip(address) == address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_shorten_to_their_network_once() {
        assert_eq!(truncate_ip("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(truncate_ip("203.0.113.0/24"), "203.0.113.0/24");
        assert_eq!(truncate_ip("203.0.113.77/32"), "203.0.113.0/24");
        assert_eq!(truncate_ip("10.1.0.0/16"), "10.1.0.0/16");
        assert_eq!(truncate_ip("2001:db8:1:2::5"), "2001:db8:1::/48");
        assert_eq!(truncate_ip("2001:db8:1::/48"), "2001:db8:1::/48");
        assert_eq!(truncate_ip("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(truncate_ip(""), "");
        assert_eq!(truncate_ip("unknown"), "");
        assert_eq!(truncate_ip("1.2.3.4/x"), "");
        assert!(is_truncated("203.0.113.0/24"));
        assert!(!is_truncated("203.0.113.77"));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(source_network("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            source_network("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            source_network("2001:db8:1:2::1")
        );
        assert_ne!(
            source_network("2001:db8:1:3::1"),
            source_network("2001:db8:1:2::1")
        );
        assert_eq!(source_network("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(source_network("192.0.2.7"), "192.0.2.7");
        assert_eq!(source_network("not-an-ip"), "not-an-ip");
    }
}
