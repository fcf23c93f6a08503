//! `NDIS_STATUS` codes, status-indication codes and event-log codes used by
//! the miniport (ndis.h "status codes returned by drivers"; the `STATUS_*`
//! values they alias come from ntstatus.h).
//!
//! Values are written as `u32` bit patterns and cast, since NDIS_STATUS is
//! a signed int whose error codes have the top bit set.

use super::NDIS_STATUS;

const fn st(v: u32) -> NDIS_STATUS {
    v as NDIS_STATUS
}

/// `STATUS_SUCCESS`.
pub const NDIS_STATUS_SUCCESS: NDIS_STATUS = 0;
/// `STATUS_PENDING`: the call completes later through a `NdisM*Complete`.
pub const NDIS_STATUS_PENDING: NDIS_STATUS = st(0x0000_0103);
/// `STATUS_UNSUCCESSFUL`.
pub const NDIS_STATUS_FAILURE: NDIS_STATUS = st(0xC000_0001);
/// `STATUS_INSUFFICIENT_RESOURCES`.
pub const NDIS_STATUS_RESOURCES: NDIS_STATUS = st(0xC000_009A);
/// `STATUS_NOT_SUPPORTED`.
pub const NDIS_STATUS_NOT_SUPPORTED: NDIS_STATUS = st(0xC000_00BB);
/// `STATUS_INVALID_PARAMETER`.
pub const NDIS_STATUS_INVALID_PARAMETER: NDIS_STATUS = st(0xC000_000D);
/// `STATUS_INVALID_DEVICE_STATE`.
pub const NDIS_STATUS_INVALID_STATE: NDIS_STATUS = st(0xC000_0184);
/// Adapter hardware failed.
pub const NDIS_STATUS_DEVICE_FAILED: NDIS_STATUS = st(0xC001_0008);
/// The multicast list is full.
pub const NDIS_STATUS_MULTICAST_FULL: NDIS_STATUS = st(0xC001_0009);
/// A reset is in progress.
pub const NDIS_STATUS_RESET_IN_PROGRESS: NDIS_STATUS = st(0xC001_000D);
/// Hardware resources (BARs, interrupts) missing or unusable.
pub const NDIS_STATUS_RESOURCE_CONFLICT: NDIS_STATUS = st(0xC001_001E);
/// Malformed packet.
pub const NDIS_STATUS_INVALID_PACKET: NDIS_STATUS = st(0xC001_000F);
/// The adapter is not ready.
pub const NDIS_STATUS_ADAPTER_NOT_READY: NDIS_STATUS = st(0xC001_0011);
/// Wrong information buffer length.
pub const NDIS_STATUS_INVALID_LENGTH: NDIS_STATUS = st(0xC001_0014);
/// Bad information buffer contents.
pub const NDIS_STATUS_INVALID_DATA: NDIS_STATUS = st(0xC001_0015);
/// Information buffer too small (BytesNeeded says how much).
pub const NDIS_STATUS_BUFFER_TOO_SHORT: NDIS_STATUS = st(0xC001_0016);
/// OID not recognised.
pub const NDIS_STATUS_INVALID_OID: NDIS_STATUS = st(0xC001_0017);
/// Send aborted (`STATUS_NDIS_REQUEST_ABORTED`).
pub const NDIS_STATUS_SEND_ABORTED: NDIS_STATUS = st(0xC023_000C);
/// The miniport is paused (`STATUS_NDIS_PAUSED`).
pub const NDIS_STATUS_PAUSED: NDIS_STATUS = st(0xC023_002A);
/// Media disconnected (`STATUS_NDIS_MEDIA_DISCONNECTED`).
pub const NDIS_STATUS_MEDIA_DISCONNECTED: NDIS_STATUS = st(0xC023_001F);
/// Structure revision not supported (`STATUS_NDIS_UNSUPPORTED_REVISION`).
pub const NDIS_STATUS_UNSUPPORTED_REVISION: NDIS_STATUS = st(0xC023_002C);

/// Status indication: link state changed; buffer is an `NDIS_LINK_STATE`.
pub const NDIS_STATUS_LINK_STATE: NDIS_STATUS = st(0x4001_0017);
/// Status indication: the current task-offload configuration changed;
/// buffer is an `NDIS_OFFLOAD` (required after OID_TCP_OFFLOAD_PARAMETERS).
pub const NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG: NDIS_STATUS = st(0x4002_0006);

/// Event-log code `EVENT_NDIS_UNSUPPORTED_CONFIGURATION` (netevent.h), used
/// as `NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION` for refused keywords.
pub const NDIS_ERROR_CODE_UNSUPPORTED_CONFIGURATION: u32 = 0xC000_1391;
/// `EVENT_NDIS_HARDWARE_FAILURE`: the device failed bring-up.
pub const NDIS_ERROR_CODE_HARDWARE_FAILURE: u32 = 0xC000_138A;
/// `EVENT_NDIS_OUT_OF_RESOURCE`.
pub const NDIS_ERROR_CODE_OUT_OF_RESOURCES: u32 = 0xC000_1389;
/// `EVENT_NDIS_RESOURCE_CONFLICT`: BARs or interrupts missing or unusable.
pub const NDIS_ERROR_CODE_RESOURCE_CONFLICT: u32 = 0xC000_1388;

/// NDIS status for a shared-core error (mapped through its errno class so
/// Linux and Windows agree on what kind of failure it was).
pub fn from_core_error(e: cloudnic_common::Error) -> NDIS_STATUS {
    use cloudnic_common::Error as E;
    match e {
        E::NoMemory => NDIS_STATUS_RESOURCES,
        E::Unsupported => NDIS_STATUS_NOT_SUPPORTED,
        E::InvalidConfig(_) => NDIS_STATUS_INVALID_PARAMETER,
        E::NoSpace => NDIS_STATUS_RESOURCES,
        E::NotRunning => NDIS_STATUS_RESET_IN_PROGRESS,
        E::Timeout
        | E::DeviceNotReady
        | E::DeviceStatus(_)
        | E::ChannelDead
        | E::Malformed
        | E::IncompatibleDevice => NDIS_STATUS_DEVICE_FAILED,
    }
}

/// True for success codes (`NT_SUCCESS`: the sign bit clear).
pub const fn is_success(s: NDIS_STATUS) -> bool {
    s >= 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudnic_common::{ConfigError, Error};

    #[test]
    fn error_mapping_and_sign() {
        assert!(!is_success(NDIS_STATUS_FAILURE));
        assert!(is_success(NDIS_STATUS_PENDING));
        assert!(is_success(NDIS_STATUS_LINK_STATE));
        assert_eq!(from_core_error(Error::NoMemory), NDIS_STATUS_RESOURCES);
        assert_eq!(
            from_core_error(Error::InvalidConfig(ConfigError::WrongState)),
            NDIS_STATUS_INVALID_PARAMETER
        );
        assert_eq!(from_core_error(Error::Timeout), NDIS_STATUS_DEVICE_FAILED);
    }
}
