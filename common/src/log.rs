//! Logging macros over [`crate::Platform::log`]; no formatting happens unless
//! the platform prints the line.

/// `cn_log!(platform, level, "fmt", args...)`
#[macro_export]
macro_rules! cn_log {
    ($plat:expr, $lvl:expr, $($arg:tt)+) => {
        $crate::platform::Platform::log($plat, $lvl, format_args!($($arg)+))
    };
}
/// Error-level line.
#[macro_export]
macro_rules! cn_err { ($plat:expr, $($arg:tt)+) => { $crate::cn_log!($plat, $crate::LogLevel::Error, $($arg)+) }; }
/// Warning-level line.
#[macro_export]
macro_rules! cn_warn { ($plat:expr, $($arg:tt)+) => { $crate::cn_log!($plat, $crate::LogLevel::Warn, $($arg)+) }; }
/// Info-level line.
#[macro_export]
macro_rules! cn_info { ($plat:expr, $($arg:tt)+) => { $crate::cn_log!($plat, $crate::LogLevel::Info, $($arg)+) }; }
/// Debug-level line.
#[macro_export]
macro_rules! cn_dbg { ($plat:expr, $($arg:tt)+) => { $crate::cn_log!($plat, $crate::LogLevel::Debug, $($arg)+) }; }
