//! The `striate` command: argument parsing, subcommands and printing. The
//! numerics live in the library.

mod args;
mod bench;
mod crash;
mod filter;
mod inspect;
mod pixelate;
mod progress;
mod recipe;
mod train;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, DataCommand};

/// Exit status for mistakes in what the user gave (flags, files, data).
const USAGE_ERROR: u8 = 2;
/// Exit status for failures inside striate.
const INTERNAL_ERROR: u8 = 1;
/// Exit status after Ctrl-C (with a checkpoint saved).
const INTERRUPTED: u8 = 130;

fn run(cli: Cli) -> anyhow::Result<train::Finish> {
    if let Some(n) = cli.threads {
        if n == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    }
    if let Some(bytes) = cli.max_memory {
        striate::budget::set_limit(bytes);
    }
    match &cli.command {
        Command::Summary(a) => inspect::summary(a)?,
        Command::Models => inspect::models(),
        Command::Train(a) => return train::train(a),
        Command::LrFind(a) => recipe::lr_find(a)?,
        Command::Evaluate(a) => inspect::evaluate_cmd(a)?,
        Command::Predict(a) => inspect::predict(a)?,
        Command::Filter(a) => filter::filter(a)?,
        Command::Pixelate(a) => pixelate::pixelate(a)?,
        Command::Bench(a) => bench::bench(a, cli.threads)?,
        Command::Data {
            command: DataCommand::Info(a),
        } => inspect::info(a)?,
        Command::Data {
            command: DataCommand::Toptag(a),
        } => pixelate::toptag(a)?,
    }
    Ok(train::Finish::Done)
}

/// The error and its causes on one line, like `{:#}`, but without a cause
/// whose text the line already ends with (striate's I/O errors print their
/// source themselves).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// 2 for the user's mistakes (bad files, shapes, labels, flags), 1 for
/// internal failures.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(err) = cause.downcast_ref::<striate::Error>() {
            return if err.is_user_error() {
                USAGE_ERROR
            } else {
                INTERNAL_ERROR
            };
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return USAGE_ERROR;
        }
    }
    // Validation messages raised by the binary itself (bail!) are about input.
    USAGE_ERROR
}

fn main() -> ExitCode {
    // A panic is a bug in striate: one line, no backtrace, status 1.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("striate: internal error: {info}. Please report this.");
    }));
    match std::panic::catch_unwind(parse_and_run) {
        Ok(code) => code,
        Err(_) => ExitCode::from(INTERNAL_ERROR),
    }
}

/// Parses the arguments and runs the command; called inside the panic guard
/// so that a panic while parsing is an internal error too.
fn parse_and_run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: clap's first line, without its usage block.
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("striate: error: {first} (see --help)");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match run(cli) {
        Ok(train::Finish::Done) => ExitCode::SUCCESS,
        Ok(train::Finish::Interrupted) => ExitCode::from(INTERRUPTED),
        Err(e) => {
            eprintln!("striate: error: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}
