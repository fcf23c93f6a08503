//! LLQ negotiation (ena.md §5.8): pick header location, stride, entry size
//! and descriptors-before-header from what the device supports, in the
//! documented fallback order, send SET_FEATURE LLQ, and derive the TX ring
//! geometry ([`LlqConfig`], defined by the datapath in `io::llq`). Any
//! mismatch or refusal falls back to host placement; it never fails probe.

use cloudnic_common::{cn_info, cn_warn, Error, Platform, RegisterBar};

use crate::admin::AdminQueue;
use crate::defs::admin::{
    FeatureId, LlqFeature, LLQ_ACCEL_DISABLE_META_CACHING, LLQ_ACCEL_LIMIT_TX_BURST,
    LLQ_DESCS_BEFORE_HEADER_1, LLQ_DESCS_BEFORE_HEADER_2, LLQ_DESCS_BEFORE_HEADER_4,
    LLQ_DESCS_BEFORE_HEADER_8, LLQ_ENTRY_SIZE_128B, LLQ_ENTRY_SIZE_192B, LLQ_ENTRY_SIZE_256B,
    LLQ_FEATURE_VERSION_1, LLQ_HEADER_LOCATION_INLINE, LLQ_STRIDE_MULTIPLE_DESCS_PER_ENTRY,
    LLQ_STRIDE_SINGLE_DESC_PER_ENTRY,
};
use crate::defs::io::{
    LlqAccelFlags, LlqDescsBeforeHeader, LlqEntrySize, LlqHeaderLocation, LlqStride,
};
use crate::features::{pow2_floor, QueueLimits};
use crate::io::llq::LlqConfig;

/// First value of `order` present in the `supported` bitmap.
fn first_supported(supported: u16, order: &[u16]) -> Option<u16> {
    order.iter().copied().find(|v| supported & v != 0)
}

/// The chosen values, in wire encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LlqChoice {
    header: u16,
    stride: u16,
    entry: u16,
    before: u16,
}

fn choose(plat: &impl Platform, caps: &LlqFeature, large_llq: bool) -> Option<LlqChoice> {
    if caps.header_location_ctrl_supported & LLQ_HEADER_LOCATION_INLINE == 0 {
        cn_warn!(
            plat,
            "Invalid header location control, supported: 0x{:x}",
            caps.header_location_ctrl_supported
        );
        return None;
    }
    let stride = first_supported(
        caps.descriptors_stride_ctrl_supported,
        &[
            LLQ_STRIDE_MULTIPLE_DESCS_PER_ENTRY,
            LLQ_STRIDE_SINGLE_DESC_PER_ENTRY,
        ],
    );
    let Some(stride) = stride else {
        cn_warn!(
            plat,
            "Invalid desc_stride_ctrl, supported: 0x{:x}",
            caps.descriptors_stride_ctrl_supported
        );
        return None;
    };
    // Large LLQ: when asked for, or when the device recommends 256-B entries.
    let want_large = large_llq || u16::from(caps.entry_size_recommended) == LLQ_ENTRY_SIZE_256B;
    let preferred = if want_large {
        LLQ_ENTRY_SIZE_256B
    } else {
        LLQ_ENTRY_SIZE_128B
    };
    let entry = first_supported(
        caps.entry_size_ctrl_supported,
        &[
            preferred,
            LLQ_ENTRY_SIZE_128B,
            LLQ_ENTRY_SIZE_192B,
            LLQ_ENTRY_SIZE_256B,
        ],
    );
    let Some(entry) = entry else {
        cn_warn!(
            plat,
            "Invalid entry_size_ctrl, supported: 0x{:x}",
            caps.entry_size_ctrl_supported
        );
        return None;
    };
    let before = first_supported(
        caps.desc_num_before_header_supported,
        &[
            LLQ_DESCS_BEFORE_HEADER_2,
            LLQ_DESCS_BEFORE_HEADER_1,
            LLQ_DESCS_BEFORE_HEADER_4,
            LLQ_DESCS_BEFORE_HEADER_8,
        ],
    );
    let Some(before) = before else {
        cn_warn!(
            plat,
            "Invalid descs_num_before_header, supported: 0x{:x}",
            caps.desc_num_before_header_supported
        );
        return None;
    };
    Some(LlqChoice {
        header: LLQ_HEADER_LOCATION_INLINE,
        stride,
        entry,
        before,
    })
}

/// Negotiate LLQ from the device's GET answer (`None` = feature absent) and
/// narrow `limits` to the LLQ ring limits. Returns `None` for host placement.
pub fn negotiate_llq<P: Platform, R: RegisterBar>(
    plat: &P,
    bar0: &R,
    bar2_present: bool,
    admin: &mut AdminQueue<P>,
    caps: Option<LlqFeature>,
    large_llq: bool,
    limits: &mut QueueLimits,
) -> Result<Option<LlqConfig>, Error> {
    let Some(caps) = caps else {
        cn_info!(plat, "LLQ is not supported Fallback to host mode policy.");
        return Ok(None);
    };
    if !bar2_present {
        cn_info!(
            plat,
            "ENA device does not expose LLQ bar. Fallback to host mode policy."
        );
        return Ok(None);
    }
    let Some(choice) = choose(plat, &caps, large_llq) else {
        cn_warn!(
            plat,
            "Failed to configure the device mode. Fallback to host mode policy."
        );
        return Ok(None);
    };
    let known = LLQ_ACCEL_DISABLE_META_CACHING | LLQ_ACCEL_LIMIT_TX_BURST;
    let cfg = LlqConfig::new(
        LlqHeaderLocation::from_bits_retain(choice.header),
        LlqEntrySize::from_bits_retain(choice.entry),
        LlqDescsBeforeHeader::from_bits_retain(choice.before),
        LlqStride::from_bits_retain(choice.stride),
        LlqAccelFlags::from_bits_retain(caps.accel_flags & known),
        caps.accel_max_tx_burst_size,
    );
    let Ok(cfg) = cfg else {
        cn_warn!(
            plat,
            "Failed to configure the device mode. Fallback to host mode policy."
        );
        return Ok(None);
    };
    let set = LlqFeature {
        header_location_ctrl_enabled: choice.header,
        entry_size_ctrl_enabled: choice.entry,
        desc_num_before_header_enabled: choice.before,
        descriptors_stride_ctrl_enabled: choice.stride,
        feature_version: LLQ_FEATURE_VERSION_1,
        accel_flags: known,
        ..Default::default()
    };
    match admin.set_feature(plat, bar0, FeatureId::Llq, &set) {
        Ok(_) => {}
        Err(e @ (Error::Timeout | Error::ChannelDead)) => return Err(e),
        Err(_) => {
            cn_warn!(
                plat,
                "Failed to configure the device mode. Fallback to host mode policy."
            );
            return Ok(None);
        }
    }
    let mut depth = limits.max_tx_depth.min(pow2_floor(caps.max_llq_depth));
    if choice.entry == LLQ_ENTRY_SIZE_256B {
        let wide = u32::from(caps.max_wide_llq_depth);
        depth = if wide != 0 && wide < depth {
            pow2_floor(wide)
        } else {
            depth / 2
        };
    }
    limits.max_tx_depth = depth;
    limits.max_queues = limits
        .max_queues
        .min(caps.max_llq_num.min(u32::from(u16::MAX)) as u16);
    limits.max_tx_header_size = u32::from(cfg.max_header_size);
    Ok(Some(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::FakePlat;

    #[test]
    fn fallback_order() {
        let plat = FakePlat::default();
        let caps = LlqFeature {
            header_location_ctrl_supported: LLQ_HEADER_LOCATION_INLINE,
            entry_size_ctrl_supported: LLQ_ENTRY_SIZE_192B | LLQ_ENTRY_SIZE_256B,
            desc_num_before_header_supported: LLQ_DESCS_BEFORE_HEADER_1 | LLQ_DESCS_BEFORE_HEADER_4,
            descriptors_stride_ctrl_supported: LLQ_STRIDE_SINGLE_DESC_PER_ENTRY,
            ..Default::default()
        };
        let c = choose(&plat, &caps, false).unwrap();
        assert_eq!(
            (c.entry, c.before, c.stride),
            (LLQ_ENTRY_SIZE_192B, 1, LLQ_STRIDE_SINGLE_DESC_PER_ENTRY)
        );
        let c = choose(&plat, &caps, true).unwrap();
        assert_eq!(c.entry, LLQ_ENTRY_SIZE_256B);
        let bad = LlqFeature {
            header_location_ctrl_supported: 2,
            ..caps
        };
        assert!(choose(&plat, &bad, false).is_none());
    }
}
