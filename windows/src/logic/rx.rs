//! Received packets → NDIS: the checksum out-of-band word, NBL protocol
//! flags, and the software receive filter (packet filter + multicast list).
//!
//! Cloud NICs deliver unicast for our MAC plus broadcast and multicast
//! without a hardware filter, so NDIS's packet filter is applied here.

use cloudnic_common::nic::{L3Proto, L4Proto, RxChecksum, RxPacket};

use super::offload::OffloadState;
use crate::ndis::nbl::{
    csum_info, NDIS_NBL_FLAGS_IS_IPV4, NDIS_NBL_FLAGS_IS_IPV6, NDIS_NBL_FLAGS_IS_TCP,
    NDIS_NBL_FLAGS_IS_UDP,
};
use crate::ndis::oid::{
    NDIS_PACKET_TYPE_ALL_MULTICAST, NDIS_PACKET_TYPE_BROADCAST, NDIS_PACKET_TYPE_DIRECTED,
    NDIS_PACKET_TYPE_MULTICAST, NDIS_PACKET_TYPE_PROMISCUOUS,
};

/// `TcpIpChecksumNetBufferListInfo` for a received packet. Only verdicts
/// the device checked *and* NDIS enabled are reported. A bad verdict is not
/// reported as "failed": the device does not say whether L3 or L4 failed,
/// so the stack re-verifies in software and drops (the Linux shim does the
/// same with CHECKSUM_NONE).
pub fn csum_word(pkt: &RxPacket<'_>, enabled: &OffloadState) -> usize {
    if pkt.csum != RxChecksum::Good {
        return 0;
    }
    let mut w = 0usize;
    match pkt.l3 {
        L3Proto::Ipv4 => {
            if enabled.ipv4.rx {
                w |= csum_info::RX_IP_SUCCEEDED;
            }
            match pkt.l4 {
                L4Proto::Tcp if enabled.tcp4.rx => w |= csum_info::RX_TCP_SUCCEEDED,
                L4Proto::Udp if enabled.udp4.rx => w |= csum_info::RX_UDP_SUCCEEDED,
                _ => {}
            }
        }
        L3Proto::Ipv6 => match pkt.l4 {
            L4Proto::Tcp if enabled.tcp6.rx => w |= csum_info::RX_TCP_SUCCEEDED,
            L4Proto::Udp if enabled.udp6.rx => w |= csum_info::RX_UDP_SUCCEEDED,
            _ => {}
        },
        L3Proto::Unknown => {}
    }
    w
}

/// `NDIS_NBL_FLAGS_IS_*` hints from the device's parse.
pub fn nbl_flags(pkt: &RxPacket<'_>) -> u32 {
    let l3 = match pkt.l3 {
        L3Proto::Ipv4 => NDIS_NBL_FLAGS_IS_IPV4,
        L3Proto::Ipv6 => NDIS_NBL_FLAGS_IS_IPV6,
        L3Proto::Unknown => return 0,
    };
    l3 | match pkt.l4 {
        L4Proto::Tcp => NDIS_NBL_FLAGS_IS_TCP,
        L4Proto::Udp => NDIS_NBL_FLAGS_IS_UDP,
        L4Proto::Unknown => 0,
    }
}

/// Destination class of a frame (for filtering and statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameClass {
    /// Individual address.
    Unicast = 0,
    /// Group address other than broadcast.
    Multicast = 1,
    /// ff:ff:ff:ff:ff:ff.
    Broadcast = 2,
}

/// Classify a destination MAC.
pub fn classify(dst: &[u8; 6]) -> FrameClass {
    if *dst == [0xFF; 6] {
        FrameClass::Broadcast
    } else if dst[0] & 1 != 0 {
        FrameClass::Multicast
    } else {
        FrameClass::Unicast
    }
}

/// Does the packet filter let a frame to `dst` through?
pub fn filter_accepts(filter: u32, multicast: &[[u8; 6]], own: &[u8; 6], dst: &[u8; 6]) -> bool {
    if filter & NDIS_PACKET_TYPE_PROMISCUOUS != 0 {
        return true;
    }
    match classify(dst) {
        FrameClass::Broadcast => filter & NDIS_PACKET_TYPE_BROADCAST != 0,
        FrameClass::Multicast => {
            filter & NDIS_PACKET_TYPE_ALL_MULTICAST != 0
                || (filter & NDIS_PACKET_TYPE_MULTICAST != 0 && multicast.contains(dst))
        }
        FrameClass::Unicast => filter & NDIS_PACKET_TYPE_DIRECTED != 0 && dst == own,
    }
}

/// The buffer size that holds one frame of `mtu`: Ethernet header, one VLAN
/// tag, rounded up to 2 KiB (at least 2 KiB).
pub fn rx_buffer_size(mtu: u32) -> u32 {
    const ETH_AND_VLAN: u32 = 18;
    const UNIT: u32 = 2048;
    let need = mtu.saturating_add(ETH_AND_VLAN);
    need.div_ceil(UNIT).max(1).saturating_mul(UNIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::keywords::CsumSetting;
    use cloudnic_common::nic::{RssHashType, RxFragment};

    fn pkt(csum: RxChecksum, l3: L3Proto, l4: L4Proto) -> RxPacket<'static> {
        static F: [RxFragment; 1] = [RxFragment { token: 1, len: 60 }];
        RxPacket {
            frags: &F,
            offset: 0,
            len: 60,
            csum,
            hash: 0,
            hash_type: RssHashType::None,
            l3,
            l4,
            vlan_tci: None,
        }
    }

    fn all_on() -> OffloadState {
        let on = CsumSetting { tx: true, rx: true };
        OffloadState {
            ipv4: on,
            tcp4: on,
            udp4: on,
            tcp6: on,
            udp6: on,
            lso4: true,
            lso6: true,
        }
    }

    #[test]
    fn checksum_word_reports_only_good_and_enabled() {
        let on = all_on();
        let w = csum_word(&pkt(RxChecksum::Good, L3Proto::Ipv4, L4Proto::Tcp), &on);
        assert_eq!(w, csum_info::RX_IP_SUCCEEDED | csum_info::RX_TCP_SUCCEEDED);
        let w = csum_word(&pkt(RxChecksum::Good, L3Proto::Ipv6, L4Proto::Udp), &on);
        assert_eq!(w, csum_info::RX_UDP_SUCCEEDED);
        assert_eq!(
            csum_word(&pkt(RxChecksum::Bad, L3Proto::Ipv4, L4Proto::Tcp), &on),
            0
        );
        assert_eq!(
            csum_word(
                &pkt(RxChecksum::NotChecked, L3Proto::Ipv4, L4Proto::Tcp),
                &on
            ),
            0
        );
        let mut off = on;
        off.tcp4.rx = false;
        let w = csum_word(&pkt(RxChecksum::Good, L3Proto::Ipv4, L4Proto::Tcp), &off);
        assert_eq!(w, csum_info::RX_IP_SUCCEEDED);
        assert_eq!(
            nbl_flags(&pkt(RxChecksum::Good, L3Proto::Ipv6, L4Proto::Tcp)),
            NDIS_NBL_FLAGS_IS_IPV6 | NDIS_NBL_FLAGS_IS_TCP
        );
    }

    #[test]
    fn software_packet_filter() {
        let own = [0x02, 0, 0, 0, 0, 1];
        let mc = [[0x01, 0x00, 0x5e, 0, 0, 1]];
        let d = NDIS_PACKET_TYPE_DIRECTED;
        assert!(filter_accepts(d, &mc, &own, &own));
        assert!(!filter_accepts(d, &mc, &own, &[0x02, 0, 0, 0, 0, 2]));
        assert!(!filter_accepts(d, &mc, &own, &[0xFF; 6]));
        assert!(filter_accepts(
            d | NDIS_PACKET_TYPE_BROADCAST,
            &mc,
            &own,
            &[0xFF; 6]
        ));
        assert!(filter_accepts(
            d | NDIS_PACKET_TYPE_MULTICAST,
            &mc,
            &own,
            &mc[0]
        ));
        assert!(!filter_accepts(
            d | NDIS_PACKET_TYPE_MULTICAST,
            &mc,
            &own,
            &[0x01, 0x00, 0x5e, 0, 0, 2]
        ));
        assert!(filter_accepts(
            NDIS_PACKET_TYPE_ALL_MULTICAST,
            &[],
            &own,
            &[0x33, 0x33, 0, 0, 0, 1]
        ));
        assert!(filter_accepts(
            NDIS_PACKET_TYPE_PROMISCUOUS,
            &[],
            &own,
            &[0x02, 9, 9, 9, 9, 9]
        ));
        assert!(
            !filter_accepts(0, &mc, &own, &own),
            "filter 0 = receive nothing"
        );
    }

    #[test]
    fn buffer_sizes() {
        assert_eq!(rx_buffer_size(1500), 2048);
        assert_eq!(rx_buffer_size(2030), 2048);
        assert_eq!(rx_buffer_size(2031), 4096);
        assert_eq!(rx_buffer_size(9001), 10240);
        assert_eq!(rx_buffer_size(u32::MAX), u32::MAX, "saturates");
    }
}
