//! The command line: `mqtt-workbench [COMMAND]`: `broker`, and the mosquitto_sub/mosquitto_pub
//! work-alikes `sub` and `pub`.

pub mod broker;
pub mod conn;
pub mod publish;
pub mod sub;

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
    /// Subscribe to topics and print messages, like mosquitto_sub (same flags; help is --help).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Sub(sub::SubArgs),
    /// Publish messages, like mosquitto_pub (same flags; help is --help).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Pub(publish::PubArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Broker(args)) => broker::run(args).await,
        Some(Command::Sub(args)) => sub::run(args).await,
        Some(Command::Pub(args)) => publish::run(args).await,
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
