//! The control protocol's fault commands, served the same way for every
//! device model: a request (one fault now, or a timed sequence), the model's
//! scripted-fault API behind [`ScriptedFaults`], and the faults asked to end
//! at the driver's next reset of the device ([`FaultDesk`]). Each model's
//! vocabulary (words → faults) stays in its own module (`faults.rs`,
//! `mana_faults.rs`).

use std::fmt::Debug;

use cloudnic_models::mana::{ManaFault, ManaModel};
use cloudnic_models::{EnaFault, EnaModel};

use crate::memory::GuestRam;

/// What a fault command asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum FaultRequest<F> {
    /// One fault now; `until_reset` clears it at the driver's next reset of
    /// the device.
    Now {
        /// The fault.
        fault: F,
        /// Clear it at the next reset ([`ScriptedFaults::reset_epoch`]).
        until_reset: bool,
    },
    /// Faults at virtual times (µs).
    Sequence(Vec<(u64, F)>),
}

impl<F> FaultRequest<F> {
    /// A link flap: `down` now, `up` `ms` milliseconds of virtual time later.
    pub fn flap(now_us: u64, ms: u64, down: F, up: F) -> Self {
        FaultRequest::Sequence(vec![
            (now_us, down),
            (now_us.saturating_add(ms.saturating_mul(1000)), up),
        ])
    }
}

/// A fault command's words: the fault name, its arguments, and whether it
/// ends with the next reset (`until-reset` anywhere among them).
pub struct FaultWords<'a> {
    /// The fault name.
    pub name: &'a str,
    /// The arguments after it.
    pub args: Vec<&'a str>,
    /// `until-reset` was given.
    pub until_reset: bool,
}

impl<'a> FaultWords<'a> {
    /// Split `words`; an empty command is refused.
    pub fn split(words: &[&'a str]) -> Result<Self, String> {
        let until_reset = words.contains(&"until-reset");
        let mut w = words.iter().copied().filter(|w| *w != "until-reset");
        let name = w.next().ok_or("missing fault name")?;
        Ok(FaultWords {
            name,
            args: w.collect(),
            until_reset,
        })
    }
}

/// A count argument: `default` when absent, `forever` = fire every time.
pub fn count_arg(w: Option<&&str>, default: u32) -> Result<u32, String> {
    match w {
        None => Ok(default),
        Some(&"forever") => Ok(cloudnic_models::fault_script::FOREVER),
        Some(s) => s.parse::<u32>().map_err(|_| format!("bad count '{s}'")),
    }
}

/// A milliseconds argument `what` requires.
pub fn millis_arg(w: Option<&&str>, what: &str) -> Result<u64, String> {
    w.ok_or_else(|| format!("{what} needs MS"))?
        .parse()
        .map_err(|_| "bad MS".to_string())
}

/// A device model's scripted-fault API.
pub trait ScriptedFaults {
    /// The model's fault type.
    type Fault: Clone + Debug;
    /// What the driver does that counts as resetting the device (for logs).
    const RESET: &'static str;
    /// Apply a fault now.
    fn inject(&mut self, fault: Self::Fault);
    /// Apply a fault when the virtual clock reaches `at_us`.
    fn inject_at(&mut self, at_us: u64, fault: Self::Fault);
    /// Disarm faults of this kind.
    fn clear_fault(&mut self, fault: Self::Fault);
    /// Faults armed now.
    fn armed_faults(&self) -> &[Self::Fault];
    /// Counts the driver's resets of the device; "until-reset" faults end
    /// once it moves past the value it had when they were applied.
    fn reset_epoch(&self) -> u64;
}

impl ScriptedFaults for EnaModel<GuestRam> {
    type Fault = EnaFault;
    const RESET: &'static str = "device reset";
    fn inject(&mut self, fault: EnaFault) {
        EnaModel::inject(self, fault)
    }
    fn inject_at(&mut self, at_us: u64, fault: EnaFault) {
        EnaModel::inject_at(self, at_us, fault)
    }
    fn clear_fault(&mut self, fault: EnaFault) {
        EnaModel::clear_fault(self, fault)
    }
    fn armed_faults(&self) -> &[EnaFault] {
        EnaModel::armed_faults(self)
    }
    /// DEV_CTL resets (ena.md §6.3).
    fn reset_epoch(&self) -> u64 {
        self.counters().resets
    }
}

impl ScriptedFaults for ManaModel<GuestRam> {
    type Fault = ManaFault;
    const RESET: &'static str = "HWC teardown";
    fn inject(&mut self, fault: ManaFault) {
        ManaModel::inject(self, fault)
    }
    fn inject_at(&mut self, at_us: u64, fault: ManaFault) {
        ManaModel::inject_at(self, at_us, fault)
    }
    fn clear_fault(&mut self, fault: ManaFault) {
        ManaModel::clear_fault(self, fault)
    }
    fn armed_faults(&self) -> &[ManaFault] {
        ManaModel::armed_faults(self)
    }
    /// SMC DESTROY_HWC: the first step of mana.ko's reset cycle and of its
    /// remove path (mana.md §7).
    fn reset_epoch(&self) -> u64 {
        self.counters().hwc_destroys
    }
}

/// The faults of one device that end at the driver's next reset of it.
pub struct FaultDesk<F> {
    until_reset: Vec<(F, u64)>,
}

impl<F: Clone + Debug> FaultDesk<F> {
    /// Nothing pending.
    pub fn new() -> Self {
        FaultDesk {
            until_reset: Vec::new(),
        }
    }

    /// Carry out `req` on `model` at virtual time `now_us`; a description.
    pub fn inject<M: ScriptedFaults<Fault = F>>(
        &mut self,
        model: &mut M,
        req: FaultRequest<F>,
        now_us: u64,
    ) -> String {
        match req {
            FaultRequest::Now { fault, until_reset } => {
                if until_reset {
                    self.until_reset.push((fault.clone(), model.reset_epoch()));
                }
                let text = format!("{fault:?}");
                model.inject(fault);
                text
            }
            FaultRequest::Sequence(steps) => {
                let mut text = String::new();
                for (at, fault) in steps {
                    text.push_str(&format!(
                        "at +{}ms {fault:?}; ",
                        at.saturating_sub(now_us) / 1000
                    ));
                    if at <= now_us {
                        model.inject(fault);
                    } else {
                        model.inject_at(at, fault);
                    }
                }
                text
            }
        }
    }

    /// Disarm the fault kind `req` names on `model`; a description.
    pub fn clear<M: ScriptedFaults<Fault = F>>(
        model: &mut M,
        req: FaultRequest<F>,
    ) -> Result<String, String> {
        let fault = match req {
            FaultRequest::Now { fault, .. } => fault,
            FaultRequest::Sequence(_) => return Err("cannot clear a sequence".into()),
        };
        let text = format!("{fault:?}");
        model.clear_fault(fault);
        Ok(text)
    }

    /// The faults armed on `model`, one per line.
    pub fn armed<M: ScriptedFaults<Fault = F>>(model: &M) -> String {
        model
            .armed_faults()
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Clear the "until-reset" faults whose reset has happened.
    pub fn after_access<M: ScriptedFaults<Fault = F>>(&mut self, model: &mut M) {
        if self.until_reset.is_empty() {
            return;
        }
        let epoch = model.reset_epoch();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.until_reset)
            .into_iter()
            .partition(|(_, at)| epoch > *at);
        self.until_reset = keep;
        for (f, _) in due {
            eprintln!("[emu] {} seen: clearing {f:?}", M::RESET);
            model.clear_fault(f);
        }
    }

    /// Forget everything pending (the model was replaced by a power-on reset).
    pub fn forget(&mut self) {
        self.until_reset.clear();
    }
}
