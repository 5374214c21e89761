//! `baoxue-node`: parse, run, print. Exit 0 on success, 1 when the command failed (one clear
//! Chinese line on stderr), 2 on bad usage (clap). While a server of this node holds the store
//! (its control socket is in the data directory), a command that needs the store is run there
//! (`baoxue_node::control`).

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
    let dir = baoxue_node::defaults::data_dir(cli.data.clone());
    if baoxue_node::cli::forwardable(&cli.cmd) && baoxue_control::present(&dir) {
        let forwarded =
            baoxue_node::cli::for_server(cli.cmd.clone()).map(|cmd| baoxue_node::control::forward(&dir, &cmd));
        match forwarded {
            Err(e) => return failed(e.details(), &e.to_string()),
            Ok(Ok(reply)) => return answered(reply),
            // A socket left by a server that is gone: run here.
            Ok(Err(baoxue_control::ControlError::Connect { .. })) => {}
            Ok(Err(e)) => return failed(Vec::new(), &e.to_string()),
        }
    }
    match baoxue_node::cli::run(cli) {
        Ok(out) => printed(out),
        Err(e) => failed(e.details(), &e.to_string()),
    }
}

fn printed(out: baoxue_node::output::Output) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.text.as_bytes());
    let _ = stdout.flush();
    let mut stderr = std::io::stderr().lock();
    for w in out.warnings {
        let _ = writeln!(stderr, "{w}");
    }
    ExitCode::SUCCESS
}

fn failed(details: Vec<String>, line: &str) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    for d in details {
        let _ = writeln!(stderr, "{d}");
    }
    let _ = writeln!(stderr, "错误：{line}");
    ExitCode::from(1)
}

/// What the server answered for a forwarded command.
fn answered(reply: baoxue_control::Reply<baoxue_node::output::Output>) -> ExitCode {
    match reply {
        baoxue_control::Reply::Done(out) => printed(out),
        baoxue_control::Reply::Failed(mut lines) => {
            let last = lines.pop().unwrap_or_default();
            failed(lines, &last)
        }
        baoxue_control::Reply::Refused(why) => failed(Vec::new(), &why),
    }
}
