//! The device-neutral NIC interface the OS shims call.
//!
//! A shim owns packet memory: it maps buffers for DMA and hands the core
//! `(bus address, length)` segments plus an opaque [`Token`] (an `sk_buff`
//! pointer, a `NET_BUFFER_LIST` pointer, a test id). The core returns every
//! token exactly once: through a TX completion, an RX packet, or the release
//! callback of [`NetDevice::close`] / [`NetDevice::reset`]. Nothing is lost,
//! nothing is returned twice — the device models' ledgers check this.

use core::fmt;

use crate::{Error, ResetReason};

/// Opaque caller cookie identifying one buffer (or one TX packet).
pub type Token = u64;

/// One DMA-mapped piece of a TX packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaSegment {
    /// Bus address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
}

/// Layer-3 protocol of a packet, as parsed by the stack or the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum L3Proto {
    /// Not IP, or not known.
    #[default]
    Unknown,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// Layer-4 protocol of a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum L4Proto {
    /// Neither TCP nor UDP, or not known.
    #[default]
    Unknown,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Offloads the stack asks for on one TX packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxOffload {
    /// L3 protocol (needed for any checksum or TSO).
    pub l3: L3Proto,
    /// L4 protocol.
    pub l4: L4Proto,
    /// Byte offset of the L3 header (the L2 header length).
    pub l3_offset: u16,
    /// L3 header length in bytes.
    pub l3_len: u16,
    /// L4 header length in bytes (TCP with options: data offset × 4).
    pub l4_len: u16,
    /// Fill the IPv4 header checksum.
    pub ipv4_csum: bool,
    /// Fill the L4 checksum.
    pub l4_csum: bool,
    /// The L4 checksum field already holds the pseudo-header sum (Linux CHECKSUM_PARTIAL).
    pub l4_csum_partial: bool,
    /// Segment into MSS-sized TCP segments; 0 = no TSO.
    pub tso_mss: u16,
    /// IPv4 DF bit of the packet (ENA mirrors it in the descriptor).
    pub ipv4_df: bool,
    /// 802.1Q tag control information (PCP 15–13, DEI 12, VID 11–0) the
    /// device must insert after the source MAC; `None` = send as is. Linux
    /// keeps an offloaded tag beside the frame (`skb_vlan_tag_present`), so
    /// the frame handed to the core carries no tag when this is set. Only
    /// devices advertising [`OffloadCaps::TX_VLAN_INSERT`] accept it (MANA:
    /// the long TX OOB's inject-tag bit with PCP/DEI/VID, mana.md §6.6);
    /// others refuse the packet with [`TxError::Invalid`].
    pub vlan_tci: Option<u16>,
}

/// One TX packet.
#[derive(Clone, Copy, Debug)]
pub struct TxPacket<'a> {
    /// DMA segments making up the whole frame, in order.
    pub segments: &'a [DmaSegment],
    /// The frame's first bytes, CPU-readable; devices that push headers into
    /// device memory (ENA LLQ) copy from here. May be shorter than the headers
    /// only if the device does not need them.
    pub header: &'a [u8],
    /// Offload requests.
    pub offload: TxOffload,
    /// Returned through [`NetDevice::tx_poll`] once the device is done.
    pub token: Token,
}

impl TxPacket<'_> {
    /// Total frame length in bytes (saturating; the core validates it).
    pub fn len(&self) -> u32 {
        self.segments
            .iter()
            .fold(0u32, |a, s| a.saturating_add(s.len))
    }
    /// True if the packet has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One RX buffer handed to the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxBuffer {
    /// Bus address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Returned with the packet that fills it, or on release.
    pub token: Token,
}

/// How a shim should manage a queue's RX buffers ([`NetDevice::rx_policy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxPolicy {
    /// Refill once at least this many buffers fit (≥ 1): fewer, larger
    /// refills mean fewer doorbells.
    pub refill_threshold: u32,
    /// A packet in one buffer of at most this many bytes is copied into a
    /// fresh small buffer and the receive buffer posted again, saving a
    /// buffer allocation and mapping (0 = never). The shim subtracts its
    /// IP-header alignment; it reports the copies with
    /// [`NetDevice::note_rx_copybreak`].
    pub copybreak: u32,
}

impl Default for RxPolicy {
    /// Refill whenever anything fits; never copy.
    fn default() -> Self {
        RxPolicy {
            refill_threshold: 1,
            copybreak: 0,
        }
    }
}

/// Checksum verdict for a received packet (Linux: `CHECKSUM_UNNECESSARY` for `Good`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RxChecksum {
    /// The device did not check (or the packet is a fragment / not TCP/UDP).
    #[default]
    NotChecked,
    /// L3 (IPv4) and L4 checksums verified good.
    Good,
    /// L3 or L4 checksum failed; the stack re-verifies and drops.
    Bad,
}

/// What the RSS hash was computed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RssHashType {
    /// No hash.
    #[default]
    None,
    /// Over IP addresses only.
    L3,
    /// Over IP addresses and ports.
    L4,
}

/// One buffer of a received packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxFragment {
    /// The buffer's token.
    pub token: Token,
    /// Bytes of packet data in this buffer.
    pub len: u32,
}

/// A received packet, valid for the duration of the callback.
#[derive(Clone, Copy, Debug)]
pub struct RxPacket<'a> {
    /// Buffers holding the packet, in order (at least one).
    pub frags: &'a [RxFragment],
    /// Packet data starts this many bytes into the first buffer.
    pub offset: u32,
    /// Total packet length in bytes.
    pub len: u32,
    /// Checksum verdict.
    pub csum: RxChecksum,
    /// RSS hash value.
    pub hash: u32,
    /// What the hash covers.
    pub hash_type: RssHashType,
    /// L3 protocol the device parsed.
    pub l3: L3Proto,
    /// L4 protocol the device parsed.
    pub l4: L4Proto,
    /// 802.1Q tag the device stripped from the frame (the data no longer
    /// holds it); `None` = no tag stripped. The shim hands it to the stack
    /// (Linux `__vlan_hwaccel_put_tag`). MANA reports the VLAN id only
    /// (RX completion dword1 bits 0–11 plus the tag-present bit 12,
    /// mana.md §6.8), so PCP and DEI read as 0 there.
    pub vlan_tci: Option<u16>,
}

/// Why a TX packet was not accepted. The token stays with the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxError {
    /// Ring full: stop the OS queue and retry after completions.
    NoSpace,
    /// Too many segments for the device even after the caller's best effort: linearize.
    TooManySegments,
    /// Malformed or unsupported request (zero length, header longer than the
    /// packet, MSS 0 with TSO, a VLAN tag on a device without
    /// [`OffloadCaps::TX_VLAN_INSERT`]...).
    Invalid,
    /// Queue not open or a reset is pending.
    NotRunning,
}

/// Outcome of [`NetDevice::tx_post_burst`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxBurst {
    /// How many of the leading packets were queued.
    pub posted: usize,
    /// Why the packet after them was not (`None`: all were). That packet and
    /// the rest, and their tokens, stay with the caller.
    pub stopped: Option<TxError>,
}

/// A buffer given back without having been used (close / reset / teardown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    /// A TX packet that never completed.
    Tx(Token),
    /// An RX buffer that never received data.
    Rx(Token),
}

bitflags::bitflags! {
    /// Offloads the device offers.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct OffloadCaps: u32 {
        /// TX IPv4 header checksum.
        const TX_IPV4_CSUM = 1 << 0;
        /// TX TCP/UDP checksum over IPv4.
        const TX_L4_IPV4_CSUM = 1 << 1;
        /// TX TCP/UDP checksum over IPv6.
        const TX_L4_IPV6_CSUM = 1 << 2;
        /// TCP segmentation over IPv4.
        const TSO_IPV4 = 1 << 3;
        /// TCP segmentation over IPv6.
        const TSO_IPV6 = 1 << 4;
        /// RX IPv4 header checksum verification.
        const RX_IPV4_CSUM = 1 << 5;
        /// RX TCP/UDP over IPv4 checksum verification.
        const RX_L4_IPV4_CSUM = 1 << 6;
        /// RX TCP/UDP over IPv6 checksum verification.
        const RX_L4_IPV6_CSUM = 1 << 7;
        /// RX RSS hash reported.
        const RX_HASH = 1 << 8;
        /// TX 802.1Q tag insertion from [`TxOffload::vlan_tci`] (MANA long
        /// TX OOB, mana.md §6.6; ENA has no VLAN offload, ena.md §3.6).
        const TX_VLAN_INSERT = 1 << 9;
        /// RX 802.1Q tag stripping, reported in [`RxPacket::vlan_tci`]
        /// (MANA RX completion VLAN fields, mana.md §6.8; Linux `mana`
        /// always offers it and has no command to turn it off).
        const RX_VLAN_STRIP = 1 << 10;
    }
}

/// What the device offers, discovered at bring-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Permanent MAC address.
    pub mac: [u8; 6],
    /// Smallest MTU accepted.
    pub min_mtu: u32,
    /// Largest MTU accepted.
    pub max_mtu: u32,
    /// Largest number of queue pairs.
    pub max_queues: u16,
    /// Smallest ring size.
    pub min_ring_size: u32,
    /// Largest TX ring size.
    pub max_tx_ring_size: u32,
    /// Largest RX ring size.
    pub max_rx_ring_size: u32,
    /// Most DMA segments in one TX packet.
    pub max_tx_segments: u16,
    /// Most buffers one RX packet may span.
    pub max_rx_segments: u16,
    /// Offloads.
    pub offloads: OffloadCaps,
    /// RSS indirection table entries (0 = RSS not configurable).
    pub rss_table_size: u32,
    /// RSS key length in bytes (0 = key not configurable).
    pub rss_key_size: u32,
    /// Link speed in Mbit/s, if known.
    pub link_speed_mbps: u32,
}

/// Queue layout the shim asks for at open (and ethtool `-L`/`-G`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Queue pairs (one TX + one RX each, one interrupt vector each).
    pub num_queues: u16,
    /// TX descriptors per ring (power of two).
    pub tx_ring_size: u32,
    /// RX descriptors per ring (power of two).
    pub rx_ring_size: u32,
    /// MTU (L3 payload size).
    pub mtu: u32,
}

/// RSS configuration (ethtool `-X`).
#[derive(Clone, Copy, Debug)]
pub struct RssConfig<'a> {
    /// New Toeplitz key, if it changes.
    pub key: Option<&'a [u8]>,
    /// New indirection table (queue index per entry), if it changes.
    pub table: Option<&'a [u16]>,
}

/// Interrupt moderation (ethtool `-C`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModerationConfig {
    /// TX interval in microseconds.
    pub tx_usecs: u32,
    /// RX interval in microseconds (start value when adaptive).
    pub rx_usecs: u32,
    /// Let the driver adapt the RX interval to the traffic.
    pub adaptive_rx: bool,
}

/// Scope of a statistics counter; together with a name it forms the stable
/// `ethtool -S` string (`queue_3_tx_cnt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatScope {
    /// Device-wide.
    Global,
    /// One TX queue.
    Tx(u16),
    /// One RX queue.
    Rx(u16),
    /// One TX queue, named the short way (`tx_3_packets`, Linux `mana`).
    TxShort(u16),
    /// One RX queue, named the short way (`rx_3_packets`, Linux `mana`).
    RxShort(u16),
}

/// A counter's name, printable without allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatName {
    /// Scope.
    pub scope: StatScope,
    /// Base name (`cnt`, `wd_expired`).
    pub name: &'static str,
}

impl fmt::Display for StatName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            StatScope::Global => f.write_str(self.name),
            StatScope::Tx(q) => write!(f, "queue_{q}_tx_{}", self.name),
            StatScope::Rx(q) => write!(f, "queue_{q}_rx_{}", self.name),
            StatScope::TxShort(q) => write!(f, "tx_{q}_{}", self.name),
            StatScope::RxShort(q) => write!(f, "rx_{q}_{}", self.name),
        }
    }
}

/// The operations every cloudnic device offers its OS shim.
///
/// Per-queue methods take the queue-pair index `q` (0-based). Device values
/// that fail validation never reach the caller: they are counted, a reset is
/// requested ([`NetDevice::pending_reset`]) and the call returns what it had.
pub trait NetDevice {
    /// Device capabilities from bring-up.
    fn info(&self) -> &DeviceInfo;
    /// Current queue configuration (also when down: what `open` will use).
    fn queue_config(&self) -> QueueConfig;
    /// True while the interface is open.
    fn is_open(&self) -> bool;
    /// Create queues and start traffic. Validates `cfg` first; on error the
    /// device is unchanged.
    fn open(&mut self, cfg: QueueConfig) -> Result<(), Error>;
    /// Destroy queues; every outstanding token is handed to `release`.
    fn close(&mut self, release: &mut dyn FnMut(Released)) -> Result<(), Error>;

    /// Queue one TX packet (no doorbell; see [`NetDevice::tx_kick`]).
    fn tx_post(&mut self, q: u16, pkt: &TxPacket<'_>) -> Result<(), TxError>;
    /// Queue packets in order until one is refused (no doorbell), with the
    /// same checks and outcome per packet as [`NetDevice::tx_post`]. A
    /// device may do the per-call work once for the run (NDIS send chains,
    /// `xmit_more` batches).
    fn tx_post_burst(&mut self, q: u16, pkts: &[TxPacket<'_>]) -> TxBurst {
        for (posted, pkt) in pkts.iter().enumerate() {
            if let Err(e) = self.tx_post(q, pkt) {
                return TxBurst {
                    posted,
                    stopped: Some(e),
                };
            }
        }
        TxBurst {
            posted: pkts.len(),
            stopped: None,
        }
    }
    /// Ring the TX doorbell for everything posted since the last kick.
    fn tx_kick(&mut self, q: u16);
    /// Packets that can still be posted without `NoSpace` (worst case segments).
    fn tx_space(&self, q: u16) -> u32;
    /// Reap up to `budget` TX completions, giving each packet's token to `done`.
    fn tx_poll<F: FnMut(Token)>(&mut self, q: u16, budget: u32, done: F) -> u32;
    /// Post RX buffers (rings the doorbell); returns how many were taken.
    fn rx_refill(&mut self, q: u16, bufs: &[RxBuffer]) -> u32;
    /// RX buffers the ring can still take.
    fn rx_space(&self, q: u16) -> u32;
    /// When to refill queue `q` and when to copy small packets.
    fn rx_policy(&self, _q: u16) -> RxPolicy {
        RxPolicy::default()
    }
    /// The shim copied `pkts` packets of queue `q` out under
    /// [`RxPolicy::copybreak`] (a statistic).
    fn note_rx_copybreak(&mut self, _q: u16, _pkts: u32) {}
    /// Reap up to `budget` RX packets.
    fn rx_poll<F: FnMut(&RxPacket<'_>)>(&mut self, q: u16, budget: u32, deliver: F) -> u32;
    /// Note that queue `q`'s interrupt fired (health monitor input).
    fn note_queue_interrupt(&mut self, q: u16);
    /// Re-arm queue `q`'s interrupt after polling finished (applies moderation).
    fn unmask_queue_interrupt(&mut self, q: u16);

    /// Management interrupt (or poll): admin completions and async events.
    fn handle_management_interrupt(&mut self);
    /// Link state from the device's last event.
    fn link_up(&self) -> bool;
    /// Change the MTU (validated; device refusal leaves the old one).
    fn set_mtu(&mut self, mtu: u32) -> Result<(), Error>;
    /// Change queue counts / ring sizes (close + open with the same buffers released).
    fn reconfigure(
        &mut self,
        cfg: QueueConfig,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error>;
    /// Change the RSS key and/or table.
    fn set_rss(&mut self, rss: &RssConfig<'_>) -> Result<(), Error>;
    /// Current RSS key and table, copied into the caller's buffers; returns (key len, table len).
    fn get_rss(&self, key: &mut [u8], table: &mut [u16]) -> (usize, usize);
    /// Change interrupt moderation.
    fn set_moderation(&mut self, m: ModerationConfig) -> Result<(), Error>;
    /// Current interrupt moderation.
    fn moderation(&self) -> ModerationConfig;

    /// Periodic (1 s) health check; returns the reason if a reset is needed now.
    fn health_check(&mut self) -> Option<ResetReason>;
    /// A reset requested by validation or an event, not yet executed.
    fn pending_reset(&self) -> Option<ResetReason>;
    /// Ask for a reset from outside (OS TX watchdog, user).
    fn request_reset(&mut self, reason: ResetReason);
    /// Execute the reset flow: dump stats, reset the device with `reason`,
    /// re-initialise and restore the configuration (MTU, queues, rings, RSS,
    /// moderation). Outstanding tokens go to `release`.
    fn reset(
        &mut self,
        reason: ResetReason,
        release: &mut dyn FnMut(Released),
    ) -> Result<(), Error>;
    /// Every counter with its stable name, in `ethtool -S` order.
    fn for_each_stat(&self, f: &mut dyn FnMut(StatName, u64));
}
