//! IP addresses and CIDR ranges, as both backends compare them.
//!
//! Every address is held as 128 bits: an IPv6 address as itself, an IPv4
//! address as its IPv4-mapped IPv6 form (`10.1.2.3` is `::ffff:10.1.2.3`),
//! so that one comparison serves both families. The two forms of an IPv4
//! address are therefore the same address, and an IPv4 range `a.b.c.d/n`
//! is the IPv6 range `::ffff:a.b.c.d/(96 + n)`: it contains the mapped form
//! too. Other embeddings (IPv4-compatible `::a.b.c.d`, 6to4, NAT64) are
//! distinct IPv6 addresses, as `std::net` reads them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serialised as its text (`"10.0.0.0/8"`), read back with its `parse`:
/// a bundle holds what the source wrote, checked again when loaded.
macro_rules! as_text {
    ($t:ident) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let text = String::deserialize(d)?;
                $t::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An address as 128 bits (IPv4 mapped into IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ip(
    /// The address's bits, the first in the most significant place.
    pub u128,
);

impl Ip {
    /// Parse an IPv4 or IPv6 address (`10.1.2.3`, `2001:db8::1`).
    /// No spaces around it, no zone (`%eth0`), no prefix (`/8`).
    pub fn parse(text: &str) -> Result<Ip, String> {
        text.parse::<IpAddr>()
            .map(Ip::from)
            .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address"))
    }

    /// The high and low 64 bits, as a context slot holds them.
    pub fn words(self) -> (u64, u64) {
        ((self.0 >> 64) as u64, self.0 as u64)
    }

    /// The address whose high and low 64 bits these are.
    pub fn from_words(high: u64, low: u64) -> Ip {
        Ip((u128::from(high) << 64) | u128::from(low))
    }

    /// The IPv4 address this is the mapped form of, if it is one.
    fn v4(self) -> Option<Ipv4Addr> {
        Ipv6Addr::from(self.0).to_ipv4_mapped()
    }
}

impl From<IpAddr> for Ip {
    fn from(a: IpAddr) -> Ip {
        match a {
            IpAddr::V4(v4) => Ip(u128::from(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => Ip(u128::from(v6)),
        }
    }
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.v4() {
            Some(v4) => write!(f, "{v4}"),
            None => write!(f, "{}", Ipv6Addr::from(self.0)),
        }
    }
}

as_text!(Ip);

/// A CIDR range: the addresses whose first `prefix` bits (of 128) are
/// those of `net`. The bits after the prefix are zero in `net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The first address of the range.
    pub net: Ip,
    /// 0 to 128, counted on the 128-bit form (an IPv4 `/8` is 104).
    pub prefix: u8,
}

impl Cidr {
    /// Parse `10.0.0.0/8`, `2001:db8::/32`, or a single address (a range of
    /// one). Bits set after the prefix (`10.1.0.0/8`) are refused: such a
    /// range is usually a typo for a narrower one.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let Some((addr, len)) = text.split_once('/') else {
            let ip = Ip::parse(text)?;
            return Ok(Cidr {
                net: ip,
                prefix: 128,
            });
        };
        let a: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` in `{text}` is not an IPv4 or IPv6 address"))?;
        let max: u8 = if a.is_ipv4() { 32 } else { 128 };
        let len: u8 = Some(len)
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|l| l.parse().ok())
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                format!("`/{len}` in `{text}` is not a prefix length from 0 to {max}")
            })?;
        let prefix = if a.is_ipv4() { 96 + len } else { len };
        let net = Ip::from(a);
        let cidr = Cidr { net, prefix };
        if net.0 & !cidr.mask() != 0 {
            return Err(format!(
                "`{text}` has bits set after its /{len} prefix: the range is `{}`",
                Cidr {
                    net: Ip(net.0 & cidr.mask()),
                    prefix
                }
            ));
        }
        Ok(cidr)
    }

    /// The prefix's bits, set.
    pub fn mask(self) -> u128 {
        match self.prefix {
            0 => 0,
            p if p >= 128 => u128::MAX,
            p => u128::MAX << (128 - u32::from(p)),
        }
    }

    /// Whether `ip`'s first `prefix` bits are the range's.
    pub fn contains(self, ip: Ip) -> bool {
        ip.0 & self.mask() == self.net.0 & self.mask()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.net.v4() {
            Some(v4) if self.prefix >= 96 => write!(f, "{v4}/{}", self.prefix - 96),
            _ => write!(f, "{}/{}", Ipv6Addr::from(self.net.0), self.prefix),
        }
    }
}

as_text!(Cidr);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(t: &str) -> Ip {
        Ip::parse(t).expect("an address")
    }

    fn cidr(t: &str) -> Cidr {
        Cidr::parse(t).expect("a range")
    }

    #[test]
    fn ipv4_and_its_mapped_form_are_one_address() {
        assert_eq!(ip("10.1.2.3"), ip("::ffff:10.1.2.3"));
        assert_ne!(ip("10.1.2.3"), ip("::10.1.2.3"));
        assert_eq!(ip("::ffff:10.1.2.3").to_string(), "10.1.2.3");
        assert_eq!(ip("2001:DB8::1").to_string(), "2001:db8::1");
        assert!(Ip::parse("10.1.2").is_err());
        assert!(Ip::parse("10.1.2.3/8").is_err());
    }

    #[test]
    fn ranges_contain_both_forms_of_ipv4_and_only_their_prefix() {
        let ten = cidr("10.0.0.0/8");
        assert_eq!(ten.prefix, 104);
        assert!(ten.contains(ip("10.255.0.1")));
        assert!(ten.contains(ip("::ffff:10.0.0.1")));
        assert!(!ten.contains(ip("11.0.0.0")));
        assert!(!ten.contains(ip("::10.0.0.1")));
        let doc = cidr("2001:db8::/32");
        assert!(doc.contains(ip("2001:db8:ffff::1")));
        assert!(!doc.contains(ip("2001:db9::")));
        assert!(cidr("0.0.0.0/0").contains(ip("1.2.3.4")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(cidr("::/0").contains(ip("2001:db8::1")));
        assert!(cidr("::/0").contains(ip("1.2.3.4")));
        assert_eq!(cidr("1.2.3.4"), cidr("1.2.3.4/32"));
        assert!(cidr("1.2.3.4").contains(ip("1.2.3.4")));
        assert!(!cidr("1.2.3.4").contains(ip("1.2.3.5")));
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert!(Cidr::parse("10.1.0.0/8")
            .unwrap_err()
            .contains("the range is `10.0.0.0/8`"));
        assert!(Cidr::parse("10.0.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(Cidr::parse("2001:db8::/129")
            .unwrap_err()
            .contains("0 to 128"));
        assert!(Cidr::parse("nope/8").is_err());
        assert!(Cidr::parse("10.0.0.0/x").is_err());
        assert!(Cidr::parse("10.0.0.0/+8").is_err());
        assert!(Cidr::parse("10.0.0.0/").is_err());
        assert!(Cidr::parse(" 10.0.0.0/8").is_err());
        assert!(Ip::parse("10.0.0.1 ").is_err());
        assert!(Ip::parse("fe80::1%eth0").is_err());
    }

    #[test]
    fn text_round_trips() {
        for t in [
            "10.0.0.0/8",
            "2001:db8::/32",
            "::/0",
            "1.2.3.4/32",
            "::ffff:0.0.0.0/96",
        ] {
            let c = cidr(t);
            assert_eq!(Cidr::parse(&c.to_string()), Ok(c), "{t}");
        }
        let json = serde_json::to_string(&cidr("::ffff:10.0.0.0/104")).expect("JSON");
        assert_eq!(json, "\"10.0.0.0/8\"");
        assert_eq!(
            serde_json::from_str::<Cidr>(&json).ok(),
            Some(cidr("10.0.0.0/8"))
        );
        assert!(serde_json::from_str::<Cidr>("\"10.1.0.0/8\"").is_err());
        assert_eq!(
            serde_json::from_str::<Ip>("\"::ffff:1.2.3.4\"").ok(),
            Some(ip("1.2.3.4"))
        );
        let (h, l) = ip("2001:db8::1").words();
        assert_eq!(Ip::from_words(h, l), ip("2001:db8::1"));
    }
}
