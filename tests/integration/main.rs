//! Integration tests: the real broker on real sockets, real mosquitto peers, the real binary.
//!
//! One test binary (this file and its modules) keeps link time down on two cores.

mod common;

mod bench_cli;
mod broker_alias;
mod broker_cli;
mod broker_close;
mod broker_malformed;
mod broker_rumqttc;
mod broker_semantics;
mod client_api;
mod client_format;
mod client_pub;
mod client_sub;
mod client_support;
mod decode_cli;
mod layering;
mod match_cli;
mod profile_cli;
mod profile_tui;
mod tui_tmux;
