//! Admin opcodes, completion status codes, feature ids and device
//! capability bits (ena.md §3.5).

/// Admin opcodes (ena.md §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminOpcode {
    /// Create an IO submission queue.
    CreateSq = 1,
    /// Destroy an IO submission queue.
    DestroySq = 2,
    /// Create an IO completion queue.
    CreateCq = 3,
    /// Destroy an IO completion queue.
    DestroyCq = 4,
    /// Read a feature.
    GetFeature = 8,
    /// Write a feature.
    SetFeature = 9,
    /// Read statistics.
    GetStats = 11,
}

impl AdminOpcode {
    /// Decode a wire opcode.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => AdminOpcode::CreateSq,
            2 => AdminOpcode::DestroySq,
            3 => AdminOpcode::CreateCq,
            4 => AdminOpcode::DestroyCq,
            8 => AdminOpcode::GetFeature,
            9 => AdminOpcode::SetFeature,
            11 => AdminOpcode::GetStats,
            _ => return None,
        })
    }
}

/// ACQ completion status codes (ena.md §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminStatus {
    /// Success.
    Success = 0,
    /// Resource allocation failure (→ ENOMEM).
    ResourceAllocationFailure = 1,
    /// Bad opcode (→ EINVAL).
    BadOpcode = 2,
    /// Unsupported opcode (→ EOPNOTSUPP).
    UnsupportedOpcode = 3,
    /// Malformed request (→ EINVAL).
    MalformedRequest = 4,
    /// Illegal parameter; detail in extended_status (→ EINVAL).
    IllegalParameter = 5,
    /// Unknown error (→ EINVAL).
    UnknownError = 6,
    /// Resource busy (→ EAGAIN).
    ResourceBusy = 7,
}

impl AdminStatus {
    /// Decode a wire status; unknown values are `None` (treated as errors).
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => AdminStatus::Success,
            1 => AdminStatus::ResourceAllocationFailure,
            2 => AdminStatus::BadOpcode,
            3 => AdminStatus::UnsupportedOpcode,
            4 => AdminStatus::MalformedRequest,
            5 => AdminStatus::IllegalParameter,
            6 => AdminStatus::UnknownError,
            7 => AdminStatus::ResourceBusy,
            _ => return None,
        })
    }
}

/// GET/SET_FEATURE feature ids (ena.md §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FeatureId {
    /// Device attributes (always allowed).
    DeviceAttributes = 1,
    /// Legacy queue limits.
    MaxQueuesNum = 2,
    /// Timeout hints.
    HwHints = 3,
    /// Low-latency queue negotiation.
    Llq = 4,
    /// Extra property strings.
    ExtraPropertiesStrings = 5,
    /// Extra property flags.
    ExtraPropertiesFlags = 6,
    /// Per-direction queue limits.
    MaxQueuesExt = 7,
    /// Fragment bypass.
    FragBypass = 8,
    /// RSS hash function and key.
    RssHashFunction = 10,
    /// Stateless offloads.
    StatelessOffloadConfig = 11,
    /// RSS indirection table.
    RssIndirectionTableConfig = 12,
    /// MTU.
    Mtu = 14,
    /// RSS hash input fields.
    RssHashInput = 18,
    /// Interrupt moderation.
    InterruptModeration = 20,
    /// AENQ groups.
    AenqConfig = 26,
    /// Link configuration.
    LinkConfig = 27,
    /// Host attributes (host-info page).
    HostAttrConfig = 28,
    /// PTP hardware clock.
    PhcConfig = 29,
    /// Flow steering rules.
    FlowSteeringConfig = 30,
    /// Hardware timestamping.
    HwTimestamp = 31,
}

/// Bound on feature ids (`FEATURES_OPCODE_NUM`, ena.md §3.5).
pub const FEATURES_OPCODE_NUM: u8 = 32;

impl FeatureId {
    /// Decode a wire feature id.
    pub const fn from_u8(v: u8) -> Option<Self> {
        use FeatureId::*;
        Some(match v {
            1 => DeviceAttributes,
            2 => MaxQueuesNum,
            3 => HwHints,
            4 => Llq,
            5 => ExtraPropertiesStrings,
            6 => ExtraPropertiesFlags,
            7 => MaxQueuesExt,
            8 => FragBypass,
            10 => RssHashFunction,
            11 => StatelessOffloadConfig,
            12 => RssIndirectionTableConfig,
            14 => Mtu,
            18 => RssHashInput,
            20 => InterruptModeration,
            26 => AenqConfig,
            27 => LinkConfig,
            28 => HostAttrConfig,
            29 => PhcConfig,
            30 => FlowSteeringConfig,
            31 => HwTimestamp,
            _ => return None,
        })
    }
    /// Wire id.
    pub const fn id(self) -> u8 {
        self as u8
    }
    /// Bit in DEVICE_ATTRIBUTES.supported_features (`1 << id`, ena.md §3.5).
    pub const fn bit(self) -> u32 {
        1u32 << (self as u8)
    }
    /// Feature version the driver sends (its maximum, ena.md §3.5).
    pub const fn driver_version(self) -> u8 {
        match self {
            FeatureId::Llq | FeatureId::MaxQueuesExt | FeatureId::HwTimestamp => 1,
            _ => 0,
        }
    }
}

bitflags::bitflags! {
    /// DEVICE_ATTRIBUTES.capabilities bits (ena.md §3.5).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct DeviceCaps: u32 {
        /// ENI allowance statistics (GET_STATS type 2).
        const ENI_STATS = 1 << 0;
        /// ENA SRD information (GET_STATS type 3).
        const ENA_SRD_INFO = 1 << 1;
        /// Customer metrics (GET_STATS type 4).
        const CUSTOMER_METRICS = 1 << 2;
        /// Reset reasons ≥ 16 are understood (DEV_CTL 27:24).
        const EXTENDED_RESET_REASONS = 1 << 3;
        /// Device guarantees MBZ bits in completions are zero.
        const CDESC_MBZ = 1 << 4;
        /// Unknown capability bits are kept.
        const _ = !0;
    }
}
