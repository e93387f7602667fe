//! The command line: `mqtt-workbench [COMMAND]`.

pub mod broker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A terminal workbench for MQTT: an embedded broker, a client and the broker's verbose log.
#[derive(Debug, Parser)]
#[command(name = "mqtt-workbench", version, about, long_about = None)]
pub struct Cli {
    /// What to run; without a command the workbench opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MQTT broker headless, a drop-in for `mosquitto` (`-v` for the packet log).
    Broker(broker::BrokerArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Broker(args)) => broker::run(args).await,
        None => {
            eprintln!(
                "The interactive workbench is not built yet. Run `mqtt-workbench broker -v` for \
                 the broker, or `mqtt-workbench --help`."
            );
            ExitCode::FAILURE
        }
    }
}

/// Prints an error and its chain of causes to stderr, mosquitto style (`Error: ...`).
pub fn report(err: &dyn std::error::Error) {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    eprintln!("Error: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
