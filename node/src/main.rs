//! `baoxue-node`: parse, run, print. Exit 0 on success, 1 when the command failed (one clear
//! Chinese line on stderr), 2 on bad usage (clap).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Everything this process creates (the store, a key file) is private to its user, whatever
    // the umask it was started with.
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    if let Err(e) = baoxue_node::cli::check_text_args(&args) {
        let _ = writeln!(std::io::stderr(), "错误：{e}");
        return ExitCode::from(1);
    }
    let cli = baoxue_node::cli::Cli::parse();
    // `run` is a service: its log (next sync time, each sync, each retry) is its output.
    let default_level = if matches!(cli.cmd, baoxue_node::cli::Cmd::Run { .. }) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BAOXUE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match baoxue_node::cli::run(cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.text.as_bytes());
            let _ = stdout.flush();
            let mut stderr = std::io::stderr().lock();
            for w in out.warnings {
                let _ = writeln!(stderr, "{w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            for line in e.details() {
                let _ = writeln!(stderr, "{line}");
            }
            let _ = writeln!(stderr, "错误：{e}");
            ExitCode::from(1)
        }
    }
}
