//! mqtt-workbench: a terminal workbench for MQTT.
//!
//! # Layout
//!
//! * [`protocol`]: the MQTT wire format (3.1, 3.1.1 and 5.0), strict decoding and encoding.
//! * [`broker`]: the embedded broker: listeners, connections, the router, the verbose log.
//! * [`bench`]: `mqtt-workbench bench`, a load generator and meter for any MQTT broker.
//! * [`client`]: the MQTT client (rumqttc 3.1.1 and 5 behind one handle), its `-d` trace and
//!   mosquitto_sub's output formats; used by `sub`, `pub` and the workbench's client pane.
//! * [`profile`]: saved connection profiles (`profiles.toml`) for the workbench, `sub` and `pub`.
//! * [`cli`]: the command line (`broker`, `sub`, `pub`, `profile`, `bench`, and the workbench
//!   itself when no command is given).
//! * [`tui`]: the workbench: broker, client pane and broker log in one terminal.
//!
//! `protocol` and `broker` never depend on the terminal UI or the command line.

pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod inspect;
pub mod lessons;
pub mod profile;
pub mod protocol;
pub mod tui;

/// Joins an error and its chain of causes with ": ", for one-line messages
/// (`cannot listen on 127.0.0.1:1883: Address already in use (os error 98)`).
#[must_use]
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
