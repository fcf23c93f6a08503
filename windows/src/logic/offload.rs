//! Task offloads: what the device can do (`OffloadCaps`), what is enabled
//! (keywords at start, `OID_TCP_OFFLOAD_PARAMETERS` later), and the
//! `NDIS_OFFLOAD` structures announced to NDIS ("Reporting a NIC's task
//! offload capabilities" in the NDIS docs).

use core::mem::offset_of;

use cloudnic_common::nic::OffloadCaps;

use super::bytes::{read_u32, read_u8};
use super::keywords::{CsumSetting, Keywords};
use super::oid::OidError;
use crate::ndis::miniport::object_type;
use crate::ndis::nbl::lso_info;
use crate::ndis::objects::{
    cksum_bits, ChecksumOffloadDir, NDIS_OFFLOAD, NDIS_OFFLOAD_ENCAPSULATION,
    NDIS_OFFLOAD_PARAMETERS, NDIS_OFFLOAD_REVISION_3, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3,
    NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1,
};
use crate::ndis::oid::*;

/// Which offloads are on, per protocol and direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffloadState {
    /// IPv4 header checksum.
    pub ipv4: CsumSetting,
    /// TCP over IPv4.
    pub tcp4: CsumSetting,
    /// UDP over IPv4.
    pub udp4: CsumSetting,
    /// TCP over IPv6.
    pub tcp6: CsumSetting,
    /// UDP over IPv6.
    pub udp6: CsumSetting,
    /// LSOv2 over IPv4.
    pub lso4: bool,
    /// LSOv2 over IPv6.
    pub lso6: bool,
}

const fn both(tx: bool, rx: bool) -> CsumSetting {
    CsumSetting { tx, rx }
}

const fn and(a: CsumSetting, b: CsumSetting) -> CsumSetting {
    CsumSetting {
        tx: a.tx && b.tx,
        rx: a.rx && b.rx,
    }
}

impl OffloadState {
    /// Everything the device can do. LSO needs TX TCP checksum too (the NIC
    /// fills the checksum of every segment).
    pub fn hardware(caps: OffloadCaps) -> Self {
        let tcp4 = both(
            caps.contains(OffloadCaps::TX_L4_IPV4_CSUM),
            caps.contains(OffloadCaps::RX_L4_IPV4_CSUM),
        );
        let tcp6 = both(
            caps.contains(OffloadCaps::TX_L4_IPV6_CSUM),
            caps.contains(OffloadCaps::RX_L4_IPV6_CSUM),
        );
        OffloadState {
            ipv4: both(
                caps.contains(OffloadCaps::TX_IPV4_CSUM),
                caps.contains(OffloadCaps::RX_IPV4_CSUM),
            ),
            tcp4,
            udp4: tcp4,
            tcp6,
            udp6: tcp6,
            lso4: caps.contains(OffloadCaps::TSO_IPV4) && tcp4.tx,
            lso6: caps.contains(OffloadCaps::TSO_IPV6) && tcp6.tx,
        }
    }

    /// What the keywords ask for, limited to what the hardware can do.
    pub fn from_keywords(kw: &Keywords, hw: &OffloadState) -> Self {
        let tcp4 = and(kw.tcp_csum_v4, hw.tcp4);
        let tcp6 = and(kw.tcp_csum_v6, hw.tcp6);
        OffloadState {
            ipv4: and(kw.ip_csum_v4, hw.ipv4),
            tcp4,
            udp4: and(kw.udp_csum_v4, hw.udp4),
            tcp6,
            udp6: and(kw.udp_csum_v6, hw.udp6),
            lso4: kw.lso_v2_v4 && hw.lso4 && tcp4.tx,
            lso6: kw.lso_v2_v6 && hw.lso6 && tcp6.tx,
        }
    }

    /// The `NDIS_OFFLOAD` describing this state.
    pub fn to_ndis(&self) -> NDIS_OFFLOAD {
        let dir = |ip: Option<bool>, tcp: bool, udp: bool| {
            let mut bits = 0u32;
            if tcp {
                bits |= NDIS_OFFLOAD_SUPPORTED << cksum_bits::TCP
                    | NDIS_OFFLOAD_SUPPORTED << cksum_bits::TCP_OPTIONS;
            }
            if udp {
                bits |= NDIS_OFFLOAD_SUPPORTED << cksum_bits::UDP;
            }
            if ip == Some(true) {
                bits |= NDIS_OFFLOAD_SUPPORTED << cksum_bits::IP;
            }
            let any = tcp || udp || ip == Some(true);
            ChecksumOffloadDir {
                Encapsulation: if any {
                    NDIS_ENCAPSULATION_IEEE_802_3
                } else {
                    0
                },
                Bits: bits,
            }
        };
        let lso = |on: bool| if on { NDIS_ENCAPSULATION_IEEE_802_3 } else { 0 };
        NDIS_OFFLOAD {
            Header: crate::ndis::NDIS_OBJECT_HEADER::new(
                object_type::OFFLOAD,
                NDIS_OFFLOAD_REVISION_3,
                NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3,
            ),
            ChecksumIPv4Transmit: dir(Some(self.ipv4.tx), self.tcp4.tx, self.udp4.tx),
            ChecksumIPv4Receive: dir(Some(self.ipv4.rx), self.tcp4.rx, self.udp4.rx),
            ChecksumIPv6Transmit: dir(None, self.tcp6.tx, self.udp6.tx),
            ChecksumIPv6Receive: dir(None, self.tcp6.rx, self.udp6.rx),
            LsoV2IPv4Encapsulation: lso(self.lso4),
            LsoV2IPv4MaxOffLoadSize: if self.lso4 {
                lso_info::MAX_OFFLOAD_SIZE
            } else {
                0
            },
            LsoV2IPv4MinSegmentCount: if self.lso4 {
                lso_info::MIN_SEGMENT_COUNT
            } else {
                0
            },
            LsoV2IPv6Encapsulation: lso(self.lso6),
            LsoV2IPv6MaxOffLoadSize: if self.lso6 {
                lso_info::MAX_OFFLOAD_SIZE
            } else {
                0
            },
            LsoV2IPv6MinSegmentCount: if self.lso6 {
                lso_info::MIN_SEGMENT_COUNT
            } else {
                0
            },
            LsoV2IPv6Bits: if self.lso6 {
                NDIS_OFFLOAD_SUPPORTED << cksum_bits::TCP_OPTIONS
            } else {
                0
            },
            ..Default::default()
        }
    }

    /// Pack into a word, so the receive path can read the state the OID
    /// path writes with one atomic load.
    pub fn to_bits(&self) -> u32 {
        let c = |s: CsumSetting, shift: u32| ((s.tx as u32) | (s.rx as u32) << 1) << shift;
        c(self.ipv4, 0)
            | c(self.tcp4, 2)
            | c(self.udp4, 4)
            | c(self.tcp6, 6)
            | c(self.udp6, 8)
            | (self.lso4 as u32) << 10
            | (self.lso6 as u32) << 11
    }

    /// Inverse of [`Self::to_bits`].
    pub fn from_bits(b: u32) -> Self {
        let c = |shift: u32| CsumSetting {
            tx: b >> shift & 1 != 0,
            rx: b >> (shift + 1) & 1 != 0,
        };
        OffloadState {
            ipv4: c(0),
            tcp4: c(2),
            udp4: c(4),
            tcp6: c(6),
            udp6: c(8),
            lso4: b >> 10 & 1 != 0,
            lso6: b >> 11 & 1 != 0,
        }
    }

    /// Apply an `OID_TCP_OFFLOAD_PARAMETERS` request; enabling something the
    /// hardware cannot do is refused and nothing changes.
    pub fn apply(
        &self,
        req: &OffloadParamsRequest,
        hw: &OffloadState,
    ) -> Result<OffloadState, OidError> {
        let mut n = *self;
        let pairs = [
            (&mut n.ipv4, req.ipv4, hw.ipv4),
            (&mut n.tcp4, req.tcp4, hw.tcp4),
            (&mut n.udp4, req.udp4, hw.udp4),
            (&mut n.tcp6, req.tcp6, hw.tcp6),
            (&mut n.udp6, req.udp6, hw.udp6),
        ];
        for (slot, want, can) in pairs {
            if let Some(w) = want {
                if (w.tx && !can.tx) || (w.rx && !can.rx) {
                    return Err(OidError::InvalidData);
                }
                *slot = w;
            }
        }
        for (slot, want, can) in [
            (&mut n.lso4, req.lso4, hw.lso4),
            (&mut n.lso6, req.lso6, hw.lso6),
        ] {
            if let Some(w) = want {
                if w && !can {
                    return Err(OidError::InvalidData);
                }
                *slot = w;
            }
        }
        // LSO without TX TCP checksum is not allowed.
        n.lso4 &= n.tcp4.tx;
        n.lso6 &= n.tcp6.tx;
        Ok(n)
    }
}

/// A parsed `NDIS_OFFLOAD_PARAMETERS`: `None` = no change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffloadParamsRequest {
    /// IPv4 header checksum.
    pub ipv4: Option<CsumSetting>,
    /// TCP/IPv4 checksum.
    pub tcp4: Option<CsumSetting>,
    /// UDP/IPv4 checksum.
    pub udp4: Option<CsumSetting>,
    /// TCP/IPv6 checksum.
    pub tcp6: Option<CsumSetting>,
    /// UDP/IPv6 checksum.
    pub udp6: Option<CsumSetting>,
    /// LSOv2 IPv4.
    pub lso4: Option<bool>,
    /// LSOv2 IPv6.
    pub lso6: Option<bool>,
}

fn csum_code(v: u8) -> Result<Option<CsumSetting>, OidError> {
    Ok(match v {
        NDIS_OFFLOAD_PARAMETERS_NO_CHANGE => None,
        NDIS_OFFLOAD_PARAMETERS_TX_RX_DISABLED => Some(both(false, false)),
        NDIS_OFFLOAD_PARAMETERS_TX_ENABLED_RX_DISABLED => Some(both(true, false)),
        NDIS_OFFLOAD_PARAMETERS_RX_ENABLED_TX_DISABLED => Some(both(false, true)),
        NDIS_OFFLOAD_PARAMETERS_TX_RX_ENABLED => Some(both(true, true)),
        _ => return Err(OidError::InvalidData),
    })
}

fn lso_code(v: u8) -> Result<Option<bool>, OidError> {
    Ok(match v {
        NDIS_OFFLOAD_PARAMETERS_NO_CHANGE => None,
        NDIS_OFFLOAD_PARAMETERS_LSOV2_DISABLED => Some(false),
        NDIS_OFFLOAD_PARAMETERS_LSOV2_ENABLED => Some(true),
        _ => return Err(OidError::InvalidData),
    })
}

/// Parse `NDIS_OFFLOAD_PARAMETERS` (any revision ≥ 1). Requests to enable
/// LSOv1, IPsec or TCP chimney (never offered) are refused.
pub fn parse_offload_parameters(buf: &[u8]) -> Result<(OffloadParamsRequest, usize), OidError> {
    type P = NDIS_OFFLOAD_PARAMETERS;
    let need = NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1;
    if buf.len() < need {
        return Err(OidError::TooShort {
            needed: need as u32,
        });
    }
    if buf[0] != object_type::DEFAULT || buf[1] == 0 {
        return Err(OidError::InvalidData);
    }
    let at = |off: usize| read_u8(buf, off).ok_or(OidError::InvalidData);
    // LsoV1, IPsecV1, TCP chimney: only "no change" or "disabled" (1).
    for off in [
        offset_of!(P, LsoV1),
        offset_of!(P, IPsecV1),
        offset_of!(P, TcpConnectionIPv4),
        offset_of!(P, TcpConnectionIPv6),
    ] {
        if at(off)? > 1 {
            return Err(OidError::NotSupported);
        }
    }
    let req = OffloadParamsRequest {
        ipv4: csum_code(at(offset_of!(P, IPv4Checksum))?)?,
        tcp4: csum_code(at(offset_of!(P, TCPIPv4Checksum))?)?,
        udp4: csum_code(at(offset_of!(P, UDPIPv4Checksum))?)?,
        tcp6: csum_code(at(offset_of!(P, TCPIPv6Checksum))?)?,
        udp6: csum_code(at(offset_of!(P, UDPIPv6Checksum))?)?,
        lso4: lso_code(at(offset_of!(P, LsoV2IPv4))?)?,
        lso6: lso_code(at(offset_of!(P, LsoV2IPv6))?)?,
    };
    Ok((req, buf.len()))
}

/// A parsed `NDIS_OFFLOAD_ENCAPSULATION`: per family, `Some(on)` if set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncapsulationRequest {
    /// IPv4: offloads enabled for 802.3 framing.
    pub ipv4: Option<bool>,
    /// IPv6.
    pub ipv6: Option<bool>,
}

/// Parse `NDIS_OFFLOAD_ENCAPSULATION`: only IEEE 802.3 framing is supported.
pub fn parse_encapsulation(buf: &[u8]) -> Result<(EncapsulationRequest, usize), OidError> {
    type E = NDIS_OFFLOAD_ENCAPSULATION;
    let need = NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1;
    if buf.len() < need {
        return Err(OidError::TooShort {
            needed: need as u32,
        });
    }
    if buf[0] != object_type::OFFLOAD_ENCAPSULATION {
        return Err(OidError::InvalidData);
    }
    let fam = |en: usize, ty: usize| -> Result<Option<bool>, OidError> {
        match read_u32(buf, en) {
            Some(NDIS_OFFLOAD_SET_ON) => {
                if read_u32(buf, ty).unwrap_or(0) & NDIS_ENCAPSULATION_IEEE_802_3 == 0 {
                    return Err(OidError::NotSupported);
                }
                Ok(Some(true))
            }
            Some(NDIS_OFFLOAD_SET_OFF) => Ok(Some(false)),
            Some(0) => Ok(None),
            _ => Err(OidError::InvalidData),
        }
    };
    let req = EncapsulationRequest {
        ipv4: fam(
            offset_of!(E, IPv4Enabled),
            offset_of!(E, IPv4EncapsulationType),
        )?,
        ipv6: fam(
            offset_of!(E, IPv6Enabled),
            offset_of!(E, IPv6EncapsulationType),
        )?,
    };
    Ok((req, need))
}

#[cfg(test)]
#[path = "offload_tests.rs"]
mod tests;
