//! The command line: `mqtt-workbench [COMMAND]`: `broker`, the mosquitto_sub/mosquitto_pub/
//! mosquitto_rr work-alikes `sub`, `pub` and `rr`, `profile` for saved connections, and `bench`.

pub mod broker;
pub mod conn;
pub mod decode;
pub mod matching;
pub mod profile;
pub mod publish;
pub mod record;
pub mod replay;
pub mod rr;
pub mod sub;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A terminal workbench for MQTT: an embedded broker, a client and the broker's verbose log.
///
/// `-h` is the client's broker host, as in mosquitto_sub; use `--help` for help.
#[derive(Debug, Parser)]
#[command(name = "mqtt-workbench", version, about, long_about = None, disable_help_flag = true)]
pub struct Cli {
    /// What to run; without a command the workbench opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The workbench's options (used when no command is given).
    #[command(flatten)]
    pub workbench: WorkbenchArgs,
    // Global, so every subcommand without its own `--help` answers it: the root's
    // `disable_help_flag` (needed for `-h` as the host) reaches every subcommand.
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help, global = true)]
    help: Option<bool>,
}

/// Options of the workbench itself.
#[derive(Debug, Clone, Default, Args)]
pub struct WorkbenchArgs {
    /// Port of the embedded broker (default 1883, which falls back to a free port when busy; a busy port given here is refused).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// A mosquitto.conf-style configuration file for the embedded broker.
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Do not start the embedded broker; the client connects to -h/-p (default localhost:1883).
    #[arg(long)]
    pub no_broker: bool,
    /// Client: broker host to connect to instead of the embedded broker.
    #[arg(short = 'h', long = "host", value_name = "HOST")]
    pub host: Option<String>,
    /// Client: broker port to connect to (with -h; default 1883).
    #[arg(short = 'p', long = "client-port", value_name = "PORT")]
    pub client_port: Option<u16>,
    /// Client: broker URL to connect and subscribe to: mqtt(s)://[user[:pass]@]host[:port]/topic, or ws(s)://host[:port]/path.
    #[arg(short = 'L', long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Client: open on a saved profile (`mqtt-workbench profile list`).
    #[command(flatten)]
    pub profile: profile::ProfileSel,
}

impl From<WorkbenchArgs> for crate::tui::Options {
    fn from(a: WorkbenchArgs) -> Self {
        Self {
            port: a.port,
            config_file: a.config_file,
            no_broker: a.no_broker,
            host: a.host,
            client_port: a.client_port,
            url: a.url,
            profile: a.profile.profile,
            config_dir: a.profile.config_dir,
        }
    }
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
    /// MQTT 5 request/response, like mosquitto_rr: publish a request with a Response Topic,
    /// print the first response (same flags; help is --help).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Rr(rr::RrArgs),
    /// Saved connection profiles: list, show, add, edit, rm, import, export.
    Profile(profile::ProfileArgs),
    /// Load-test any MQTT broker: `pub`, `sub`, `conn`, `fanin`, `fanout`.
    Bench(crate::bench::BenchArgs),
    /// Look inside MQTT packets given as hex: field table, byte map, note; malformed bytes get
    /// the precise error and its clause.
    Decode(decode::DecodeArgs),
    /// Does a topic filter match a topic, and why: level by level, for each filter.
    Match(matching::MatchArgs),
    /// Record messages as JSON lines (sub's flags, but -q defaults to 2; -o FILE, -C, -W).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Record(record::RecordArgs),
    /// Publish a record to any broker with its original timing or --speed (help is --help).
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Replay(replay::ReplayArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Broker(args)) => broker::run(args).await,
        Some(Command::Bench(args)) => crate::bench::run(args).await,
        Some(Command::Sub(args)) => sub::run(args).await,
        Some(Command::Pub(args)) => publish::run(args).await,
        Some(Command::Rr(args)) => rr::run(args).await,
        Some(Command::Profile(args)) => profile::run(args),
        Some(Command::Decode(args)) => decode::run(&args),
        Some(Command::Match(args)) => matching::run(&args),
        Some(Command::Record(args)) => record::run(args).await,
        Some(Command::Replay(args)) => replay::run(args).await,
        None => crate::tui::run(cli.workbench.into()).await,
    }
}

/// Parses the process's command line, exiting on an error or `--help`.
///
/// `sub`, `pub` and `rr` report a usage error as mosquitto_sub, mosquitto_pub and
/// mosquitto_rr do: `Error: ...`, a pointer to `--help`, and exit status 1 (clap's own
/// status is 2). Every other command keeps clap's report.
#[must_use]
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            let tool = args
                .get(1)
                .and_then(|a| a.to_str())
                .filter(|a| ["sub", "pub", "rr"].contains(a));
            match (tool, e.kind()) {
                (_, K::DisplayHelp | K::DisplayVersion) | (None, _) => e.exit(),
                (Some(tool), _) => {
                    eprintln!("{}", mosquitto_usage_error(&e, tool));
                    std::process::exit(1)
                }
            }
        }
    }
}

/// A clap error in mosquitto's words: `Error: Unknown option '--x'.`, `Error: Invalid QoS
/// given: 3`, `Error: Invalid port given: 99999`, then the pointer to `--help`.
fn mosquitto_usage_error(e: &clap::Error, tool: &str) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind as K};
    let get = |k| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(" "),
        _ => String::new(),
    };
    let arg = get(ContextKind::InvalidArg);
    let flag = arg.split(' ').next().unwrap_or_default();
    let value = get(ContextKind::InvalidValue);
    let first = match e.kind() {
        K::UnknownArgument => format!("Error: Unknown option '{arg}'."),
        K::InvalidValue if value.is_empty() => {
            format!("Error: {flag} argument given but no value specified.")
        }
        K::InvalidValue | K::ValueValidation if flag.ends_with("qos") => {
            format!("Error: Invalid QoS given: {value}")
        }
        K::InvalidValue | K::ValueValidation if flag == "--port" => {
            format!("Error: Invalid port given: {value}")
        }
        K::InvalidValue | K::ValueValidation => {
            format!("Error: Invalid value '{value}' for {flag}.")
        }
        _ => {
            let text = e.kind().as_str().unwrap_or("invalid command line");
            let rendered = e.to_string();
            let line = rendered
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("error: "))
                .unwrap_or(text)
                .to_string();
            format!("Error: {line}")
        }
    };
    format!("{first}\n\nUse 'mqtt-workbench {tool} --help' to see usage.")
}

/// Prints an error and its chain of causes to stderr, mosquitto style (`Error: ...`).
pub fn report(err: &dyn std::error::Error) {
    eprintln!("Error: {}", crate::error_chain(err));
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
    fn dash_h_is_the_host_and_long_help_still_works() {
        let cli = Cli::try_parse_from(["mqtt-workbench", "-h", "10.0.0.1", "-p", "1884"]).unwrap();
        assert_eq!(cli.workbench.host.as_deref(), Some("10.0.0.1"));
        assert_eq!(cli.workbench.client_port, Some(1884));
        let err = Cli::try_parse_from(["mqtt-workbench", "--help"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        // The broker subcommand keeps its own -h.
        let err = Cli::try_parse_from(["mqtt-workbench", "broker", "-h"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let cli = Cli::try_parse_from(["mqtt-workbench", "--port", "0", "--no-broker"]).unwrap();
        assert_eq!(cli.workbench.port, Some(0));
        assert!(cli.workbench.no_broker);
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
        assert_eq!(
            (a.clients, a.msg.qos, a.msg.size),
            (3, crate::protocol::QoS::AtLeastOnce, 100)
        );
        let help = Cli::try_parse_from(["mqtt-workbench", "bench", "conn", "--help"]);
        assert_eq!(
            help.unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
    }
}
