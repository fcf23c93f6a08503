//! [`DmaHoldings`]: the guest bus addresses an ENA device still holds, i.e.
//! memory it could DMA to or from without the driver asking again.
//!
//! A driver that unloads must leave none: its teardown destroys the IO
//! queues, resets the device (DEV_CTL, ena.md §6.3) — which forgets the admin
//! queue, AENQ, host-info, debug-area and PHC addresses — and clears the
//! readless-MMIO response address (MMIO_RESP_LO/HI) before freeing that page.
//! The e2e's `rmmod` check reads this through `cloudnic-emu`'s `ledger`
//! command; with the buffer ledger's "outstanding" count it says precisely
//! that the device owns nothing of the guest's after unload.

use std::fmt;

use super::queues::Placement;
use super::EnaModel;
use crate::mem::GuestMemory;

/// Guest addresses an [`EnaModel`] holds now (each field: how many).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaHoldings {
    /// Admin SQ and CQ base addresses (0–2).
    pub admin_queues: u32,
    /// AENQ base address (0–1).
    pub aenq: u32,
    /// Readless MMIO response address (0–1).
    pub readless_response: u32,
    /// Host-info page, debug area and PHC output buffer (0–3).
    pub feature_buffers: u32,
    /// IO submission queues in host memory (LLQ queues live in BAR2 and
    /// are counted in `llq_sqs`).
    pub host_sqs: u32,
    /// IO submission queues placed in BAR2 (LLQ).
    pub llq_sqs: u32,
    /// IO completion queues.
    pub cqs: u32,
}

impl DmaHoldings {
    /// Guest addresses held in total (LLQ SQs are device memory, but their
    /// completion queues and the buffers they name are guest memory, so a
    /// live LLQ queue counts as one).
    pub fn total(&self) -> u32 {
        self.admin_queues
            + self.aenq
            + self.readless_response
            + self.feature_buffers
            + self.host_sqs
            + self.llq_sqs
            + self.cqs
    }
}

impl fmt::Display for DmaHoldings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dma_holdings={} admin_queues={} aenq={} readless_response={} feature_buffers={} host_sqs={} llq_sqs={} cqs={}",
            self.total(),
            self.admin_queues,
            self.aenq,
            self.readless_response,
            self.feature_buffers,
            self.host_sqs,
            self.llq_sqs,
            self.cqs
        )
    }
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// What guest memory the device holds addresses of right now.
    pub fn dma_holdings(&self) -> DmaHoldings {
        let set = |a: u64| u32::from(a != 0);
        let mut h = DmaHoldings {
            admin_queues: set(self.admin.sq_base) + set(self.admin.cq_base),
            aenq: set(self.aenq.base),
            readless_response: set(self.regs.resp_addr()),
            feature_buffers: set(self.feat.host_info_addr)
                + set(self.feat.debug_area.0)
                + set(self.feat.phc_output.0),
            ..Default::default()
        };
        for sq in self.io.sqs.iter().flatten() {
            match sq.placement {
                Placement::Host(_) => h.host_sqs += 1,
                Placement::Llq { .. } => h.llq_sqs += 1,
            }
        }
        h.cqs = self.io.cqs.iter().flatten().count() as u32;
        h
    }
}

#[cfg(test)]
mod tests {
    use crate::ena::test_driver::RawDriver;
    use crate::EnaModelConfig;
    use cloudnic_ena::defs::regs::offset;

    #[test]
    fn fresh_device_holds_nothing_configured_one_does_reset_and_resp_clear_release_all() {
        let d = RawDriver::new(EnaModelConfig::default());
        assert_eq!(d.dev.dma_holdings().total(), 0);
        let mut d = RawDriver::bring_up(EnaModelConfig::default());
        let up = d.dev.dma_holdings();
        assert_eq!((up.admin_queues, up.aenq, up.readless_response), (2, 1, 1));
        d.create_pair(1, 64, false);
        let q = d.dev.dma_holdings();
        assert_eq!((q.host_sqs, q.llq_sqs, q.cqs), (2, 0, 2), "{q}");
        assert!(q.to_string().starts_with("dma_holdings=8 "), "{q}");
        // Reset forgets everything but the readless address, which the
        // reset handshake itself re-programs (as drivers do).
        d.reset(0);
        let r = d.dev.dma_holdings();
        assert_eq!(r.total(), 1, "{r}");
        assert_eq!(r.readless_response, 1);
        d.w(offset::MMIO_RESP_LO, 0);
        d.w(offset::MMIO_RESP_HI, 0);
        assert_eq!(d.dev.dma_holdings().total(), 0);
    }
}
