//! [`FrameBuilder`]: test frames (TCP/UDP over IPv4/IPv6, optional VLAN tag)
//! with correct checksums, a Linux-style partial checksum, or none.

use super::offload::{fill_ipv4_header_csum, fill_l4_csum, write_partial_csum, TCP_ACK, TCP_PSH};
use super::parse::{
    parse, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, IPPROTO_TCP, IPPROTO_UDP,
};

/// What to put in the checksum fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsumMode {
    /// IPv4 header and L4 checksums correct.
    Full,
    /// IPv4 header checksum zero, L4 field holds the folded pseudo-header sum
    /// (Linux CHECKSUM_PARTIAL: the NIC finishes it).
    Partial,
    /// Both zero (the NIC computes them from scratch).
    Zero,
    /// Correct, then the L4 checksum is corrupted (for RX error tests).
    BadL4,
    /// Correct, then the IPv4 header checksum is corrupted.
    BadL3,
}

/// Network addresses of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpPair {
    /// IPv4 source and destination.
    V4([u8; 4], [u8; 4]),
    /// IPv6 source and destination.
    V6([u8; 16], [u8; 16]),
}

/// Builds one Ethernet frame.
#[derive(Clone, Debug)]
pub struct FrameBuilder {
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    vlan: Option<u16>,
    ip: IpPair,
    proto: u8,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    tcp_flags: u8,
    window: u16,
    tcp_options: Vec<u8>,
    ipv4_options: Vec<u8>,
    ip_id: u16,
    df: bool,
    ttl: u8,
    payload: Vec<u8>,
    csum: CsumMode,
}

/// `len` bytes of a deterministic pattern seeded by `seed` (easy to compare).
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i >> 8) as u8))
        .collect()
}

impl FrameBuilder {
    fn new(ip: IpPair, proto: u8, src_port: u16, dst_port: u16) -> Self {
        FrameBuilder {
            dst_mac: [0x02, 0, 0, 0, 0, 0x02],
            src_mac: [0x02, 0, 0, 0, 0, 0x01],
            vlan: None,
            ip,
            proto,
            src_port,
            dst_port,
            seq: 1000,
            ack: 1,
            tcp_flags: TCP_ACK | TCP_PSH,
            window: 0xFFFF,
            tcp_options: Vec::new(),
            ipv4_options: Vec::new(),
            ip_id: 1,
            df: true,
            ttl: 64,
            payload: Vec::new(),
            csum: CsumMode::Full,
        }
    }
    /// TCP over IPv4.
    pub fn tcp4(src: [u8; 4], dst: [u8; 4], src_port: u16, dst_port: u16) -> Self {
        Self::new(IpPair::V4(src, dst), IPPROTO_TCP, src_port, dst_port)
    }
    /// UDP over IPv4.
    pub fn udp4(src: [u8; 4], dst: [u8; 4], src_port: u16, dst_port: u16) -> Self {
        Self::new(IpPair::V4(src, dst), IPPROTO_UDP, src_port, dst_port)
    }
    /// TCP over IPv6.
    pub fn tcp6(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16) -> Self {
        Self::new(IpPair::V6(src, dst), IPPROTO_TCP, src_port, dst_port)
    }
    /// UDP over IPv6.
    pub fn udp6(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16) -> Self {
        Self::new(IpPair::V6(src, dst), IPPROTO_UDP, src_port, dst_port)
    }
    /// Ethernet addresses.
    pub fn macs(mut self, src: [u8; 6], dst: [u8; 6]) -> Self {
        self.src_mac = src;
        self.dst_mac = dst;
        self
    }
    /// Add one 802.1Q tag with this TCI.
    pub fn vlan(mut self, tci: u16) -> Self {
        self.vlan = Some(tci);
        self
    }
    /// Payload bytes.
    pub fn payload(mut self, data: &[u8]) -> Self {
        self.payload = data.to_vec();
        self
    }
    /// A payload of `len` pattern bytes.
    pub fn payload_len(mut self, len: usize) -> Self {
        self.payload = pattern(len, self.src_port as u8);
        self
    }
    /// TCP sequence number.
    pub fn seq(mut self, seq: u32) -> Self {
        self.seq = seq;
        self
    }
    /// TCP flags byte.
    pub fn tcp_flags(mut self, flags: u8) -> Self {
        self.tcp_flags = flags;
        self
    }
    /// TCP options (padded to a multiple of 4 with zeros = end of options).
    pub fn tcp_options(mut self, opts: &[u8]) -> Self {
        self.tcp_options = opts.to_vec();
        self
    }
    /// IPv4 options (padded to a multiple of 4 with zeros = EOL).
    pub fn ipv4_options(mut self, opts: &[u8]) -> Self {
        self.ipv4_options = opts.to_vec();
        self
    }
    /// IPv4 identification.
    pub fn ip_id(mut self, id: u16) -> Self {
        self.ip_id = id;
        self
    }
    /// IPv4 don't-fragment bit.
    pub fn df(mut self, df: bool) -> Self {
        self.df = df;
        self
    }
    /// Checksum mode.
    pub fn csum(mut self, mode: CsumMode) -> Self {
        self.csum = mode;
        self
    }

    /// The frame bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(64 + self.payload.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        if let Some(tci) = self.vlan {
            f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        let mut tcp_opts = self.tcp_options.clone();
        tcp_opts.resize(tcp_opts.len().div_ceil(4) * 4, 0);
        let mut ip_opts = self.ipv4_options.clone();
        ip_opts.resize(ip_opts.len().div_ceil(4) * 4, 0);
        let l4_hdr = if self.proto == IPPROTO_TCP {
            20 + tcp_opts.len()
        } else {
            8
        };
        let l4_len = l4_hdr + self.payload.len();
        match self.ip {
            IpPair::V4(src, dst) => {
                f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let ihl = 20 + ip_opts.len();
                f.push(0x40 | (ihl / 4) as u8);
                f.push(0);
                f.extend_from_slice(&((ihl + l4_len) as u16).to_be_bytes());
                f.extend_from_slice(&self.ip_id.to_be_bytes());
                f.extend_from_slice(&(if self.df { 0x4000u16 } else { 0 }).to_be_bytes());
                f.push(self.ttl);
                f.push(self.proto);
                f.extend_from_slice(&[0, 0]);
                f.extend_from_slice(&src);
                f.extend_from_slice(&dst);
                f.extend_from_slice(&ip_opts);
            }
            IpPair::V6(src, dst) => {
                f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                f.extend_from_slice(&[0x60, 0, 0, 0]);
                f.extend_from_slice(&(l4_len as u16).to_be_bytes());
                f.push(self.proto);
                f.push(self.ttl);
                f.extend_from_slice(&src);
                f.extend_from_slice(&dst);
            }
        }
        f.extend_from_slice(&self.src_port.to_be_bytes());
        f.extend_from_slice(&self.dst_port.to_be_bytes());
        if self.proto == IPPROTO_TCP {
            f.extend_from_slice(&self.seq.to_be_bytes());
            f.extend_from_slice(&self.ack.to_be_bytes());
            f.push(((l4_hdr / 4) as u8) << 4);
            f.push(self.tcp_flags);
            f.extend_from_slice(&self.window.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            f.extend_from_slice(&tcp_opts);
        } else {
            f.extend_from_slice(&(l4_len as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        }
        f.extend_from_slice(&self.payload);
        let Some(p) = parse(&f) else { return f };
        match self.csum {
            CsumMode::Zero => {}
            CsumMode::Partial => {
                let _ = write_partial_csum(&mut f, &p);
            }
            CsumMode::Full | CsumMode::BadL4 | CsumMode::BadL3 => {
                fill_ipv4_header_csum(&mut f, &p);
                let _ = fill_l4_csum(&mut f, &p);
                if self.csum == CsumMode::BadL4 {
                    let at = p.l4_offset + if self.proto == IPPROTO_TCP { 16 } else { 6 };
                    f[at] ^= 0x5A;
                } else if self.csum == CsumMode::BadL3 && p.is_ipv4() {
                    f[p.l3_offset + 10] ^= 0x5A;
                }
            }
        }
        f
    }
}
