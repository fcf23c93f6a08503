//! Fault injection: [`ManaFault`], applied at once
//! ([`super::ManaModel::inject`]) or at a virtual time
//! ([`super::ManaModel::inject_at`]). Counted faults fire on the next `count`
//! matching events, then retire; [`FOREVER`] keeps one armed until
//! [`super::ManaModel::clear_fault`]. Allocation failures on the driver side
//! are the host platform's to inject (`HostPlatform::fail_dma_allocation`).

use crate::fault_script::spend;
pub use crate::fault_script::FOREVER;

/// Which HWC requests a fault matches: a request code (GDMA `1..`, MANA
/// Ethernet `0x2xxxx`, mana.md §3.6, §6.2) or any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwcFilter {
    /// Only this request code, or any.
    pub code: Option<u32>,
}

impl HwcFilter {
    /// Every request.
    pub const ANY: HwcFilter = HwcFilter { code: None };
    /// Requests with `code`.
    pub const fn code(code: u32) -> Self {
        HwcFilter { code: Some(code) }
    }
    fn matches(&self, code: u32) -> bool {
        self.code.is_none_or(|c| c == code)
    }
}

/// How a response is corrupted (the driver must refuse it, never match it
/// to another request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwcCorruption {
    /// Activity id differs from the request's.
    WrongActivityId,
    /// `hwc_msg_id` names another slot.
    WrongMsgId,
    /// Response type (`msg_type`) differs from the request code.
    WrongMsgType,
    /// The completion claims more bytes than the receive buffer holds.
    Oversize,
}

/// How a data-path CQE is corrupted (mana.md §4.3, §6.6–§6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CqeMalformation {
    /// `wq_num` names another work queue.
    BadWqNumber,
    /// RX: packet length above the receive buffer.
    BadLength,
    /// Owner count neither the expected nor the previous pass (looks like an
    /// overflow to the driver).
    WrongOwner,
    /// CQE type the driver does not know (63).
    UnknownType,
    /// TX: one extra TX_OKAY CQE for a packet never posted.
    Spurious,
}

/// Which completions a data-path fault matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CqeTarget {
    /// Any data-path completion.
    #[default]
    Any,
    /// TX completions (of one SQ id, or all).
    Tx(Option<u32>),
    /// RX completions (of one RQ id, or all).
    Rx(Option<u32>),
}

impl CqeTarget {
    fn matches(&self, is_sq: bool, wq: u32) -> bool {
        match *self {
            CqeTarget::Any => true,
            CqeTarget::Tx(q) => is_sq && q.is_none_or(|q| q == wq),
            CqeTarget::Rx(q) => !is_sq && q.is_none_or(|q| q == wq),
        }
    }
}

/// How CREATE_DMA_REGION / DMA_REGION_ADD_PAGES fail (mana.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionFailure {
    /// Answer with this (non-zero) status.
    Status(u32),
    /// Answer success with the invalid handle 0.
    ZeroHandle,
    /// Answer success although the request was partial (MORE_ENTRIES expected).
    WrongMoreEntries,
}

/// A fault the model can play.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManaFault {
    /// HWC timeout: matching requests are swallowed (not executed, no
    /// response); the driver's wait times out.
    HwcNoResponse {
        /// Which requests.
        filter: HwcFilter,
        /// How many.
        count: u32,
    },
    /// Matching requests are executed but their response is lost.
    HwcDropResponse {
        /// Which requests.
        filter: HwcFilter,
        /// How many.
        count: u32,
    },
    /// Matching responses arrive `delay_us` late (virtual time).
    HwcDelayResponse {
        /// Which requests.
        filter: HwcFilter,
        /// Delay.
        delay_us: u64,
        /// How many.
        count: u32,
    },
    /// Matching responses are delivered twice (into two receive buffers).
    HwcDuplicateResponse {
        /// Which requests.
        filter: HwcFilter,
        /// How many.
        count: u32,
    },
    /// Matching requests are answered with `status` without being executed.
    HwcStatus {
        /// Which requests.
        filter: HwcFilter,
        /// GDMA status (mana.md §3.4; any value).
        status: u32,
        /// How many.
        count: u32,
    },
    /// Matching responses are corrupted.
    HwcCorruptResponse {
        /// Which requests.
        filter: HwcFilter,
        /// What to break.
        kind: HwcCorruption,
        /// How many.
        count: u32,
    },
    /// CREATE_DMA_REGION (and ADD_PAGES) fail.
    DmaRegionFailure {
        /// How.
        kind: RegionFailure,
        /// How many requests.
        count: u32,
    },
    /// The SMC window stays owned by the device (the driver's poll times out).
    SmcNoResponse {
        /// How many messages.
        count: u32,
    },
    /// SMC messages are answered with a non-zero status.
    SmcStatus {
        /// Status byte.
        status: u8,
        /// How many messages.
        count: u32,
    },
    /// Swallow MSI-X messages (the EQ believes it fired and stays disarmed).
    LostInterrupts {
        /// Vector, or any.
        vector: Option<u16>,
        /// How many.
        count: u32,
    },
    /// Corrupt data-path completions.
    MalformedCqe {
        /// Which completions.
        target: CqeTarget,
        /// What to break.
        kind: CqeMalformation,
        /// How many.
        count: u32,
    },
    /// Transmit but hold TX CQEs back (one SQ id or all) until cleared;
    /// clearing writes them.
    TxCompletionsWithheld {
        /// SQ id, or all.
        sq: Option<u32>,
    },
    /// EQE 132 HWC_FPGA_RECONFIG on the HWC EQ.
    FpgaReconfig,
    /// EQE 135 HWC_RESET_REQUEST on the HWC EQ with this details word.
    ResetRequest {
        /// `details[0]` (OpenVMM: bit 0 = revoke the VTL0 VF).
        data: u32,
    },
    /// Link down: EQE 133 type 3, TX frames dropped, RX not delivered.
    LinkDown,
    /// Link up: EQE 133 type 2.
    LinkUp,
    /// EQE 133 type 1: a new HWC timeout in ms.
    HwcTimeoutReconfig {
        /// Milliseconds (24 bits).
        ms: u32,
    },
    /// Any event on the HWC EQ.
    Eqe {
        /// EQE type (mana.md §4.4).
        event_type: u8,
        /// `details`.
        details: [u32; 3],
    },
}

/// What to do with one HWC request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HwcAction {
    NoResponse,
    Drop,
    Delay(u64),
    Duplicate,
    Status(u32),
    Corrupt(HwcCorruption),
}

/// Armed faults and the script of future ones.
pub(crate) type FaultState = crate::fault_script::FaultScript<ManaFault>;

impl FaultState {
    pub(crate) fn hwc(&mut self, code: u32) -> Option<HwcAction> {
        self.fire(|f| match f {
            ManaFault::HwcNoResponse { filter, count } if filter.matches(code) => {
                Some((HwcAction::NoResponse, spend(count)))
            }
            ManaFault::HwcDropResponse { filter, count } if filter.matches(code) => {
                Some((HwcAction::Drop, spend(count)))
            }
            ManaFault::HwcDelayResponse {
                filter,
                delay_us,
                count,
            } if filter.matches(code) => Some((HwcAction::Delay(*delay_us), spend(count))),
            ManaFault::HwcDuplicateResponse { filter, count } if filter.matches(code) => {
                Some((HwcAction::Duplicate, spend(count)))
            }
            ManaFault::HwcStatus {
                filter,
                status,
                count,
            } if filter.matches(code) => Some((HwcAction::Status(*status), spend(count))),
            ManaFault::HwcCorruptResponse {
                filter,
                kind,
                count,
            } if filter.matches(code) => Some((HwcAction::Corrupt(*kind), spend(count))),
            _ => None,
        })
    }

    pub(crate) fn region_failure(&mut self) -> Option<RegionFailure> {
        self.fire(|f| match f {
            ManaFault::DmaRegionFailure { kind, count } => Some((*kind, spend(count))),
            _ => None,
        })
    }

    pub(crate) fn smc_no_response(&mut self) -> bool {
        self.fire(|f| match f {
            ManaFault::SmcNoResponse { count } => Some(((), spend(count))),
            _ => None,
        })
        .is_some()
    }

    pub(crate) fn smc_status(&mut self) -> Option<u8> {
        self.fire(|f| match f {
            ManaFault::SmcStatus { status, count } => Some((*status, spend(count))),
            _ => None,
        })
    }

    pub(crate) fn interrupt_lost(&mut self, vector: u16) -> bool {
        self.fire(|f| match f {
            ManaFault::LostInterrupts { vector: v, count } if v.is_none_or(|v| v == vector) => {
                Some(((), spend(count)))
            }
            _ => None,
        })
        .is_some()
    }

    pub(crate) fn malformed_cqe(&mut self, is_sq: bool, wq: u32) -> Option<CqeMalformation> {
        self.fire(|f| match f {
            ManaFault::MalformedCqe {
                target,
                kind,
                count,
            } if target.matches(is_sq, wq) => Some((*kind, spend(count))),
            _ => None,
        })
    }

    pub(crate) fn tx_withheld(&self, sq: u32) -> bool {
        self.active.iter().any(|f| matches!(f, ManaFault::TxCompletionsWithheld { sq: s } if s.is_none_or(|s| s == sq)))
    }
}
