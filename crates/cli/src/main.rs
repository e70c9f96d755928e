//! The `palisade` binary: reads configuration and wires the crates together. Each
//! subcommand lives in its own module under `commands`.

mod app;
mod commands;
mod config;
mod erasures;
mod error;
mod framing;
mod handshakes;
mod tls;

// glibc's allocator was about a fifth of a ticket read's CPU (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> anyhow::Result<ExitCode> {
    let cli = config::Cli::parse();
    config::reject_unknown_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error::CliError::Refused { exit, reply }) => {
            eprintln!("{reply}");
            Ok(ExitCode::from(exit))
        }
        Err(e) => Err(e.into()),
    }
}
