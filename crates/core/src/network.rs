//! The network a request comes from, as limits count it.

use std::net::IpAddr;

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

#[cfg(test)]
mod tests {
    use super::*;

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
