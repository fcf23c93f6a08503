//! The fault vocabulary of the control protocol, mapped onto the model's
//! fault API (`cloudnic_models::EnaFault`).
//!
//! ```text
//! keepalive-loss            stop keep-alive events (until cleared)
//! tx-withhold [SQ]          hold TX completions (one SQ or all) until cleared
//! link-down | link-up       LINK_CHANGE event, traffic stops / resumes
//! link-flap MS              link down now, up again MS milliseconds later
//! reset-request             AENQ DEVICE_REQUEST_RESET
//! fatal                     DEV_STS.FATAL_ERROR until the next device reset
//! lost-irq [VECTOR] [N]     swallow N MSI-X messages (default 1)
//! bad-tx-req-id [SQ] [N]    TX completion naming no in-flight packet
//! bad-rx-req-id [SQ] [N]    RX completion with an out-of-range request id
//! admin-drop [N]            never complete the next N admin commands
//! readless-drop [N]         ignore the next N readless register reads
//! ... until-reset           (any fault) clear it at the next device reset
//! ```
//! `SQ` / `VECTOR` may be `any`. Times are real milliseconds: the server
//! drives the model's virtual clock from the wall clock.

use cloudnic_models::ena::{AdminFilter, EnaFault};

use crate::fault_desk::{count_arg, millis_arg, FaultRequest, FaultWords};

fn opt_index(w: Option<&&str>) -> Result<Option<u16>, String> {
    match w {
        None | Some(&"any") => Ok(None),
        Some(s) => s
            .parse::<u16>()
            .map(Some)
            .map_err(|_| format!("bad index '{s}'")),
    }
}

/// Parse `words` (fault name, arguments, optional `until-reset`) at virtual
/// time `now_us`.
pub fn parse_ena_fault(words: &[&str], now_us: u64) -> Result<FaultRequest<EnaFault>, String> {
    let FaultWords {
        name,
        args,
        until_reset,
    } = FaultWords::split(words)?;
    let fault = match name {
        "keepalive-loss" => EnaFault::KeepAliveLoss,
        "tx-withhold" => EnaFault::TxCompletionsWithheld {
            sq: opt_index(args.first())?,
        },
        "link-down" => EnaFault::LinkDown,
        "link-up" => EnaFault::LinkUp,
        "link-flap" => {
            let ms = millis_arg(args.first(), "link-flap")?;
            return Ok(FaultRequest::flap(
                now_us,
                ms,
                EnaFault::LinkDown,
                EnaFault::LinkUp,
            ));
        }
        "reset-request" => EnaFault::DeviceRequestReset,
        "fatal" => EnaFault::Fatal,
        "lost-irq" => EnaFault::LostInterrupts {
            vector: opt_index(args.first())?,
            count: count_arg(args.get(1), 1)?,
        },
        "bad-tx-req-id" => EnaFault::BadTxReqId {
            sq: opt_index(args.first())?,
            req_id: None,
            count: count_arg(args.get(1), 1)?,
        },
        "bad-rx-req-id" => EnaFault::BadRxReqId {
            sq: opt_index(args.first())?,
            count: count_arg(args.get(1), 1)?,
        },
        "admin-drop" => EnaFault::AdminDrop {
            filter: AdminFilter::ANY,
            count: count_arg(args.first(), 1)?,
        },
        "readless-drop" => EnaFault::ReadlessNoResponse {
            count: count_arg(args.first(), 1)?,
        },
        other => return Err(format!("unknown fault '{other}'")),
    };
    Ok(FaultRequest::Now { fault, until_reset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_vocabulary() {
        assert_eq!(
            parse_ena_fault(&["keepalive-loss", "until-reset"], 0),
            Ok(FaultRequest::Now {
                fault: EnaFault::KeepAliveLoss,
                until_reset: true
            })
        );
        assert_eq!(
            parse_ena_fault(&["tx-withhold", "3"], 0),
            Ok(FaultRequest::Now {
                fault: EnaFault::TxCompletionsWithheld { sq: Some(3) },
                until_reset: false
            })
        );
        assert_eq!(
            parse_ena_fault(&["link-flap", "500"], 10),
            Ok(FaultRequest::Sequence(vec![
                (10, EnaFault::LinkDown),
                (500_010, EnaFault::LinkUp)
            ]))
        );
        assert!(parse_ena_fault(&["lost-irq", "x"], 0).is_err());
        assert!(parse_ena_fault(&["nonsense"], 0).is_err());
        assert!(parse_ena_fault(&[], 0).is_err());
    }
}
