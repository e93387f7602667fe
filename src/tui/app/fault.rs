//! The fault menu (`!`): pick one of [`Fault::ALL`] by its number. Picking returns the fault
//! and the log line that announces and explains it; the run loop causes it with a helper
//! client against the embedded broker and reports back.

use std::time::SystemTime;

use super::cmd::Cmd;
use crate::broker::{BrokerEvent, LogEntry};
pub use crate::lessons::faults::Fault;

/// Why the fault menu does not open without the embedded broker.
pub const NO_BROKER: &str = "faults need the embedded broker (this session has none)";

/// A fault to cause: which, against which broker, and the client pane's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRequest {
    /// Which fault.
    pub fault: Fault,
    /// The embedded broker, `host:port`.
    pub broker: String,
    /// The client pane's id (the takeover uses it).
    pub client_id: String,
}

/// The menu's update: a number picks a fault (the request, the log entry announcing it and a
/// notice); anything else keeps the menu (`None`).
#[must_use]
pub fn pick(
    cmd: Cmd,
    pane_client: &str,
    broker: Option<&str>,
    now: SystemTime,
) -> Option<(FaultRequest, LogEntry, String)> {
    let Cmd::Fault(n) = cmd else {
        return None;
    };
    let fault = *Fault::ALL.get(usize::from(n))?;
    let event = BrokerEvent::Notice(fault.announce(pane_client));
    let request = FaultRequest {
        fault,
        broker: broker?.to_owned(),
        client_id: pane_client.to_owned(),
    };
    let notice = format!("fault: {}", fault.title());
    Some((request, LogEntry::new(now, event), notice))
}

/// A helper's report: sets the status bar's `notice` and returns the log line (a warning if
/// it failed).
#[must_use]
pub fn report(
    result: Result<String, String>,
    now: SystemTime,
    notice: &mut Option<String>,
) -> LogEntry {
    let (text, event) = match result {
        Ok(s) => (s.clone(), BrokerEvent::Notice(format!("FAULT done: {s}."))),
        Err(e) => (
            format!("fault failed: {e}"),
            BrokerEvent::Warning(format!("FAULT failed: {e}.")),
        ),
    };
    *notice = Some(text);
    LogEntry::new(now, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_pick_faults_and_the_announcement_explains() {
        let now = SystemTime::UNIX_EPOCH;
        let b = Some("127.0.0.1:1883");
        assert!(pick(Cmd::Up, "me", b, now).is_none());
        assert!(pick(Cmd::Fault(9), "me", b, now).is_none());
        assert!(pick(Cmd::Fault(0), "me", None, now).is_none());
        let (req, entry, _) = pick(Cmd::Fault(2), "me", b, now).expect("fault 3");
        assert_eq!(req.fault, Fault::Takeover);
        assert_eq!(req.broker, "127.0.0.1:1883");
        let line = entry.event.to_string();
        assert!(line.contains("connects as me"), "{line}");
        assert!(line.contains("[MQTT311-3.1.4-2]"), "{line}");
        let (_, will, _) = pick(Cmd::Fault(0), "me", b, now).expect("fault 1");
        assert!(will.event.to_string().contains("Will Message"), "{will:?}");
        let mut n = None;
        let e = report(Err("x".into()), now, &mut n);
        assert_eq!(n.as_deref(), Some("fault failed: x"));
        assert_eq!(e.event, BrokerEvent::Warning("FAULT failed: x.".into()));
    }
}
