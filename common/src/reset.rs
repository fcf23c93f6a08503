//! Reset reasons shared by every device. Numbering follows ENA's
//! `ena_regs_reset_reason_types` (ENA sheet §1.4), which the ENA crate writes
//! to DEV_CTL unchanged; MANA maps its own triggers onto the same set.

/// Why the driver resets the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ResetReason {
    /// Probe/restore-time reset, or device asked to refresh capabilities.
    Normal = 0,
    /// No keep-alive event within the keep-alive timeout.
    KeepAliveTimeout = 1,
    /// Admin/command queue left the running state.
    AdminTimeout = 2,
    /// Too many TX packets without completion past the timeout.
    MissingTxCompletion = 3,
    /// RX completion with an invalid request id.
    InvalidRxReqId = 4,
    /// TX completion with an invalid request id.
    InvalidTxReqId = 5,
    /// RX packet spans more descriptors than allowed.
    TooManyRxDescs = 6,
    /// Initialisation failed after interrupts were set up.
    InitError = 7,
    /// Driver found its own state inconsistent (e.g. restore failed).
    DriverInvalidState = 8,
    /// Reset asked by the OS (FreeBSD only in ENA's drivers).
    OsTrigger = 9,
    /// The OS TX watchdog fired.
    OsNetdevWatchdog = 10,
    /// Device removal / system shutdown.
    Shutdown = 11,
    /// Explicitly requested by the user.
    UserTrigger = 12,
    /// Catch-all for devices without extended reasons.
    Generic = 13,
    /// Completions present but no interrupt seen.
    MissingInterrupt = 14,
    /// Poll scheduled but not running for too long.
    SuspectedPollStarvation = 15,
    /// RX completion with must-be-zero bits set or a bad `first` bit.
    RxDescriptorMalformed = 16,
    /// TX completion with must-be-zero bits set.
    TxDescriptorMalformed = 17,
    /// Admin completion (or keep-alive) present but the management interrupt missing.
    MissingAdminInterrupt = 18,
    /// The device asked for a reset (ENA AENQ DEVICE_REQUEST_RESET, MANA EQE 135).
    DeviceRequest = 19,
    /// A queue never received its first interrupt.
    MissingFirstInterrupt = 20,
}

impl ResetReason {
    /// Wire code (ENA DEV_CTL reset reason).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`ResetReason::code`]; unknown codes become `Generic`.
    pub const fn from_code(code: u8) -> Self {
        use ResetReason::*;
        match code {
            0 => Normal,
            1 => KeepAliveTimeout,
            2 => AdminTimeout,
            3 => MissingTxCompletion,
            4 => InvalidRxReqId,
            5 => InvalidTxReqId,
            6 => TooManyRxDescs,
            7 => InitError,
            8 => DriverInvalidState,
            9 => OsTrigger,
            10 => OsNetdevWatchdog,
            11 => Shutdown,
            12 => UserTrigger,
            14 => MissingInterrupt,
            15 => SuspectedPollStarvation,
            16 => RxDescriptorMalformed,
            17 => TxDescriptorMalformed,
            18 => MissingAdminInterrupt,
            19 => DeviceRequest,
            20 => MissingFirstInterrupt,
            _ => Generic,
        }
    }

    /// Global `ethtool -S` counter bumped when a reset has this reason
    /// (ENA sheet §7), if any.
    pub const fn counter_name(self) -> Option<&'static str> {
        use ResetReason::*;
        Some(match self {
            KeepAliveTimeout => "wd_expired",
            AdminTimeout => "admin_to",
            MissingTxCompletion => "missing_tx_cmpl",
            InvalidRxReqId => "bad_rx_req_id",
            InvalidTxReqId => "bad_tx_req_id",
            TooManyRxDescs => "bad_rx_desc_num",
            DriverInvalidState => "invalid_state",
            OsNetdevWatchdog => "os_netdev_wd",
            MissingInterrupt => "missing_intr",
            SuspectedPollStarvation => "suspected_poll_starvation",
            RxDescriptorMalformed => "rx_desc_malformed",
            TxDescriptorMalformed => "tx_desc_malformed",
            MissingAdminInterrupt => "missing_admin_interrupt",
            DeviceRequest => "device_request_reset",
            MissingFirstInterrupt => "missing_first_intr",
            _ => return None,
        })
    }
}
