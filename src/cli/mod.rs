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
    /// Load-test any MQTT broker: `pub`, `sub`, `conn`, `fanin`, `fanout`.
    Bench(crate::bench::BenchArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Broker(args)) => broker::run(args).await,
        Some(Command::Bench(args)) => crate::bench::run(args).await,
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

    #[test]
    fn bench_takes_mosquitto_style_short_flags() {
        let cli = Cli::try_parse_from([
            "mqtt-workbench",
            "bench",
            "fanin",
            "-h",
            "10.0.0.1",
            "-p",
            "1884",
            "-V",
            "5",
            "-c",
            "3",
            "-q",
            "1",
            "-s",
            "100",
            "-t",
            "x/%i",
            "--json",
        ])
        .unwrap();
        let Some(Command::Bench(b)) = cli.command else {
            panic!("not bench");
        };
        let crate::bench::BenchCommand::Fanin(a) = b.command else {
            panic!("not fanin");
        };
        assert_eq!(a.target.host, "10.0.0.1");
        assert_eq!(a.target.port, 1884);
        assert!(a.target.version.is_v5());
        assert_eq!((a.clients, a.msg.qos, a.msg.size), (3, 1, 100));
        let help = Cli::try_parse_from(["mqtt-workbench", "bench", "conn", "--help"]);
        assert_eq!(
            help.unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
    }
}
