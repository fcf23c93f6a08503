//! [`EnaModelConfig`]: the identity and capabilities an [`super::EnaModel`]
//! advertises. Defaults follow the fact sheet (ena.md): a VF with BAR0 16 KiB
//! and BAR2 1 MiB, readless MMIO on, max MTU 9216, 8 queue pairs, LLQ with
//! 128/256-byte entries, a 128-entry RSS table, keep-alive every second.

use cloudnic_ena::defs::admin::{
    link_speed, DeviceCaps, FeatureId, HwHints, RssFields, RxOffloadBits, TxOffloadBits,
    LINK_FLAG_AUTONEG, LINK_FLAG_FULL_DUPLEX, RSS_HASH_FUNCTION_CRC32, RSS_HASH_FUNCTION_TOEPLITZ,
};
use cloudnic_ena::defs::io::{
    LlqAccelFlags, LlqDescsBeforeHeader, LlqEntrySize, LlqHeaderLocation, LlqStride,
};
use cloudnic_ena::defs::pci::DEVICE_ID_ENA_VF;
use cloudnic_ena::defs::regs::{Caps, ControllerVersion, Version};

pub use crate::pci::PciIdentity;

/// What the device offers for LLQ (GET_FEATURE LLQ, ena.md §3.6, §5.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlqSupport {
    /// Max LLQs.
    pub max_llq_num: u32,
    /// Max LLQ depth (128-byte entries).
    pub max_llq_depth: u32,
    /// Header locations supported.
    pub header_location: LlqHeaderLocation,
    /// Entry sizes supported.
    pub entry_size: LlqEntrySize,
    /// Descriptors-before-header values supported.
    pub descs_before_header: LlqDescsBeforeHeader,
    /// Strides supported.
    pub stride: LlqStride,
    /// Entry size recommended (single bit).
    pub recommended_entry: LlqEntrySize,
    /// Max depth with 256-byte entries (0 = n/a).
    pub max_wide_llq_depth: u16,
    /// Accelerated-mode flags supported.
    pub accel: LlqAccelFlags,
    /// Max bytes pushed per doorbell with LIMIT_TX_BURST.
    pub max_tx_burst_bytes: u16,
}

impl Default for LlqSupport {
    fn default() -> Self {
        LlqSupport {
            max_llq_num: 8,
            max_llq_depth: 1024,
            header_location: LlqHeaderLocation::INLINE,
            entry_size: LlqEntrySize::B128 | LlqEntrySize::B256,
            descs_before_header: LlqDescsBeforeHeader::D1
                | LlqDescsBeforeHeader::D2
                | LlqDescsBeforeHeader::D4
                | LlqDescsBeforeHeader::D8,
            stride: LlqStride::SINGLE_DESC_PER_ENTRY | LlqStride::MULTIPLE_DESCS_PER_ENTRY,
            recommended_entry: LlqEntrySize::B128,
            max_wide_llq_depth: 512,
            accel: LlqAccelFlags::empty(),
            max_tx_burst_bytes: 0,
        }
    }
}

/// Device identity, limits and capabilities.
#[derive(Clone, Debug)]
pub struct EnaModelConfig {
    /// PCI device id (default: the common EC2 VF).
    pub device_id: u16,
    /// PCI revision; bit 0 disables readless MMIO reads.
    pub revision: u8,
    /// BAR0 size (registers).
    pub bar0_size: u64,
    /// BAR2 size (LLQ device memory); 0 = no BAR2, no LLQ.
    pub bar2_size: u64,
    /// VERSION register.
    pub version: Version,
    /// CONTROLLER_VERSION register.
    pub controller_version: ControllerVersion,
    /// CAPS register.
    pub caps: Caps,
    /// DEVICE_ATTRIBUTES implementation id.
    pub impl_id: u32,
    /// Supported feature bitmap (`1 << feature id`).
    pub supported_features: u32,
    /// Capability bits.
    pub capabilities: DeviceCaps,
    /// MAC address.
    pub mac: [u8; 6],
    /// Largest MTU.
    pub max_mtu: u32,
    /// MTU in force until SET_FEATURE MTU.
    pub default_mtu: u32,
    /// Max queues of each kind (TX SQ, TX CQ, RX SQ, RX CQ).
    pub max_queues: u32,
    /// Max TX SQ/CQ depth.
    pub max_tx_depth: u32,
    /// Max RX SQ/CQ depth.
    pub max_rx_depth: u32,
    /// Max TX header size (host placement).
    pub max_tx_header: u32,
    /// Max descriptors per TX packet (meta included).
    pub max_tx_descs: u16,
    /// Max descriptors per RX packet.
    pub max_rx_descs: u16,
    /// MSI-X vectors the function has (vector 0 = management).
    pub msix_vectors: u16,
    /// LLQ offer (used only when `bar2_size` > 0 and feature LLQ supported).
    pub llq: LlqSupport,
    /// RSS indirection table log2 sizes (min, max); the table starts at max.
    pub rss_table_log2: (u16, u16),
    /// Hash functions supported (`1 << id`).
    pub rss_functions: u32,
    /// RSS hash-input fields supported per protocol slot (all slots).
    pub rss_fields_supported: RssFields,
    /// TX offloads.
    pub tx_offloads: TxOffloadBits,
    /// RX offloads supported (and enabled).
    pub rx_offloads: RxOffloadBits,
    /// Interrupt delay resolution in µs.
    pub intr_delay_resolution: u16,
    /// HW hints reported by GET_FEATURE HW_HINTS.
    pub hints: HwHints,
    /// Link speed in Mbit/s.
    pub link_speed_mbps: u32,
    /// Supported link-speed bitmap.
    pub link_speeds: u32,
    /// LINK_CONFIG flags.
    pub link_flags: u32,
    /// AENQ groups the device can report.
    pub aenq_groups: u32,
    /// Keep-alive period.
    pub keep_alive_interval_us: u64,
    /// Delay between DEV_CTL reset and RESET_IN_PROGRESS becoming visible.
    pub reset_assert_delay_us: u64,
    /// Delay between DEV_CTL = 0 and RESET_IN_PROGRESS clearing.
    pub reset_complete_delay_us: u64,
    /// Frames that may wait per RX queue for buffers before being dropped.
    pub rx_backlog_limit: usize,
    /// Flow-steering table entries (DEVICE_ATTRIBUTES, FLOW_STEERING feature).
    pub flow_steering_entries: u16,
    /// PHC expire / block timeouts in µs (GET PHC_CONFIG).
    pub phc_timeouts_us: (u32, u32),
    /// Benchmark mode: skip per-access strict checks and ledger bookkeeping.
    pub zero_latency: bool,
}

/// Features a default model supports (bitmap of `1 << id`): everything the
/// Linux driver needs for bring-up, RSS, MTU and moderation; LLQ when the
/// model has a BAR2. Optional extras (PHC, flow steering, HW timestamps,
/// frag bypass, extra properties) are left for tests to switch on.
pub fn default_features(llq: bool) -> u32 {
    use FeatureId::*;
    let base = [
        DeviceAttributes,
        MaxQueuesNum,
        HwHints,
        MaxQueuesExt,
        RssHashFunction,
        StatelessOffloadConfig,
        RssIndirectionTableConfig,
        Mtu,
        RssHashInput,
        InterruptModeration,
        AenqConfig,
        LinkConfig,
        HostAttrConfig,
    ];
    let mut bits = base.iter().fold(0u32, |m, f| m | f.bit());
    if llq {
        bits |= Llq.bit();
    }
    bits
}

/// Every feature id the model implements.
pub fn all_features(llq: bool) -> u32 {
    use FeatureId::*;
    let extra = [
        ExtraPropertiesStrings,
        ExtraPropertiesFlags,
        FragBypass,
        PhcConfig,
        FlowSteeringConfig,
        HwTimestamp,
    ];
    extra.iter().fold(default_features(llq), |m, f| m | f.bit())
}

impl Default for EnaModelConfig {
    fn default() -> Self {
        EnaModelConfig {
            device_id: DEVICE_ID_ENA_VF,
            revision: 0,
            bar0_size: 16 * 1024,
            bar2_size: 1024 * 1024,
            version: Version::new(0, 10),
            controller_version: ControllerVersion::new(0, 0, 1, 1),
            caps: Caps::new(false, 10, 48, 0),
            impl_id: 1,
            supported_features: default_features(true),
            capabilities: DeviceCaps::ENI_STATS
                | DeviceCaps::CUSTOMER_METRICS
                | DeviceCaps::EXTENDED_RESET_REASONS
                | DeviceCaps::CDESC_MBZ,
            mac: [0x02, 0x00, 0x5E, 0x00, 0x00, 0x01],
            max_mtu: 9216,
            default_mtu: 1500,
            max_queues: 8,
            max_tx_depth: 1024,
            max_rx_depth: 8192,
            max_tx_header: 256,
            max_tx_descs: 19,
            max_rx_descs: 19,
            msix_vectors: 9,
            llq: LlqSupport::default(),
            rss_table_log2: (7, 7),
            rss_functions: (1 << RSS_HASH_FUNCTION_TOEPLITZ) | (1 << RSS_HASH_FUNCTION_CRC32),
            rss_fields_supported: RssFields::all(),
            tx_offloads: TxOffloadBits::L3_CSUM_IPV4
                | TxOffloadBits::L4_IPV4_CSUM_PART
                | TxOffloadBits::L4_IPV4_CSUM_FULL
                | TxOffloadBits::L4_IPV6_CSUM_PART
                | TxOffloadBits::L4_IPV6_CSUM_FULL
                | TxOffloadBits::TSO_IPV4
                | TxOffloadBits::TSO_IPV6,
            rx_offloads: RxOffloadBits::all(),
            intr_delay_resolution: 1,
            hints: HwHints::default(),
            link_speed_mbps: 100_000,
            link_speeds: link_speed::G10 | link_speed::G25 | link_speed::G100,
            link_flags: LINK_FLAG_AUTONEG | LINK_FLAG_FULL_DUPLEX,
            aenq_groups: 0xFF,
            keep_alive_interval_us: 1_000_000,
            reset_assert_delay_us: 10,
            reset_complete_delay_us: 100,
            rx_backlog_limit: 4096,
            flow_steering_entries: 0,
            phc_timeouts_us: (10, 1000),
            zero_latency: false,
        }
    }
}

impl EnaModelConfig {
    /// Readless MMIO reads disabled (PCI revision bit 0).
    pub fn readless_disabled(&self) -> bool {
        cloudnic_ena::defs::pci::readless_disabled(self.revision)
    }
    /// True if feature `id` is in the supported bitmap.
    pub fn supports(&self, id: FeatureId) -> bool {
        self.supported_features & id.bit() != 0
    }
    /// LLQ is offered: BAR2 present and the feature supported.
    pub fn llq_offered(&self) -> bool {
        self.bar2_size > 0 && self.supports(FeatureId::Llq)
    }
    /// Same configuration without BAR2 (host placement only).
    pub fn without_llq(mut self) -> Self {
        self.bar2_size = 0;
        self.supported_features &= !FeatureId::Llq.bit();
        self
    }
    /// PCI identity.
    pub fn pci_identity(&self) -> PciIdentity {
        let mut bar_sizes = [0u64; 6];
        bar_sizes[0] = self.bar0_size;
        bar_sizes[2] = self.bar2_size;
        PciIdentity {
            vendor_id: cloudnic_ena::defs::pci::VENDOR_ID_AMAZON,
            device_id: self.device_id,
            revision: self.revision,
            bar_sizes,
        }
    }
}
