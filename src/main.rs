//! The `mqtt-workbench` binary: parse the command line and dispatch.

use std::process::ExitCode;

use mqtt_workbench::cli;

fn main() -> ExitCode {
    let cli = cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(cli::run(cli));
    // A blocking read of stdin (`pub -l` stopped by a signal) never ends by itself; dropping
    // the runtime would wait for it. Other blocking work gets a second to finish.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}
