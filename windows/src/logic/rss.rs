//! RSS translation between NDIS and the shared core.
//!
//! NDIS sets RSS with `OID_GEN_RECEIVE_SCALE_PARAMETERS`: a hash function
//! and hash types, a 40-byte Toeplitz key, and an indirection table whose
//! entries are CPUs (revision 2: `PROCESSOR_NUMBER`s; revision 1: CPU
//! numbers relative to `BaseCpuNumber`). The device's table holds queue
//! indexes. The miniport owns the CPU→queue mapping: the distinct CPUs in
//! the table, in (group, number) order, are spread over the open queues
//! round-robin, and the NDIS table is repeated to fill the device's table.
//!
//! On receive, the hash a packet carries is reported to NDIS only if its
//! type is one NDIS enabled (NDIS forbids indicating other hash types).

use core::mem::offset_of;

use cloudnic_common::nic::{L3Proto, L4Proto, RssHashType, RxPacket};

use super::bytes::{read_u16, read_u32};
use super::oid::OidError;
use crate::ndis::objects::{
    NDIS_RECEIVE_SCALE_PARAMETERS, NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1,
};
use crate::ndis::oid::*;
use crate::ndis::PROCESSOR_NUMBER;

/// Hash types this miniport offers (the device hashes the 2-tuple for IP and
/// the 4-tuple for TCP; NDIS 6.30 has no UDP hash types).
pub const SUPPORTED_HASH_TYPES: u32 =
    NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6;

/// A validated RSS parameters request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RssRequest<'a> {
    /// `NDIS_RSS_PARAM_FLAG_DISABLE_RSS`: send everything to queue 0.
    pub disable: bool,
    /// New enabled hash types, if changed.
    pub hash_types: Option<u32>,
    /// New key, if changed.
    pub key: Option<&'a [u8]>,
    /// New indirection table, if changed.
    pub table: Option<CpuTable<'a>>,
}

/// The NDIS indirection table, as CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuTable<'a> {
    /// Revision 1: one byte per entry, CPU = base + value.
    Relative {
        /// Base CPU.
        base: u16,
        /// Entries.
        entries: &'a [u8],
    },
    /// Revision 2: 4-byte `PROCESSOR_NUMBER` entries.
    Processors(&'a [u8]),
}

impl CpuTable<'_> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            CpuTable::Relative { entries, .. } => entries.len(),
            CpuTable::Processors(b) => b.len() / 4,
        }
    }

    /// True if the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i` as a processor.
    pub fn get(&self, i: usize) -> Option<PROCESSOR_NUMBER> {
        match self {
            CpuTable::Relative { base, entries } => {
                let n = u16::from(*entries.get(i)?).checked_add(*base)?;
                Some(PROCESSOR_NUMBER {
                    Group: n / 64,
                    Number: (n % 64) as u8,
                    Reserved: 0,
                })
            }
            CpuTable::Processors(b) => {
                let e = b.get(i * 4..i * 4 + 4)?;
                Some(PROCESSOR_NUMBER {
                    Group: u16::from_le_bytes([e[0], e[1]]),
                    Number: e[2],
                    Reserved: 0,
                })
            }
        }
    }
}

/// Parse and validate an `NDIS_RECEIVE_SCALE_PARAMETERS` buffer. Key and
/// table must lie inside `buf`; the key must be `key_len` bytes; the table
/// must have 1..=128 entries, a power of two.
pub fn parse_parameters(buf: &[u8], key_len: usize) -> Result<RssRequest<'_>, OidError> {
    let min = NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1;
    if buf.len() < min {
        return Err(OidError::TooShort { needed: min as u32 });
    }
    type P = NDIS_RECEIVE_SCALE_PARAMETERS;
    let revision = buf[1];
    let flags = read_u16(buf, offset_of!(P, Flags)).ok_or(OidError::InvalidData)?;
    let base = read_u16(buf, offset_of!(P, BaseCpuNumber)).ok_or(OidError::InvalidData)?;
    let hash_info = read_u32(buf, offset_of!(P, HashInformation)).ok_or(OidError::InvalidData)?;
    let table_size =
        read_u16(buf, offset_of!(P, IndirectionTableSize)).ok_or(OidError::InvalidData)?;
    let table_off =
        read_u32(buf, offset_of!(P, IndirectionTableOffset)).ok_or(OidError::InvalidData)?;
    let key_size = read_u16(buf, offset_of!(P, HashSecretKeySize)).ok_or(OidError::InvalidData)?;
    let key_off = read_u32(buf, offset_of!(P, HashSecretKeyOffset)).ok_or(OidError::InvalidData)?;

    let disable = flags & NDIS_RSS_PARAM_FLAG_DISABLE_RSS != 0;
    let hash_types = if flags & NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED != 0 || disable {
        None
    } else {
        Some(validate_hash_info(hash_info)?)
    };
    let key = if flags & NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED != 0 || disable {
        None
    } else {
        let k = slice(buf, key_off, u32::from(key_size))?;
        if k.len() != key_len {
            return Err(OidError::InvalidData);
        }
        Some(k)
    };
    let table = if flags & NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED != 0 || disable {
        None
    } else {
        let t = slice(buf, table_off, u32::from(table_size))?;
        let table = if revision <= NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1 {
            CpuTable::Relative { base, entries: t }
        } else {
            if t.len() % 4 != 0 {
                return Err(OidError::InvalidData);
            }
            CpuTable::Processors(t)
        };
        let n = table.len();
        if n == 0 || n > NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES || !n.is_power_of_two() {
            return Err(OidError::InvalidData);
        }
        Some(table)
    };
    Ok(RssRequest {
        disable,
        hash_types,
        key,
        table,
    })
}

fn slice(buf: &[u8], off: u32, len: u32) -> Result<&[u8], OidError> {
    let start = usize::try_from(off).map_err(|_| OidError::InvalidData)?;
    let end = start
        .checked_add(len as usize)
        .ok_or(OidError::InvalidData)?;
    buf.get(start..end).ok_or(OidError::InvalidData)
}

/// Check `HashInformation`: Toeplitz, and only hash types we offer. Returns
/// the enabled types. No types at all is allowed (RSS on, hashing off).
pub fn validate_hash_info(info: u32) -> Result<u32, OidError> {
    let function = info & NDIS_HASH_FUNCTION_MASK;
    let types = info & NDIS_HASH_TYPE_MASK;
    if info & !(NDIS_HASH_FUNCTION_MASK | NDIS_HASH_TYPE_MASK) != 0
        || types & !SUPPORTED_HASH_TYPES != 0
    {
        return Err(OidError::InvalidData);
    }
    if types != 0 && function != NDIS_HASH_FUNCTION_TOEPLITZ {
        return Err(OidError::InvalidData);
    }
    Ok(types)
}

/// Fill the device indirection table `out` from the NDIS CPU table:
/// distinct CPUs in (group, number) order map to queues 0, 1, ... modulo
/// `num_queues`; the NDIS table repeats across `out`. Returns the number of
/// distinct CPUs (the RSS processor set).
pub fn cpu_table_to_queues(
    table: &CpuTable<'_>,
    num_queues: u16,
    out: &mut [u16],
) -> Result<usize, OidError> {
    let n = table.len();
    if n == 0 || num_queues == 0 {
        return Err(OidError::InvalidData);
    }
    // Distinct CPUs, sorted, without allocation: the table has at most 128
    // entries, so a fixed array suffices.
    let mut cpus = [PROCESSOR_NUMBER::default(); NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES];
    let mut count = 0usize;
    for i in 0..n {
        let p = table.get(i).ok_or(OidError::InvalidData)?;
        match cpus[..count].binary_search(&p) {
            Ok(_) => {}
            Err(pos) => {
                if count == cpus.len() {
                    return Err(OidError::InvalidData);
                }
                cpus.copy_within(pos..count, pos + 1);
                cpus[pos] = p;
                count += 1;
            }
        }
    }
    for (i, slot) in out.iter_mut().enumerate() {
        let p = table.get(i % n).ok_or(OidError::InvalidData)?;
        let rank = cpus[..count]
            .binary_search(&p)
            .map_err(|_| OidError::InvalidData)?;
        *slot = (rank % usize::from(num_queues)) as u16;
    }
    Ok(count)
}

/// Hash value and `NetBufferListHashInfo` word (type | Toeplitz) to
/// indicate with a received packet, if its hash type is enabled.
pub fn rx_hash_info(pkt: &RxPacket<'_>, enabled_types: u32) -> Option<(u32, u32)> {
    let ty = match (pkt.hash_type, pkt.l3, pkt.l4) {
        (RssHashType::L4, L3Proto::Ipv4, L4Proto::Tcp) => NDIS_HASH_TCP_IPV4,
        (RssHashType::L4, L3Proto::Ipv6, L4Proto::Tcp) => NDIS_HASH_TCP_IPV6,
        (RssHashType::L3, L3Proto::Ipv4, _) => NDIS_HASH_IPV4,
        (RssHashType::L3, L3Proto::Ipv6, _) => NDIS_HASH_IPV6,
        _ => return None,
    };
    (enabled_types & ty != 0).then_some((pkt.hash, ty | NDIS_HASH_FUNCTION_TOEPLITZ))
}

/// `NDIS_RSS_CAPS_*` flags for the RSS capabilities structure.
pub const fn capability_flags() -> u32 {
    NDIS_RSS_CAPS_MESSAGE_SIGNALED_INTERRUPTS
        | NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC
        | NDIS_RSS_CAPS_USING_MSI_X
        | NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4
        | NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6
        | NDIS_HASH_FUNCTION_TOEPLITZ
}

#[cfg(test)]
#[path = "rss_tests.rs"]
mod tests;
