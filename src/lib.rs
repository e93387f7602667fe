//! mqtt-workbench: a terminal workbench for MQTT.
//!
//! # Layout
//!
//! * [`protocol`]: the MQTT wire format (3.1, 3.1.1 and 5.0), strict decoding and encoding.
//! * [`broker`]: the embedded broker: listeners, connections, the router, the verbose log.
//! * [`bench`]: `mqtt-workbench bench`, a load generator and meter for any MQTT broker.
//! * [`cli`]: the command line (`broker`, `bench`, and the workbench itself when no command is
//!   given).
//!
//! `protocol` and `broker` never depend on the terminal UI or the command line.

pub mod bench;
pub mod broker;
pub mod cli;
pub mod protocol;
