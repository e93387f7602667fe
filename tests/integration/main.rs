//! Integration tests: the real broker on real sockets, real mosquitto peers, the real binary.
//!
//! One test binary (this file and its modules) keeps link time down on two cores.

mod common;

mod broker_cli;
mod broker_malformed;
mod broker_semantics;
mod tui_tmux;
