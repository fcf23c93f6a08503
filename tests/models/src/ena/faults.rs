//! Fault injection: [`EnaFault`], applied at once ([`super::EnaModel::inject`])
//! or at a virtual time ([`super::EnaModel::inject_at`]). Counted faults fire
//! on the next `count` matching events, then retire; [`FOREVER`] keeps one
//! armed until [`super::EnaModel::clear_fault`]. Allocation failures are the
//! host platform's to inject (`HostPlatform::fail_dma_allocation`), not the
//! device's.

use crate::fault_script::spend;
pub use crate::fault_script::FOREVER;

/// Which admin commands a fault matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdminFilter {
    /// Only this opcode (ena.md §3.5), or any.
    pub opcode: Option<u8>,
    /// Only GET/SET_FEATURE of this feature id, or any.
    pub feature: Option<u8>,
}

impl AdminFilter {
    /// Every command.
    pub const ANY: AdminFilter = AdminFilter {
        opcode: None,
        feature: None,
    };
    /// Commands with `opcode`.
    pub const fn opcode(opcode: u8) -> Self {
        AdminFilter {
            opcode: Some(opcode),
            feature: None,
        }
    }
    /// GET/SET_FEATURE (`opcode` 8 or 9) of `feature`.
    pub const fn feature(opcode: u8, feature: u8) -> Self {
        AdminFilter {
            opcode: Some(opcode),
            feature: Some(feature),
        }
    }
    fn matches(&self, opcode: u8, feature: Option<u8>) -> bool {
        self.opcode.is_none_or(|o| o == opcode) && self.feature.is_none_or(|f| Some(f) == feature)
    }
}

/// How an RX completion is corrupted (ena.md §5.6 checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxMalformation {
    /// The packet is spread over one buffer more than the device's
    /// per-packet limit (driver: TOO_MANY_RX_DESCS).
    TooManyDescs,
    /// The completion's length exceeds the buffer's length.
    LengthBeyondBuffer,
    /// A must-be-zero status bit is set (driver, with CDESC_MBZ: RX_DESCRIPTOR_MALFORMED).
    MbzSet,
    /// `first` set on a completion that is not the packet's first
    /// (the packet is split over two buffers to make room for it).
    FirstOnNonFirst,
}

/// A fault the model can play.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnaFault {
    /// Stop sending keep-alive events (until cleared).
    KeepAliveLoss,
    /// Execute matching admin commands but never write their completion.
    AdminDrop {
        /// Which commands.
        filter: AdminFilter,
        /// How many.
        count: u32,
    },
    /// Write matching completions `delay_us` later (virtual time).
    AdminDelay {
        /// Which commands.
        filter: AdminFilter,
        /// Delay.
        delay_us: u64,
        /// How many.
        count: u32,
    },
    /// Answer matching commands with `status` without executing them.
    AdminStatus {
        /// Which commands.
        filter: AdminFilter,
        /// Status byte (ena.md §3.5; any value, also undefined ones).
        status: u8,
        /// How many.
        count: u32,
    },
    /// Ignore readless MMIO read requests (the driver sees a timeout); with
    /// readless disabled by the PCI revision, direct BAR0 loads read all-ones.
    ReadlessNoResponse {
        /// How many.
        count: u32,
    },
    /// Transmit but hold TX completions back (one SQ or all) until cleared;
    /// clearing writes them.
    TxCompletionsWithheld {
        /// Device SQ index, or all.
        sq: Option<u16>,
    },
    /// Write TX completions with a request id that names no in-flight packet.
    BadTxReqId {
        /// Device SQ index, or all.
        sq: Option<u16>,
        /// The id to write (default: the queue depth, out of range).
        req_id: Option<u16>,
        /// How many.
        count: u32,
    },
    /// Set must-be-zero bits in TX completions.
    TxCdescMbz {
        /// Device SQ index, or all.
        sq: Option<u16>,
        /// How many.
        count: u32,
    },
    /// Write RX completions with an out-of-range request id.
    BadRxReqId {
        /// Device SQ index, or all.
        sq: Option<u16>,
        /// How many.
        count: u32,
    },
    /// Corrupt the completions of the next received packets.
    RxMalformed {
        /// Device SQ index, or all.
        sq: Option<u16>,
        /// What to break.
        kind: RxMalformation,
        /// How many packets.
        count: u32,
    },
    /// Set DEV_STS.FATAL_ERROR (cleared by the next device reset).
    Fatal,
    /// Link goes down: LINK_CHANGE event, TX dropped, RX not delivered.
    LinkDown,
    /// Link comes back: LINK_CHANGE event.
    LinkUp,
    /// Swallow MSI-X messages (the device believes they were delivered, so
    /// the vector stays auto-masked).
    LostInterrupts {
        /// Vector, or any.
        vector: Option<u16>,
        /// How many.
        count: u32,
    },
    /// AENQ DEVICE_REQUEST_RESET event (group 7).
    DeviceRequestReset,
    /// Any other AENQ event (FATAL_ERROR, WARNING, REFRESH_CAPABILITIES,
    /// CONF_NOTIFICATIONS, NOTIFICATION with hints...).
    AenqEvent {
        /// Group (ena.md §4).
        group: u16,
        /// Syndrome.
        syndrome: u16,
        /// Payload (≤ 48 bytes).
        payload: Vec<u8>,
    },
    /// Refuse a feature: GET/SET answered "unsupported opcode"; with
    /// `hide`, also removed from DEVICE_ATTRIBUTES.supported_features.
    FeatureRefused {
        /// Feature id.
        feature: u8,
        /// Remove from the supported bitmap too.
        hide: bool,
    },
}

/// What to do with one admin command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AdminAction {
    Drop,
    Delay(u64),
    Status(u8),
}

/// Armed faults and the script of future ones.
pub(crate) type FaultState = crate::fault_script::FaultScript<EnaFault>;

impl FaultState {
    pub(crate) fn admin(&mut self, opcode: u8, feature: Option<u8>) -> Option<AdminAction> {
        self.fire(|f| match f {
            EnaFault::AdminDrop { filter, count } if filter.matches(opcode, feature) => {
                Some((AdminAction::Drop, spend(count)))
            }
            EnaFault::AdminDelay {
                filter,
                delay_us,
                count,
            } if filter.matches(opcode, feature) => {
                Some((AdminAction::Delay(*delay_us), spend(count)))
            }
            EnaFault::AdminStatus {
                filter,
                status,
                count,
            } if filter.matches(opcode, feature) => {
                Some((AdminAction::Status(*status), spend(count)))
            }
            _ => None,
        })
    }

    pub(crate) fn keep_alive_lost(&self) -> bool {
        self.active
            .iter()
            .any(|f| matches!(f, EnaFault::KeepAliveLoss))
    }

    pub(crate) fn readless_dropped(&mut self) -> bool {
        self.fire(|f| match f {
            EnaFault::ReadlessNoResponse { count } => Some(((), spend(count))),
            _ => None,
        })
        .is_some()
    }

    pub(crate) fn tx_withheld(&self, sq: u16) -> bool {
        self.active.iter().any(
            |f| matches!(f, EnaFault::TxCompletionsWithheld { sq: s } if s.is_none_or(|s| s == sq)),
        )
    }

    pub(crate) fn bad_tx_req_id(&mut self, sq: u16, depth: u16) -> Option<u16> {
        self.fire(|f| match f {
            EnaFault::BadTxReqId {
                sq: s,
                req_id,
                count,
            } if s.is_none_or(|s| s == sq) => Some((req_id.unwrap_or(depth), spend(count))),
            _ => None,
        })
    }

    pub(crate) fn tx_mbz(&mut self, sq: u16) -> bool {
        self.fire(|f| match f {
            EnaFault::TxCdescMbz { sq: s, count } if s.is_none_or(|s| s == sq) => {
                Some(((), spend(count)))
            }
            _ => None,
        })
        .is_some()
    }

    pub(crate) fn bad_rx_req_id(&mut self, sq: u16) -> bool {
        self.fire(|f| match f {
            EnaFault::BadRxReqId { sq: s, count } if s.is_none_or(|s| s == sq) => {
                Some(((), spend(count)))
            }
            _ => None,
        })
        .is_some()
    }

    /// The malformation armed for `sq`, without consuming it (the RX path
    /// consumes it with [`FaultState::rx_malformed_spent`] once applied).
    pub(crate) fn rx_malformed(&self, sq: u16) -> Option<RxMalformation> {
        self.active.iter().find_map(|f| match f {
            EnaFault::RxMalformed { sq: s, kind, .. } if s.is_none_or(|s| s == sq) => Some(*kind),
            _ => None,
        })
    }

    pub(crate) fn rx_malformed_spent(&mut self, sq: u16) {
        self.fire(|f| match f {
            EnaFault::RxMalformed { sq: s, count, .. } if s.is_none_or(|s| s == sq) => {
                Some(((), spend(count)))
            }
            _ => None,
        });
    }

    pub(crate) fn interrupt_lost(&mut self, vector: u16) -> bool {
        self.fire(|f| match f {
            EnaFault::LostInterrupts { vector: v, count } if v.is_none_or(|v| v == vector) => {
                Some(((), spend(count)))
            }
            _ => None,
        })
        .is_some()
    }

    pub(crate) fn fatal(&self) -> bool {
        self.active.iter().any(|f| matches!(f, EnaFault::Fatal))
    }

    pub(crate) fn feature_refused(&self, id: u8) -> bool {
        self.active
            .iter()
            .any(|f| matches!(f, EnaFault::FeatureRefused { feature, .. } if *feature == id))
    }

    /// Feature bits hidden from DEVICE_ATTRIBUTES.
    pub(crate) fn hidden_features(&self) -> u32 {
        self.active.iter().fold(0, |m, f| match f {
            EnaFault::FeatureRefused {
                feature,
                hide: true,
            } if *feature < 32 => m | (1u32 << feature),
            _ => m,
        })
    }
}
