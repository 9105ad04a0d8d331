//! The guard on addresses monitors may connect to. By default a monitor may not
//! reach loopback, private, link-local, unique-local, carrier-grade NAT or
//! cloud metadata addresses, so a team member cannot use Rebound to probe
//! the network it runs in. Self-hosters who watch internal services turn
//! the guard off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Returns why an address is off limits, or `None` when monitors may reach it.
pub fn forbidden_reason(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = address.octets();
    if address.is_loopback() {
        Some("loopback")
    } else if address.is_private() {
        Some("private")
    } else if address.is_link_local() {
        // 169.254.0.0/16 includes 169.254.169.254, the metadata service of
        // AWS, GCP, Azure and others.
        Some("link-local or cloud metadata")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT (100.64.0.0/10)")
    } else if address.is_unspecified() || a == 0 {
        Some("unspecified (0.0.0.0/8)")
    } else if address.is_broadcast() || address.is_multicast() {
        Some("broadcast or multicast")
    } else if a >= 240 {
        Some("reserved (240.0.0.0/4)")
    } else {
        None
    }
}

fn forbidden_v6(address: Ipv6Addr) -> Option<&'static str> {
    let first = address.segments()[0];
    if address.is_loopback() {
        Some("loopback")
    } else if address.is_unspecified() {
        Some("unspecified")
    } else if (first & 0xfe00) == 0xfc00 {
        // fc00::/7, which includes AWS's IPv6 metadata address fd00:ec2::254.
        Some("unique-local or cloud metadata")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if address.is_multicast() {
        Some("multicast")
    } else if let Some(v4) = address.to_ipv4() {
        // The deprecated IPv4-compatible form (::a.b.c.d).
        forbidden_v4(v4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ranges() {
        let cases = [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local or cloud metadata"),
            ("100.64.0.1", "carrier-grade NAT (100.64.0.0/10)"),
            ("0.0.0.0", "unspecified (0.0.0.0/8)"),
            ("255.255.255.255", "broadcast or multicast"),
            ("224.0.0.1", "broadcast or multicast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "unique-local or cloud metadata"),
            ("fc00::1", "unique-local or cloud metadata"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local or cloud metadata"),
            ("ff02::1", "multicast"),
        ];
        for (address, reason) in cases {
            let parsed: IpAddr = address.parse().unwrap();
            assert_eq!(forbidden_reason(parsed), Some(reason), "{address}");
        }
    }

    #[test]
    fn public_addresses_allowed() {
        for address in
            ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1"]
        {
            let parsed: IpAddr = address.parse().unwrap();
            assert_eq!(forbidden_reason(parsed), None, "{address}");
        }
    }
}
