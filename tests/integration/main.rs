//! Integration tests: the real broker on real sockets, real mosquitto peers, the real binary.
//!
//! One test binary (this file and its modules) keeps link time down on two cores.

mod common;

mod bench_cli;
mod broker_alias;
mod broker_bridge;
mod broker_chaos;
mod broker_cli;
mod broker_close;
mod broker_durable;
mod broker_malformed;
mod broker_memory;
mod broker_ops;
mod broker_rumqttc;
mod broker_semantics;
mod broker_state;
mod clauses;
mod client_api;
mod client_format;
mod client_parity;
mod client_pub;
mod client_sub;
mod client_support;
mod conformance;
mod conns_tui;
mod decode_cli;
mod fleet_tui;
mod journey;
mod journey_tmux;
mod layering;
mod learn_tui;
mod lessons_tui;
mod match_cli;
mod profile_cli;
mod profile_tui;
mod properties;
mod record_cli;
mod tui_tmux;
mod tui_views;
