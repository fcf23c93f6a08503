//! The MANA fault vocabulary of the control protocol, mapped onto the
//! model's fault API (`cloudnic_models::mana::ManaFault`).
//!
//! ```text
//! link-down | link-up       EQE 133 (SOC_RECONFIG_DATA) link disconnect / connect
//! link-flap MS              link down now, up again MS milliseconds later
//! reset-request [DATA]      EQE 135 HWC_RESET_REQUEST (details[0] = DATA, default 0)
//! fpga-reconfig             EQE 132 HWC_FPGA_RECONFIG
//! hwc-timeout [N] [CODE]    swallow the next N HWC requests (of request CODE, or any):
//!                           no response, the driver's wait times out
//! hwc-drop [N] [CODE]       execute the next N HWC requests but lose their responses
//! hwc-timeout-reconfig MS   EQE 133 type 1: a new HWC timeout
//! lost-irq [VECTOR] [N]     swallow N MSI-X messages (default 1)
//! tx-withhold [SQ]          hold TX completions (one SQ id or all) until cleared
//! ... until-reset           (any armed fault) clear it at the next HWC teardown
//! ```
//! `SQ` / `VECTOR` / `CODE` may be `any`; `N` may be `forever`. CODE is a
//! request code in decimal or 0x-hex (GDMA 1.., MANA 0x2xxxx, mana.md §3.6,
//! §6.2). Times are real milliseconds (the server drives the virtual clock
//! from the wall clock).

use cloudnic_models::mana::{HwcFilter, ManaFault};

use crate::fault_desk::{count_arg, millis_arg, FaultRequest, FaultWords};

fn opt_u32(w: Option<&&str>) -> Result<Option<u32>, String> {
    match w {
        None | Some(&"any") => Ok(None),
        Some(s) => {
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => s.parse::<u32>(),
            };
            parsed.map(Some).map_err(|_| format!("bad number '{s}'"))
        }
    }
}

fn opt_vector(w: Option<&&str>) -> Result<Option<u16>, String> {
    opt_u32(w)?
        .map(|v| u16::try_from(v).map_err(|_| format!("vector {v} out of range")))
        .transpose()
}

/// Parse `words` (fault name, arguments, optional `until-reset`) at virtual
/// time `now_us`.
pub fn parse_mana_fault(words: &[&str], now_us: u64) -> Result<FaultRequest<ManaFault>, String> {
    let FaultWords {
        name,
        args,
        until_reset,
    } = FaultWords::split(words)?;
    let fault = match name {
        "link-down" => ManaFault::LinkDown,
        "link-up" => ManaFault::LinkUp,
        "link-flap" => {
            let ms = millis_arg(args.first(), "link-flap")?;
            return Ok(FaultRequest::flap(
                now_us,
                ms,
                ManaFault::LinkDown,
                ManaFault::LinkUp,
            ));
        }
        "reset-request" => ManaFault::ResetRequest {
            data: opt_u32(args.first())?.unwrap_or(0),
        },
        "fpga-reconfig" => ManaFault::FpgaReconfig,
        "hwc-timeout" => ManaFault::HwcNoResponse {
            count: count_arg(args.first(), 1)?,
            filter: HwcFilter {
                code: opt_u32(args.get(1))?,
            },
        },
        "hwc-drop" => ManaFault::HwcDropResponse {
            count: count_arg(args.first(), 1)?,
            filter: HwcFilter {
                code: opt_u32(args.get(1))?,
            },
        },
        "hwc-timeout-reconfig" => {
            let ms = millis_arg(args.first(), "hwc-timeout-reconfig")?;
            ManaFault::HwcTimeoutReconfig {
                ms: u32::try_from(ms).map_err(|_| "MS too large")?,
            }
        }
        "lost-irq" => ManaFault::LostInterrupts {
            vector: opt_vector(args.first())?,
            count: count_arg(args.get(1), 1)?,
        },
        "tx-withhold" => ManaFault::TxCompletionsWithheld {
            sq: opt_u32(args.first())?,
        },
        other => return Err(format!("unknown MANA fault '{other}'")),
    };
    Ok(FaultRequest::Now { fault, until_reset })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudnic_models::mana::FOREVER;

    #[test]
    fn parses_the_vocabulary() {
        assert_eq!(
            parse_mana_fault(&["reset-request"], 0),
            Ok(FaultRequest::Now {
                fault: ManaFault::ResetRequest { data: 0 },
                until_reset: false
            })
        );
        assert_eq!(
            parse_mana_fault(&["hwc-timeout", "forever", "0x20002", "until-reset"], 0),
            Ok(FaultRequest::Now {
                fault: ManaFault::HwcNoResponse {
                    filter: HwcFilter::code(0x20002),
                    count: FOREVER
                },
                until_reset: true
            })
        );
        assert_eq!(
            parse_mana_fault(&["link-flap", "500"], 10),
            Ok(FaultRequest::Sequence(vec![
                (10, ManaFault::LinkDown),
                (500_010, ManaFault::LinkUp)
            ]))
        );
        assert_eq!(
            parse_mana_fault(&["lost-irq", "1", "2"], 0),
            Ok(FaultRequest::Now {
                fault: ManaFault::LostInterrupts {
                    vector: Some(1),
                    count: 2
                },
                until_reset: false
            })
        );
        assert!(parse_mana_fault(&["lost-irq", "70000"], 0).is_err());
        assert!(parse_mana_fault(&["keepalive-loss"], 0).is_err());
        assert!(parse_mana_fault(&[], 0).is_err());
    }
}
