//! [`ManaModelConfig`]: the identity, BAR0 layout, limits and capabilities a
//! [`super::ManaModel`] advertises. Defaults follow the fact sheet (mana.md):
//! an Azure VF (1414:00ba) with the VF register map at BAR0 offset 0, the SMC
//! window right after it, doorbell pages of 4 KiB from 0x1000, an HWC of
//! depth 1 with 4 KiB messages, one vPort with 16 queue pairs, a 64-entry
//! indirection table and a 9014-byte adapter MTU (Azure's 9000 + 14).
//!
//! The HWC and the MANA device get different doorbell pages, memory keys and
//! protection domains on purpose: a driver that mixes them up is caught.

use cloudnic_mana::defs::gdma::PfCapFlags1;
use cloudnic_mana::defs::regs::{PCI_DEVICE_ID_PF, PCI_DEVICE_ID_VF};
use cloudnic_mana::PCI_VENDOR_MICROSOFT;

pub use crate::pci::PciIdentity;

/// One vPort (an Azure vNIC): its MAC and limits (QUERY_VPORT_CONFIG, mana.md §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VportConfig {
    /// MAC address.
    pub mac: [u8; 6],
    /// Max SQs.
    pub max_sq: u32,
    /// Max RQs.
    pub max_rq: u32,
    /// Indirection table entries reported (power of two ≤ 512, mana.md §6.5).
    pub indirection_entries: u32,
}

impl VportConfig {
    /// A vPort with `mac` and the default limits (16 queues, 64 entries).
    pub fn new(mac: [u8; 6]) -> Self {
        VportConfig {
            mac,
            max_sq: 16,
            max_rq: 16,
            indirection_entries: 64,
        }
    }
}

/// BAR0 register layout of the function (mana.md §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelLayout {
    /// VF map at 0x00–0x27; the SMC window at `smc_offset`.
    Vf {
        /// SMC window offset from BAR0.
        smc_offset: u64,
    },
    /// PF map: doorbell info at 0xC8/0xD0, SR-IOV base at 0x108, the SMC
    /// offset (relative to the SR-IOV base) at SR-IOV base + 0x70.
    Pf {
        /// SR-IOV configuration base (8-byte aligned).
        sriov_base: u64,
        /// SMC window offset relative to the SR-IOV base.
        smc_rel: u64,
    },
}

/// Device identity, limits and capabilities.
#[derive(Clone, Debug)]
pub struct ManaModelConfig {
    /// PCI device id (VF 0x00BA, PF 0x00B9).
    pub device_id: u16,
    /// PCI revision.
    pub revision: u8,
    /// BAR0 size in bytes.
    pub bar0_size: u64,
    /// Register map layout.
    pub layout: ModelLayout,
    /// Version published at offset 0: (major, minor, micro).
    pub version: (u8, u8, u16),
    /// Doorbell-page zone offset from BAR0.
    pub db_page_offset: u64,
    /// Doorbell page size in bytes.
    pub db_page_size: u32,
    /// Doorbell page of the HWC (HWC_INIT_EQ_ID_DB).
    pub hwc_db_page: u16,
    /// Doorbell page of the MANA device (REGISTER_DEVICE `db_id`).
    pub mana_db_page: u32,
    /// MSI-X vectors of the function.
    pub msix_vectors: u16,
    /// HWC queue depth reported in init data (Linux uses 1 whatever it is).
    pub hwc_queue_depth: u32,
    /// Max HWC request bytes.
    pub hwc_max_request: u32,
    /// Max HWC response bytes.
    pub hwc_max_response: u32,
    /// HWC protection domain and memory key (init data 8, 9).
    pub hwc_pdid: u32,
    /// HWC memory key.
    pub hwc_gpa_mkey: u32,
    /// MANA protection domain (REGISTER_DEVICE).
    pub mana_pdid: u32,
    /// MANA memory key for data-path SGEs (REGISTER_DEVICE).
    pub mana_gpa_mkey: u32,
    /// Instance of the MANA device in LIST_DEVICES (type 2).
    pub mana_dev_instance: u16,
    /// Put a zero "hole" entry before the MANA device in LIST_DEVICES (cap bit 11).
    pub list_devices_hole: bool,
    /// PF capability flags of VERIFY_VF_DRIVER_VERSION.
    pub pf_cap_flags: PfCapFlags1,
    /// Timeout answered to QUERY_HWC_TIMEOUT, ms.
    pub hwc_timeout_ms: u32,
    /// QUERY_MAX_RESOURCES: SQs, RQs, CQs (also the CQ id space), EQs, doorbells, MSI-X.
    pub max_sq: u32,
    /// Max RQs.
    pub max_rq: u32,
    /// Max CQs (CQ ids are below this: init data MAX_NUM_CQS).
    pub max_cq: u32,
    /// Max EQs.
    pub max_eq: u32,
    /// Max doorbell pages.
    pub max_db: u32,
    /// QUERY_DEV_CONFIG PF capability word 1.
    pub dev_cap_flags: u64,
    /// QUERY_DEV_CONFIG max EQs.
    pub max_num_eqs: u32,
    /// L2 frame limit (QUERY_DEV_CONFIG V2+).
    pub adapter_mtu: u16,
    /// Link speed in Mbit/s (QUERY_DEV_CONFIG, QUERY_LINK_CONFIG).
    pub link_speed_mbps: u32,
    /// Highest QUERY_DEV_CONFIG response version the device speaks (1–3).
    pub dev_config_version: u16,
    /// vPorts behind the function.
    pub vports: Vec<VportConfig>,
    /// TX vPort offset of vPort 0; vPort `i` gets `base + i` (CONFIG_VPORT_TX).
    pub tx_vport_offset_base: u16,
    /// CONFIG_VPORT_TX `short_form_allowed`.
    pub short_form_allowed: bool,
    /// CQE coalescing timeout answered to CONFIG_VPORT_RX V2 (ns).
    pub coalescing_timeout_ns: u32,
    /// Strip 802.1Q tags on receive into the RX OOB (mana.md §6.8). On by
    /// default, as on the real device: the protocol has no command to turn
    /// stripping off (CONFIG_VPORT_RX carries no VLAN field, §6.3) and Linux
    /// `mana` always runs with CTAG RX. Off only to model a device that
    /// passes tags through, for tests of the driver's untagged path.
    pub rx_vlan_strip: bool,
    /// Drop TX frames whose source MAC is not the vPort's (TX_SA_DROP).
    pub enforce_tx_source_mac: bool,
    /// Deliver only frames to the vPort MAC, broadcast or multicast.
    pub filter_rx_dst_mac: bool,
    /// Frames that may wait per RQ for receive WQEs before being dropped
    /// (0 = drop at once, as hardware counts `hc_rx_discards_no_wqe`).
    pub rx_backlog_limit: usize,
    /// New CQs and EQs start armed (OpenVMM emulator behaviour; Linux arms
    /// them itself anyway).
    pub queues_start_armed: bool,
    /// Delay before an SMC message is answered (0 = at once).
    pub smc_delay_us: u64,
    /// Benchmark mode: no ledger bookkeeping.
    pub zero_latency: bool,
}

impl Default for ManaModelConfig {
    fn default() -> Self {
        ManaModelConfig {
            device_id: PCI_DEVICE_ID_VF,
            revision: 0,
            bar0_size: 32 * 1024,
            layout: ModelLayout::Vf { smc_offset: 0x28 },
            version: (1, 0, 1),
            db_page_offset: 0x1000,
            db_page_size: 0x1000,
            hwc_db_page: 0,
            mana_db_page: 1,
            msix_vectors: 65,
            hwc_queue_depth: 1,
            hwc_max_request: 0x1000,
            hwc_max_response: 0x1000,
            hwc_pdid: 1,
            hwc_gpa_mkey: 0x0101,
            mana_pdid: 0x10,
            mana_gpa_mkey: 0x0202,
            mana_dev_instance: 1,
            list_devices_hole: false,
            pf_cap_flags: PfCapFlags1::QUERY_HWC_TIMEOUT,
            hwc_timeout_ms: 30_000,
            max_sq: 64,
            max_rq: 64,
            max_cq: 256,
            max_eq: 64,
            max_db: 7,
            dev_cap_flags: 0,
            max_num_eqs: 64,
            adapter_mtu: 9014,
            link_speed_mbps: 200_000,
            dev_config_version: 3,
            vports: vec![VportConfig::new([0x00, 0x0D, 0x3A, 0x00, 0x00, 0x01])],
            tx_vport_offset_base: 0,
            short_form_allowed: true,
            coalescing_timeout_ns: 2048,
            rx_vlan_strip: true,
            enforce_tx_source_mac: false,
            filter_rx_dst_mac: false,
            rx_backlog_limit: 4096,
            queues_start_armed: true,
            smc_delay_us: 0,
            zero_latency: false,
        }
    }
}

impl ManaModelConfig {
    /// The bare-metal PF (1414:00b9) with the PF register layout.
    pub fn pf() -> Self {
        ManaModelConfig {
            device_id: PCI_DEVICE_ID_PF,
            layout: ModelLayout::Pf {
                sriov_base: 0x200,
                smc_rel: 0x100,
            },
            ..Self::default()
        }
    }
    /// Same, with `n` vPorts whose MACs differ in the last byte.
    pub fn with_vports(mut self, n: usize) -> Self {
        let base = self
            .vports
            .first()
            .copied()
            .unwrap_or(VportConfig::new([0x00, 0x0D, 0x3A, 0, 0, 1]));
        self.vports = (0..n)
            .map(|i| {
                let mut v = base;
                v.mac[5] = base.mac[5].wrapping_add(i as u8);
                v
            })
            .collect();
        self
    }
    /// Same, with every vPort's MAC's last byte replaced by `last`, `last+1`, ….
    pub fn with_mac_suffix(mut self, last: u8) -> Self {
        for (i, v) in self.vports.iter_mut().enumerate() {
            v.mac[5] = last.wrapping_add(i as u8);
        }
        self
    }
    /// Absolute BAR0 offset of the SMC window.
    pub fn smc_offset(&self) -> u64 {
        match self.layout {
            ModelLayout::Vf { smc_offset } => smc_offset,
            ModelLayout::Pf {
                sriov_base,
                smc_rel,
            } => sriov_base + smc_rel,
        }
    }
    /// Number of doorbell pages that fit in BAR0.
    pub fn db_pages(&self) -> u32 {
        let zone = self.bar0_size.saturating_sub(self.db_page_offset);
        u32::try_from(zone / u64::from(self.db_page_size.max(1))).unwrap_or(u32::MAX)
    }
    /// PCI identity (BAR0 only: MSI-X is delivered through the interrupt target).
    pub fn pci_identity(&self) -> PciIdentity {
        let mut bar_sizes = [0u64; 6];
        bar_sizes[0] = self.bar0_size;
        PciIdentity {
            vendor_id: PCI_VENDOR_MICROSOFT,
            device_id: self.device_id,
            revision: self.revision,
            bar_sizes,
        }
    }
}
