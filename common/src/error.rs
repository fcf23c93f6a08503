//! Typed errors. Every fallible operation in the shared crates returns one of
//! these; shims map them to errno / NDIS_STATUS with [`Error::errno`].

use core::fmt;

/// Why a user-supplied configuration value was refused. The device and the
/// previous configuration are left untouched when one of these is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// MTU outside what the device accepts.
    MtuOutOfRange {
        /// Value asked for.
        requested: u32,
        /// Smallest accepted.
        min: u32,
        /// Largest accepted (device attribute).
        max: u32,
    },
    /// Ring sizes must be powers of two (descriptor index masking).
    RingSizeNotPowerOfTwo {
        /// Value asked for.
        requested: u32,
    },
    /// Ring size outside the device's limits.
    RingSizeOutOfRange {
        /// Value asked for.
        requested: u32,
        /// Smallest accepted.
        min: u32,
        /// Largest accepted.
        max: u32,
    },
    /// Queue count zero or above what the device (and interrupts) allow.
    QueueCountOutOfRange {
        /// Value asked for.
        requested: u32,
        /// Largest accepted.
        max: u32,
    },
    /// RSS key of the wrong length.
    RssKeyLength {
        /// Length given.
        given: u32,
        /// Length the device uses.
        expected: u32,
    },
    /// RSS indirection table entry naming a queue that is not open.
    RssTable {
        /// Offending table index.
        index: u32,
        /// Offending value.
        value: u32,
    },
    /// RSS indirection table with the wrong number of entries (the device
    /// takes exactly its own table size).
    RssTableSize {
        /// Entries given.
        given: u32,
        /// Entries the device uses.
        expected: u32,
    },
    /// A moderation interval above the register's range.
    ModerationOutOfRange {
        /// Value asked for, in microseconds.
        requested_us: u32,
        /// Largest accepted, in microseconds.
        max_us: u32,
    },
    /// Operation needs the interface up (or down) and it is not.
    WrongState,
}

/// Errors returned by the shared core and the device crates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Bookkeeping or DMA memory could not be allocated.
    NoMemory,
    /// The device does not offer this feature (ENA: feature bit clear / status 3).
    Unsupported,
    /// A user-supplied value was refused; nothing changed.
    InvalidConfig(ConfigError),
    /// The device did not answer within the timeout.
    Timeout,
    /// The device is not ready (ENA DEV_STS.READY clear) or reports a fatal state.
    DeviceNotReady,
    /// A ring or the command queue is full; retry later.
    NoSpace,
    /// The device answered a command with a non-success status code (ENA's
    /// 8-bit admin status, MANA's 32-bit GDMA status).
    DeviceStatus(u32),
    /// The command channel is dead (timed out or inconsistent): only a reset recovers it.
    ChannelDead,
    /// The device wrote a value that fails validation (counted, reset requested).
    Malformed,
    /// The interface is resetting or down; the request was not accepted.
    NotRunning,
    /// A device-reported version or capability is outside what we support.
    IncompatibleDevice,
}

impl Error {
    /// Linux errno (positive) for this error; NDIS shims map from the same value.
    pub fn errno(&self) -> i32 {
        match self {
            Error::NoMemory => 12,         // ENOMEM
            Error::Unsupported => 95,      // EOPNOTSUPP
            Error::InvalidConfig(_) => 22, // EINVAL
            Error::Timeout => 62,          // ETIME
            Error::DeviceNotReady => 19,   // ENODEV
            Error::NoSpace => 28,          // ENOSPC
            Error::DeviceStatus(1) => 12,
            Error::DeviceStatus(3) => 95,
            Error::DeviceStatus(7) => 11, // EAGAIN
            Error::DeviceStatus(_) => 22,
            Error::ChannelDead => 19,
            Error::Malformed => 5,    // EIO
            Error::NotRunning => 100, // ENETDOWN
            Error::IncompatibleDevice => 19,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::InvalidConfig(e)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::MtuOutOfRange {
                requested,
                min,
                max,
            } => {
                write!(f, "MTU {requested} out of range [{min}, {max}]")
            }
            ConfigError::RingSizeNotPowerOfTwo { requested } => {
                write!(f, "ring size {requested} is not a power of two")
            }
            ConfigError::RingSizeOutOfRange {
                requested,
                min,
                max,
            } => {
                write!(f, "ring size {requested} out of range [{min}, {max}]")
            }
            ConfigError::QueueCountOutOfRange { requested, max } => {
                write!(f, "queue count {requested} out of range [1, {max}]")
            }
            ConfigError::RssKeyLength { given, expected } => {
                write!(f, "RSS key is {given} bytes, device needs {expected}")
            }
            ConfigError::RssTable { index, value } => {
                write!(f, "RSS table entry {index} = {value} is not an open queue")
            }
            ConfigError::RssTableSize { given, expected } => {
                write!(f, "RSS table has {given} entries, device needs {expected}")
            }
            ConfigError::ModerationOutOfRange {
                requested_us,
                max_us,
            } => {
                write!(
                    f,
                    "moderation interval {requested_us} us above maximum {max_us} us"
                )
            }
            ConfigError::WrongState => {
                write!(f, "operation not allowed in the current interface state")
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoMemory => write!(f, "out of memory"),
            Error::Unsupported => write!(f, "not supported by the device"),
            Error::InvalidConfig(c) => write!(f, "invalid configuration: {c}"),
            Error::Timeout => write!(f, "device timed out"),
            Error::DeviceNotReady => write!(f, "device not ready"),
            Error::NoSpace => write!(f, "no space in queue"),
            Error::DeviceStatus(s) => write!(f, "device returned status {s}"),
            Error::ChannelDead => write!(f, "command channel dead, reset required"),
            Error::Malformed => write!(f, "device wrote a malformed value"),
            Error::NotRunning => write!(f, "interface not running"),
            Error::IncompatibleDevice => write!(f, "incompatible device version or capabilities"),
        }
    }
}
