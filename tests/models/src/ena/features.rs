//! GET_FEATURE / SET_FEATURE (ena.md §3.5–§3.7): every feature the Linux
//! driver uses, gated by the supported bitmap (DEVICE_ATTRIBUTES is always
//! allowed) and by the feature-refusal fault.

use cloudnic_ena::defs::admin::{
    rss_proto, AdminStatus, AenqConfig, DeviceAttributes, ExtraPropertiesFlags,
    ExtraPropertiesStrings, FeatureId, FlowSteeringResp, FlowSteeringRule, FlowSteeringSet,
    FragBypass, GetFeatureCmd, HostAttrConfig, HwTimestamp, IntrModeration, LinkConfig, LlqFeature,
    MaxQueuesExt, MaxQueuesNum, MtuFeature, PhcConfig, RssFields, RssHashControl, RssHashFunction,
    RssHashInput, RssHashKeyBuffer, RssIndEntry, RssIndTable, RssProtoInput, SetFeatureCmd,
    StatelessOffload, FLOW_STEERING_ADD, FLOW_STEERING_LOCATION_ANY, FLOW_STEERING_REMOVE,
    FLOW_STEERING_REMOVE_ALL, LLQ_FEATURE_VERSION_1, MAX_QUEUES_EXT_VERSION,
    RSS_HASH_FUNCTION_MASK, RSS_HASH_FUNCTION_TOEPLITZ, RSS_HASH_INIT_VALUE,
    RSS_IND_INLINE_INDEX_NONE, RSS_INPUT_L3_SORT, RSS_INPUT_L4_SORT, RSS_KEY_PARTS, RSS_KEY_SIZE,
};
use cloudnic_ena::defs::host_info::{HostInfo, HOST_INFO_PAGE_SIZE};
use cloudnic_ena::defs::io::{
    LlqAccelFlags, LlqDescsBeforeHeader, LlqEntrySize, LlqHeaderLocation, LlqStride,
};
use cloudnic_ena::defs::regs::offset::PHC_DB;
use zerocopy::{FromZeros, IntoBytes};

use super::admin::{parse_buf, AdminReply};
use super::config::EnaModelConfig;
use super::EnaModel;
use crate::mem::GuestMemory;

/// Device default key until SET: the common crate's (Microsoft's published) key.
pub(crate) const DEFAULT_RSS_KEY: [u8; RSS_KEY_SIZE] = cloudnic_common::rss::DEFAULT_RSS_KEY;

/// LLQ parameters the driver enabled (SET_FEATURE LLQ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LlqActive {
    pub(crate) entry_size: u16,
    pub(crate) descs_before_header: u16,
    pub(crate) descs_per_entry: u16,
    pub(crate) disable_meta_caching: bool,
    /// Lines per doorbell; 0 = unlimited.
    pub(crate) burst_entries: u16,
    /// The SET payload as the driver sent it (echoed by GET).
    pub(crate) set: LlqFeature,
}

/// One flow-steering rule (ena.md §3.6 FLOW_STEERING).
#[derive(Clone, Debug)]
pub(crate) struct FlowRule {
    pub(crate) flow_type: u8,
    pub(crate) rx_queue: u16,
    pub(crate) rule: FlowSteeringRule,
}

/// Programmed feature state; reset to defaults by a device reset.
#[derive(Debug)]
pub(crate) struct FeatureState {
    pub(crate) mtu: u32,
    pub(crate) rss_key: [u8; RSS_KEY_SIZE],
    pub(crate) rss_func: u32,
    pub(crate) rss_init: u32,
    pub(crate) rss_table_log2: u16,
    /// Device CQ index per entry; empty = never programmed.
    pub(crate) rss_table: Vec<u16>,
    pub(crate) rss_fields: [u16; rss_proto::NUM],
    pub(crate) rss_sort: u16,
    pub(crate) llq: Option<LlqActive>,
    pub(crate) host_info: Option<HostInfo>,
    pub(crate) host_info_addr: u64,
    pub(crate) debug_area: (u64, u32),
    pub(crate) phc_output: (u64, u32),
    pub(crate) hw_timestamp: (u8, u8),
    pub(crate) frag_bypass: bool,
    pub(crate) flow_rules: Vec<Option<FlowRule>>,
}

fn default_rss_fields() -> [u16; rss_proto::NUM] {
    let l3 = (RssFields::L3_SA | RssFields::L3_DA).bits();
    let l4 = l3 | (RssFields::L4_SP | RssFields::L4_DP).bits();
    let mut f = [0u16; rss_proto::NUM];
    for slot in [
        rss_proto::TCP4,
        rss_proto::UDP4,
        rss_proto::TCP6,
        rss_proto::UDP6,
        rss_proto::TCP6_EX,
    ] {
        f[slot] = l4;
    }
    for slot in [
        rss_proto::IP4,
        rss_proto::IP6,
        rss_proto::IP4_FRAG,
        rss_proto::IP6_EX,
    ] {
        f[slot] = l3;
    }
    f[rss_proto::NOT_IP] = (RssFields::L2_DA | RssFields::L2_SA).bits();
    f
}

impl FeatureState {
    pub(crate) fn new(cfg: &EnaModelConfig) -> Self {
        FeatureState {
            mtu: cfg.default_mtu,
            rss_key: DEFAULT_RSS_KEY,
            rss_func: RSS_HASH_FUNCTION_TOEPLITZ,
            rss_init: RSS_HASH_INIT_VALUE,
            rss_table_log2: cfg.rss_table_log2.1,
            rss_table: Vec::new(),
            rss_fields: default_rss_fields(),
            rss_sort: 0,
            llq: None,
            host_info: None,
            host_info_addr: 0,
            debug_area: (0, 0),
            phc_output: (0, 0),
            hw_timestamp: (0, 0),
            frag_bypass: false,
            flow_rules: vec![None; usize::from(cfg.flow_steering_entries)],
        }
    }
}

/// Exactly one bit of `enabled` set and supported (0 allowed when `zero_ok`).
fn one_of(enabled: u16, supported: u16, zero_ok: bool) -> bool {
    (enabled == 0 && zero_ok) || (enabled.is_power_of_two() && supported & enabled != 0)
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    fn feature_allowed(&self, id: u8) -> bool {
        if !self.faults.idle() && self.faults.feature_refused(id) {
            return false;
        }
        id == FeatureId::DeviceAttributes.id()
            || (id < 32 && self.cfg.supported_features & (1u32 << id) != 0)
    }

    pub(crate) fn get_feature(&mut self, cmd: &GetFeatureCmd) -> AdminReply {
        let id = cmd.feat.feature_id;
        let Some(f) = FeatureId::from_u8(id).filter(|_| self.feature_allowed(id)) else {
            return AdminReply::err(AdminStatus::UnsupportedOpcode);
        };
        let cfg = &self.cfg;
        let ctrl = (cmd.ctrl.address.get(), cmd.ctrl.length as usize);
        match f {
            FeatureId::DeviceAttributes => AdminReply::ok(&DeviceAttributes {
                impl_id: cfg.impl_id,
                device_version: cfg.version.0,
                supported_features: cfg.supported_features & !self.faults.hidden_features(),
                capabilities: cfg.capabilities.bits(),
                phys_addr_width: u32::from(cfg.caps.dma_addr_width()),
                virt_addr_width: 48,
                mac_addr: cfg.mac,
                flow_steering_max_entries: cfg.flow_steering_entries,
                max_mtu: cfg.max_mtu,
            }),
            FeatureId::MaxQueuesNum => AdminReply::ok(&MaxQueuesNum {
                max_sq_num: cfg.max_queues,
                max_sq_depth: cfg.max_tx_depth.min(cfg.max_rx_depth),
                max_cq_num: cfg.max_queues,
                max_cq_depth: cfg.max_tx_depth.min(cfg.max_rx_depth),
                max_legacy_llq_num: 0,
                max_legacy_llq_depth: 0,
                max_header_size: cfg.max_tx_header,
                max_packet_tx_descs: cfg.max_tx_descs,
                max_packet_rx_descs: cfg.max_rx_descs,
            }),
            FeatureId::MaxQueuesExt => AdminReply::ok(&MaxQueuesExt {
                version: MAX_QUEUES_EXT_VERSION,
                reserved: [0; 3],
                max_tx_sq_num: cfg.max_queues,
                max_tx_cq_num: cfg.max_queues,
                max_rx_sq_num: cfg.max_queues,
                max_rx_cq_num: cfg.max_queues,
                max_tx_sq_depth: cfg.max_tx_depth,
                max_tx_cq_depth: cfg.max_tx_depth,
                max_rx_sq_depth: cfg.max_rx_depth,
                max_rx_cq_depth: cfg.max_rx_depth,
                max_tx_header_size: cfg.max_tx_header,
                max_per_packet_tx_descs: cfg.max_tx_descs,
                max_per_packet_rx_descs: cfg.max_rx_descs,
            }),
            FeatureId::HwHints => AdminReply::ok(&cfg.hints),
            FeatureId::Llq => {
                let l = &cfg.llq;
                let en = self.feat.llq;
                AdminReply::ok(&LlqFeature {
                    max_llq_num: l.max_llq_num,
                    max_llq_depth: l.max_llq_depth,
                    header_location_ctrl_supported: l.header_location.bits(),
                    header_location_ctrl_enabled: en
                        .map_or(0, |e| e.set.header_location_ctrl_enabled),
                    entry_size_ctrl_supported: l.entry_size.bits(),
                    entry_size_ctrl_enabled: en.map_or(0, |e| e.set.entry_size_ctrl_enabled),
                    desc_num_before_header_supported: l.descs_before_header.bits(),
                    desc_num_before_header_enabled: en
                        .map_or(0, |e| e.set.desc_num_before_header_enabled),
                    descriptors_stride_ctrl_supported: l.stride.bits(),
                    descriptors_stride_ctrl_enabled: en
                        .map_or(0, |e| e.set.descriptors_stride_ctrl_enabled),
                    feature_version: LLQ_FEATURE_VERSION_1,
                    entry_size_recommended: l.recommended_entry.bits() as u8,
                    max_wide_llq_depth: l.max_wide_llq_depth,
                    accel_flags: l.accel.bits(),
                    accel_max_tx_burst_size: l.max_tx_burst_bytes,
                    accel_reserved: 0,
                })
            }
            FeatureId::ExtraPropertiesStrings => {
                AdminReply::ok(&ExtraPropertiesStrings { count: 0 })
            }
            FeatureId::ExtraPropertiesFlags => AdminReply::ok(&ExtraPropertiesFlags { flags: 0 }),
            FeatureId::StatelessOffloadConfig => AdminReply::ok(&StatelessOffload {
                tx: cfg.tx_offloads.bits(),
                rx_supported: cfg.rx_offloads.bits(),
                rx_enabled: cfg.rx_offloads.bits(),
            }),
            FeatureId::RssHashFunction => {
                let buf = RssHashKeyBuffer {
                    key_parts: RSS_KEY_PARTS,
                    reserved: 0,
                    key: self.feat.rss_key,
                };
                if ctrl.0 != 0 && !self.write_ctrl(ctrl, buf.as_bytes()) {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                }
                AdminReply::ok(&RssHashFunction {
                    supported_func: self.cfg.rss_functions,
                    selected_func: 1 << self.feat.rss_func,
                    init_val: self.feat.rss_init,
                })
            }
            FeatureId::RssIndirectionTableConfig => {
                let (min, max) = self.cfg.rss_table_log2;
                let size = self.feat.rss_table_log2;
                if ctrl.0 != 0 {
                    let table = self.effective_rss_table();
                    let bytes: Vec<u8> = table
                        .iter()
                        .flat_map(|&cq| {
                            RssIndEntry {
                                cq_idx: cq,
                                reserved: 0,
                            }
                            .as_bytes()
                            .to_vec()
                        })
                        .collect();
                    if !self.write_ctrl(ctrl, &bytes) {
                        return AdminReply::err(AdminStatus::MalformedRequest);
                    }
                }
                AdminReply::ok(&RssIndTable {
                    min_size: min,
                    max_size: max,
                    size,
                    flags: 0,
                    reserved: 0,
                    inline_index: RSS_IND_INLINE_INDEX_NONE,
                    inline_entry: RssIndEntry::default(),
                })
            }
            FeatureId::RssHashInput => {
                if ctrl.0 != 0 {
                    let mut c = RssHashControl::new_zeroed();
                    for slot in 0..rss_proto::NUM {
                        c.supported[slot] = RssProtoInput {
                            fields: self.cfg.rss_fields_supported.bits(),
                            reserved: 0,
                        };
                        c.selected[slot] = RssProtoInput {
                            fields: self.feat.rss_fields[slot],
                            reserved: 0,
                        };
                    }
                    if !self.write_ctrl(ctrl, c.as_bytes()) {
                        return AdminReply::err(AdminStatus::MalformedRequest);
                    }
                }
                AdminReply::ok(&RssHashInput {
                    supported_input_sort: RSS_INPUT_L3_SORT | RSS_INPUT_L4_SORT,
                    enabled_input_sort: self.feat.rss_sort,
                })
            }
            FeatureId::Mtu => AdminReply::ok(&MtuFeature { mtu: self.feat.mtu }),
            FeatureId::InterruptModeration => AdminReply::ok(&IntrModeration {
                intr_delay_resolution: cfg.intr_delay_resolution,
                reserved: 0,
            }),
            FeatureId::AenqConfig => AdminReply::ok(&AenqConfig {
                supported_groups: cfg.aenq_groups,
                enabled_groups: self.aenq.enabled_groups,
            }),
            FeatureId::LinkConfig => AdminReply::ok(&LinkConfig {
                speed: if self.link_up { cfg.link_speed_mbps } else { 0 },
                supported: cfg.link_speeds,
                flags: cfg.link_flags,
            }),
            FeatureId::HostAttrConfig => AdminReply::ok(&HostAttrConfig {
                os_info_ba: cloudnic_ena::defs::admin::MemAddr::new(self.feat.host_info_addr),
                debug_ba: cloudnic_ena::defs::admin::MemAddr::new(self.feat.debug_area.0),
                debug_area_size: self.feat.debug_area.1,
            }),
            FeatureId::PhcConfig => AdminReply::ok(&PhcConfig {
                version: 0,
                reserved: [0; 3],
                doorbell_offset: PHC_DB,
                expire_timeout_usec: cfg.phc_timeouts_us.0,
                block_timeout_usec: cfg.phc_timeouts_us.1,
                output_address: cloudnic_ena::defs::admin::MemAddr::new(self.feat.phc_output.0),
                output_length: self.feat.phc_output.1,
            }),
            FeatureId::HwTimestamp => AdminReply::ok(&HwTimestamp {
                version: 1,
                tx: self.feat.hw_timestamp.0,
                rx: self.feat.hw_timestamp.1,
                reserved: 0,
            }),
            FeatureId::FragBypass => AdminReply::ok(&FragBypass {
                enable: u8::from(self.feat.frag_bypass),
                reserved: [0; 3],
            }),
            FeatureId::FlowSteeringConfig => AdminReply::err(AdminStatus::UnsupportedOpcode),
        }
    }

    pub(crate) fn set_feature(&mut self, cmd: &SetFeatureCmd) -> AdminReply {
        let id = cmd.feat.feature_id;
        let Some(f) = FeatureId::from_u8(id).filter(|_| self.feature_allowed(id)) else {
            return AdminReply::err(AdminStatus::UnsupportedOpcode);
        };
        let ctrl = (cmd.ctrl.address.get(), cmd.ctrl.length as usize);
        let Some(reply) = (match f {
            FeatureId::Mtu => cmd.payload_as::<MtuFeature>().map(|m| self.set_mtu(m.mtu)),
            FeatureId::AenqConfig => cmd.payload_as::<AenqConfig>().map(|a| {
                let now = self.now();
                let groups = a.enabled_groups & self.cfg.aenq_groups;
                let before = self.aenq.enabled_groups;
                self.aenq
                    .set_enabled(groups, now, self.cfg.keep_alive_interval_us);
                self.announce_link_if_enabled(before);
                AdminReply::done()
            }),
            FeatureId::HostAttrConfig => cmd
                .payload_as::<HostAttrConfig>()
                .map(|h| self.set_host_attr(&h)),
            FeatureId::Llq => cmd.payload_as::<LlqFeature>().map(|l| self.set_llq(&l)),
            FeatureId::RssHashFunction => cmd
                .payload_as::<RssHashFunction>()
                .map(|r| self.set_rss_function(&r, ctrl)),
            FeatureId::RssIndirectionTableConfig => cmd
                .payload_as::<RssIndTable>()
                .map(|t| self.set_rss_table(&t, ctrl)),
            FeatureId::RssHashInput => cmd
                .payload_as::<RssHashInput>()
                .map(|h| self.set_rss_input(&h, ctrl)),
            FeatureId::PhcConfig => cmd.payload_as::<PhcConfig>().map(|p| {
                self.feat.phc_output = (p.output_address.get(), p.output_length);
                AdminReply::done()
            }),
            FeatureId::HwTimestamp => cmd.payload_as::<HwTimestamp>().map(|t| {
                self.feat.hw_timestamp = (t.tx, t.rx);
                AdminReply::done()
            }),
            FeatureId::FragBypass => cmd.payload_as::<FragBypass>().map(|b| {
                self.feat.frag_bypass = b.enable != 0;
                AdminReply::done()
            }),
            FeatureId::FlowSteeringConfig => cmd
                .payload_as::<FlowSteeringSet>()
                .map(|s| self.set_flow_rule(&s, ctrl)),
            _ => Some(AdminReply::err(AdminStatus::UnsupportedOpcode)),
        }) else {
            return AdminReply::err(AdminStatus::MalformedRequest);
        };
        reply
    }

    fn read_ctrl(&mut self, ctrl: (u64, usize), want: usize) -> Option<Vec<u8>> {
        if ctrl.0 == 0 || ctrl.1 < want {
            return None;
        }
        let mut buf = vec![0u8; want];
        self.dma_read(ctrl.0, &mut buf).then_some(buf)
    }

    fn write_ctrl(&mut self, ctrl: (u64, usize), data: &[u8]) -> bool {
        let n = data.len().min(ctrl.1);
        self.dma_write(ctrl.0, &data[..n])
    }

    fn set_mtu(&mut self, mtu: u32) -> AdminReply {
        if !(68..=self.cfg.max_mtu).contains(&mtu) {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        self.feat.mtu = mtu;
        AdminReply::done()
    }

    fn set_host_attr(&mut self, h: &HostAttrConfig) -> AdminReply {
        let addr = h.os_info_ba.get();
        self.feat.host_info_addr = addr;
        self.feat.debug_area = (h.debug_ba.get(), h.debug_area_size);
        if addr != 0 {
            let mut page = vec![0u8; core::mem::size_of::<HostInfo>().min(HOST_INFO_PAGE_SIZE)];
            if !self.dma_read(addr, &mut page) {
                return AdminReply::err(AdminStatus::MalformedRequest);
            }
            self.feat.host_info = parse_buf::<HostInfo>(&page);
        }
        AdminReply::done()
    }

    fn set_llq(&mut self, l: &LlqFeature) -> AdminReply {
        let s = self.cfg.llq;
        let ok = self.cfg.llq_offered()
            && one_of(
                l.header_location_ctrl_enabled,
                LlqHeaderLocation::INLINE.bits() & s.header_location.bits(),
                false,
            )
            && one_of(l.entry_size_ctrl_enabled, s.entry_size.bits(), false)
            && one_of(
                l.desc_num_before_header_enabled,
                s.descs_before_header.bits(),
                false,
            )
            && one_of(l.descriptors_stride_ctrl_enabled, s.stride.bits(), false);
        if !ok {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let entry_size = LlqEntrySize::from_bits_truncate(l.entry_size_ctrl_enabled)
            .bytes()
            .unwrap_or(128);
        let before = LlqDescsBeforeHeader::from_bits_truncate(l.desc_num_before_header_enabled)
            .count()
            .unwrap_or(0);
        if before * 16 >= entry_size {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let multi = l.descriptors_stride_ctrl_enabled == LlqStride::MULTIPLE_DESCS_PER_ENTRY.bits();
        // Linux always asks for both accel flags; only the offered ones apply.
        let accel = LlqAccelFlags::from_bits_truncate(l.accel_flags) & s.accel;
        let burst_entries = if accel.contains(LlqAccelFlags::LIMIT_TX_BURST) {
            s.max_tx_burst_bytes / entry_size
        } else {
            0
        };
        self.feat.llq = Some(LlqActive {
            entry_size,
            descs_before_header: before,
            descs_per_entry: if multi { entry_size / 16 } else { 1 },
            disable_meta_caching: accel.contains(LlqAccelFlags::DISABLE_META_CACHING),
            burst_entries,
            set: *l,
        });
        AdminReply::done()
    }

    fn set_rss_function(&mut self, r: &RssHashFunction, ctrl: (u64, usize)) -> AdminReply {
        let sel = r.selected_func & RSS_HASH_FUNCTION_MASK;
        if !sel.is_power_of_two() || self.cfg.rss_functions & sel == 0 {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        if ctrl.0 != 0 {
            let Some(buf) = self.read_ctrl(ctrl, core::mem::size_of::<RssHashKeyBuffer>()) else {
                return AdminReply::err(AdminStatus::MalformedRequest);
            };
            let Some(k) = parse_buf::<RssHashKeyBuffer>(&buf) else {
                return AdminReply::err(AdminStatus::MalformedRequest);
            };
            if k.key_parts != RSS_KEY_PARTS {
                return AdminReply::err(AdminStatus::IllegalParameter);
            }
            self.feat.rss_key = k.key;
        }
        self.feat.rss_func = sel.trailing_zeros();
        self.feat.rss_init = r.init_val;
        AdminReply::done()
    }

    fn set_rss_table(&mut self, t: &RssIndTable, ctrl: (u64, usize)) -> AdminReply {
        let (min, max) = self.cfg.rss_table_log2;
        if t.inline_index != RSS_IND_INLINE_INDEX_NONE {
            // Single-entry updates are not offered (flags bit 0 clear).
            return AdminReply::err(AdminStatus::UnsupportedOpcode);
        }
        if t.size < min || t.size > max {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        let n = 1usize << t.size;
        let Some(buf) = self.read_ctrl(ctrl, n * 4) else {
            return AdminReply::err(AdminStatus::MalformedRequest);
        };
        self.feat.rss_table = buf
            .chunks_exact(4)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        self.feat.rss_table_log2 = t.size;
        AdminReply::done()
    }

    fn set_rss_input(&mut self, h: &RssHashInput, ctrl: (u64, usize)) -> AdminReply {
        if h.enabled_input_sort & !(RSS_INPUT_L3_SORT | RSS_INPUT_L4_SORT) != 0 {
            return AdminReply::err(AdminStatus::IllegalParameter);
        }
        if ctrl.0 != 0 {
            let Some(buf) = self.read_ctrl(ctrl, core::mem::size_of::<RssHashControl>()) else {
                return AdminReply::err(AdminStatus::MalformedRequest);
            };
            let Some(c) = parse_buf::<RssHashControl>(&buf) else {
                return AdminReply::err(AdminStatus::MalformedRequest);
            };
            let supported = self.cfg.rss_fields_supported.bits();
            if c.selected.iter().any(|s| s.fields & !supported != 0) {
                return AdminReply::err(AdminStatus::IllegalParameter);
            }
            for (dst, src) in self.feat.rss_fields.iter_mut().zip(c.selected.iter()) {
                *dst = src.fields;
            }
        }
        self.feat.rss_sort = h.enabled_input_sort;
        AdminReply::done()
    }

    fn set_flow_rule(&mut self, s: &FlowSteeringSet, ctrl: (u64, usize)) -> AdminReply {
        let rules = &mut self.feat.flow_rules;
        match s.action {
            FLOW_STEERING_REMOVE_ALL => {
                rules.iter_mut().for_each(|r| *r = None);
                AdminReply::done()
            }
            FLOW_STEERING_REMOVE => match rules.get_mut(usize::from(s.location)) {
                Some(r) => {
                    *r = None;
                    AdminReply::ok(&FlowSteeringResp {
                        location: s.location,
                        reserved: 0,
                    })
                }
                None => AdminReply::err(AdminStatus::IllegalParameter),
            },
            FLOW_STEERING_ADD => {
                let loc = if s.location == FLOW_STEERING_LOCATION_ANY {
                    match rules.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => return AdminReply::err(AdminStatus::ResourceAllocationFailure),
                    }
                } else {
                    usize::from(s.location)
                };
                if loc >= rules.len() {
                    return AdminReply::err(AdminStatus::IllegalParameter);
                }
                let Some(buf) = self.read_ctrl(ctrl, core::mem::size_of::<FlowSteeringRule>())
                else {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                };
                let Some(rule) = parse_buf::<FlowSteeringRule>(&buf) else {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                };
                self.feat.flow_rules[loc] = Some(FlowRule {
                    flow_type: s.flow_type,
                    rx_queue: s.rx_queue,
                    rule,
                });
                AdminReply::ok(&FlowSteeringResp {
                    location: loc as u16,
                    reserved: 0,
                })
            }
            _ => AdminReply::err(AdminStatus::IllegalParameter),
        }
    }

    /// RSS_IND_ENTRY_UPDATE register: one table entry (unused by drivers).
    pub(crate) fn rss_single_entry_update(&mut self, val: u32) {
        let index = (val & 0xFFFF) as usize;
        let cq = (val >> 16) as u16;
        if self.feat.rss_table.is_empty() {
            self.feat.rss_table = self.effective_rss_table();
        }
        if let Some(e) = self.feat.rss_table.get_mut(index) {
            *e = cq;
        }
    }
}
