//! cloudnic-ena: AWS Elastic Network Adapter.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
