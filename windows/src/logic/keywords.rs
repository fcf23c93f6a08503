//! Registry keywords: the standardized NDIS keywords cloudnic.inf offers,
//! their defaults and bounds, and the parser that turns whatever the
//! registry holds into a value.
//!
//! Policy (issue 7): a bad value never fails the load. It is replaced by the
//! default and reported once as an event-log style [`Issue`] (the shim logs
//! it and writes `NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION` to the event
//! log). The INF lint test (tests/inf.rs) checks that every keyword's
//! default, type, enum values and int range in cloudnic.inf equal this table.

/// How a keyword's value is constrained (the INF `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeywordKind {
    /// `type = enum`: one of these values.
    Enum(&'static [u32]),
    /// `type = int`: `min..=max`.
    Int {
        /// Smallest accepted.
        min: u32,
        /// Largest accepted.
        max: u32,
    },
}

/// One keyword: its registry name, constraint and default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeywordSpec {
    /// Registry value name (standardized keywords start with `*`).
    pub name: &'static str,
    /// Type and bounds.
    pub kind: KeywordKind,
    /// Value used when the registry has none or a bad one.
    pub default: u32,
}

/// Offload enum of the standardized checksum keywords: 0 disabled, 1 TX,
/// 2 RX, 3 RX and TX (NDIS "Standardized INF keywords for TCP/IP offload").
const CSUM_VALUES: &[u32] = &[0, 1, 2, 3];
/// Ring sizes offered: powers of two (rings are indexed by masking).
const RING_VALUES: &[u32] = &[256, 512, 1024, 2048, 4096, 8192];
const ON_OFF: &[u32] = &[0, 1];

/// Index of each keyword in [`KEYWORDS`].
pub mod k {
    /// `*RSS`.
    pub const RSS: usize = 0;
    /// `*NumRssQueues`.
    pub const NUM_RSS_QUEUES: usize = 1;
    /// `*MaxRssProcessors`.
    pub const MAX_RSS_PROCESSORS: usize = 2;
    /// `*JumboPacket`.
    pub const JUMBO_PACKET: usize = 3;
    /// `*ReceiveBuffers`.
    pub const RECEIVE_BUFFERS: usize = 4;
    /// `*TransmitBuffers`.
    pub const TRANSMIT_BUFFERS: usize = 5;
    /// `*IPChecksumOffloadIPv4`.
    pub const IP_CSUM_V4: usize = 6;
    /// `*TCPChecksumOffloadIPv4`.
    pub const TCP_CSUM_V4: usize = 7;
    /// `*TCPChecksumOffloadIPv6`.
    pub const TCP_CSUM_V6: usize = 8;
    /// `*UDPChecksumOffloadIPv4`.
    pub const UDP_CSUM_V4: usize = 9;
    /// `*UDPChecksumOffloadIPv6`.
    pub const UDP_CSUM_V6: usize = 10;
    /// `*LsoV2IPv4`.
    pub const LSO_V2_V4: usize = 11;
    /// `*LsoV2IPv6`.
    pub const LSO_V2_V6: usize = 12;
    /// `*InterruptModeration`.
    pub const INTERRUPT_MODERATION: usize = 13;
}

/// Ethernet header bytes `*JumboPacket` counts on top of the MTU.
pub const ETH_HEADER_LEN: u32 = 14;
/// Default `*JumboPacket`: a 1500-byte MTU.
pub const JUMBO_DEFAULT: u32 = 1514;
/// Largest `*JumboPacket` offered (a 9202-byte MTU; the device's
/// `max_mtu` may lower it at initialization).
pub const JUMBO_MAX: u32 = 9216;

/// Every keyword cloudnic reads, in [`k`] order.
pub const KEYWORDS: [KeywordSpec; 14] = [
    KeywordSpec {
        name: "*RSS",
        kind: KeywordKind::Enum(ON_OFF),
        default: 1,
    },
    KeywordSpec {
        name: "*NumRssQueues",
        kind: KeywordKind::Int { min: 1, max: 64 },
        default: 8,
    },
    KeywordSpec {
        name: "*MaxRssProcessors",
        kind: KeywordKind::Int { min: 1, max: 64 },
        default: 8,
    },
    KeywordSpec {
        name: "*JumboPacket",
        kind: KeywordKind::Int {
            min: JUMBO_DEFAULT,
            max: JUMBO_MAX,
        },
        default: JUMBO_DEFAULT,
    },
    KeywordSpec {
        name: "*ReceiveBuffers",
        kind: KeywordKind::Enum(RING_VALUES),
        default: 1024,
    },
    KeywordSpec {
        name: "*TransmitBuffers",
        kind: KeywordKind::Enum(RING_VALUES),
        default: 1024,
    },
    KeywordSpec {
        name: "*IPChecksumOffloadIPv4",
        kind: KeywordKind::Enum(CSUM_VALUES),
        default: 3,
    },
    KeywordSpec {
        name: "*TCPChecksumOffloadIPv4",
        kind: KeywordKind::Enum(CSUM_VALUES),
        default: 3,
    },
    KeywordSpec {
        name: "*TCPChecksumOffloadIPv6",
        kind: KeywordKind::Enum(CSUM_VALUES),
        default: 3,
    },
    KeywordSpec {
        name: "*UDPChecksumOffloadIPv4",
        kind: KeywordKind::Enum(CSUM_VALUES),
        default: 3,
    },
    KeywordSpec {
        name: "*UDPChecksumOffloadIPv6",
        kind: KeywordKind::Enum(CSUM_VALUES),
        default: 3,
    },
    KeywordSpec {
        name: "*LsoV2IPv4",
        kind: KeywordKind::Enum(ON_OFF),
        default: 1,
    },
    KeywordSpec {
        name: "*LsoV2IPv6",
        kind: KeywordKind::Enum(ON_OFF),
        default: 1,
    },
    KeywordSpec {
        name: "*InterruptModeration",
        kind: KeywordKind::Enum(ON_OFF),
        default: 1,
    },
];

/// What the registry returned for a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawValue<'a> {
    /// No such value.
    Missing,
    /// A REG_DWORD (or NDIS's integer conversion).
    Int(u32),
    /// A REG_SZ as UTF-16 code units (INF enum values are strings).
    Utf16(&'a [u16]),
}

/// Why a registry value was replaced by the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issue {
    /// The string is not a decimal (or 0x-hex) number.
    NotANumber,
    /// An int keyword outside `min..=max`.
    OutOfRange(u32),
    /// An enum keyword with a value not in the list.
    NotInEnum(u32),
}

/// Parse a UTF-16 number: decimal, or hex with a `0x` prefix; surrounding
/// spaces allowed. `None` on anything else or on overflow.
pub fn parse_number(s: &[u16]) -> Option<u32> {
    let trimmed = trim_spaces(s);
    let (digits, radix) = match trimmed {
        [z, x, rest @ ..]
            if *z == u16::from(b'0') && (*x == u16::from(b'x') || *x == u16::from(b'X')) =>
        {
            (rest, 16)
        }
        _ => (trimmed, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in digits {
        let d = char::from_u32(u32::from(c))?.to_digit(radix)?;
        v = v.checked_mul(radix)?.checked_add(d)?;
    }
    Some(v)
}

fn trim_spaces(mut s: &[u16]) -> &[u16] {
    let sp = u16::from(b' ');
    while let [first, rest @ ..] = s {
        if *first != sp {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if *last != sp {
            break;
        }
        s = rest;
    }
    s
}

/// Check `v` against `spec`'s bounds.
pub fn check(spec: &KeywordSpec, v: u32) -> Result<u32, Issue> {
    match spec.kind {
        KeywordKind::Enum(values) if values.contains(&v) => Ok(v),
        KeywordKind::Enum(_) => Err(Issue::NotInEnum(v)),
        KeywordKind::Int { min, max } if (min..=max).contains(&v) => Ok(v),
        KeywordKind::Int { .. } => Err(Issue::OutOfRange(v)),
    }
}

/// The value to use for `spec` given `raw`, and the issue if the registry
/// value was refused. A missing value is not an issue.
pub fn parse(spec: &KeywordSpec, raw: RawValue<'_>) -> (u32, Option<Issue>) {
    let v = match raw {
        RawValue::Missing => return (spec.default, None),
        RawValue::Int(v) => v,
        RawValue::Utf16(s) => match parse_number(s) {
            Some(v) => v,
            None => return (spec.default, Some(Issue::NotANumber)),
        },
    };
    match check(spec, v) {
        Ok(v) => (v, None),
        Err(issue) => (spec.default, Some(issue)),
    }
}

/// Checksum offload setting of one keyword.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsumSetting {
    /// Offload on transmit.
    pub tx: bool,
    /// Offload on receive.
    pub rx: bool,
}

impl CsumSetting {
    /// From the keyword value (0 off, 1 TX, 2 RX, 3 both).
    pub const fn from_keyword(v: u32) -> Self {
        CsumSetting {
            tx: v & 1 != 0,
            rx: v & 2 != 0,
        }
    }
}

/// Every keyword, parsed and bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keywords {
    /// `*RSS`.
    pub rss: bool,
    /// `*NumRssQueues`.
    pub num_rss_queues: u16,
    /// `*MaxRssProcessors`.
    pub max_rss_processors: u16,
    /// `*JumboPacket` (frame size including the 14-byte Ethernet header).
    pub jumbo_packet: u32,
    /// `*ReceiveBuffers` (RX ring size).
    pub receive_buffers: u32,
    /// `*TransmitBuffers` (TX ring size).
    pub transmit_buffers: u32,
    /// `*IPChecksumOffloadIPv4`.
    pub ip_csum_v4: CsumSetting,
    /// `*TCPChecksumOffloadIPv4`.
    pub tcp_csum_v4: CsumSetting,
    /// `*TCPChecksumOffloadIPv6`.
    pub tcp_csum_v6: CsumSetting,
    /// `*UDPChecksumOffloadIPv4`.
    pub udp_csum_v4: CsumSetting,
    /// `*UDPChecksumOffloadIPv6`.
    pub udp_csum_v6: CsumSetting,
    /// `*LsoV2IPv4`.
    pub lso_v2_v4: bool,
    /// `*LsoV2IPv6`.
    pub lso_v2_v6: bool,
    /// `*InterruptModeration`.
    pub interrupt_moderation: bool,
}

impl Keywords {
    /// All defaults (what an adapter with an empty registry key gets).
    pub fn defaults() -> Self {
        Self::from_values(&KEYWORDS.map(|s| s.default))
    }

    fn from_values(v: &[u32; 14]) -> Self {
        // Bounded by the table, so the narrowing casts cannot truncate.
        Keywords {
            rss: v[k::RSS] != 0,
            num_rss_queues: v[k::NUM_RSS_QUEUES] as u16,
            max_rss_processors: v[k::MAX_RSS_PROCESSORS] as u16,
            jumbo_packet: v[k::JUMBO_PACKET],
            receive_buffers: v[k::RECEIVE_BUFFERS],
            transmit_buffers: v[k::TRANSMIT_BUFFERS],
            ip_csum_v4: CsumSetting::from_keyword(v[k::IP_CSUM_V4]),
            tcp_csum_v4: CsumSetting::from_keyword(v[k::TCP_CSUM_V4]),
            tcp_csum_v6: CsumSetting::from_keyword(v[k::TCP_CSUM_V6]),
            udp_csum_v4: CsumSetting::from_keyword(v[k::UDP_CSUM_V4]),
            udp_csum_v6: CsumSetting::from_keyword(v[k::UDP_CSUM_V6]),
            lso_v2_v4: v[k::LSO_V2_V4] != 0,
            lso_v2_v6: v[k::LSO_V2_V6] != 0,
            interrupt_moderation: v[k::INTERRUPT_MODERATION] != 0,
        }
    }

    /// Read every keyword through `read` (the shim's NdisReadConfiguration
    /// wrapper; a host test's map). Each refused value is passed to `report`
    /// with the keyword's index and the default used instead.
    pub fn read<'r>(
        mut read: impl FnMut(&'static str) -> RawValue<'r>,
        mut report: impl FnMut(usize, &KeywordSpec, RawValue<'_>, Issue),
    ) -> Self {
        let mut values = [0u32; 14];
        for (i, spec) in KEYWORDS.iter().enumerate() {
            let raw = read(spec.name);
            let (v, issue) = parse(spec, raw);
            if let Some(issue) = issue {
                report(i, spec, raw, issue);
            }
            values[i] = v;
        }
        Self::from_values(&values)
    }

    /// MTU (L3 payload) asked for by `*JumboPacket`.
    pub const fn mtu(&self) -> u32 {
        self.jumbo_packet.saturating_sub(ETH_HEADER_LEN)
    }
}

impl core::fmt::Display for Issue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Issue::NotANumber => write!(f, "is not a number"),
            Issue::OutOfRange(v) => write!(f, "= {v} is out of range"),
            Issue::NotInEnum(v) => write!(f, "= {v} is not one of the allowed values"),
        }
    }
}

#[cfg(test)]
#[path = "keywords_tests.rs"]
mod tests;
