//! The `textclf` binary: parses flags, runs one subcommand, prints errors with their
//! whole chain of causes and maps them to exit codes (0 ok, 1 error, 2 usage).

mod args;
mod cmd;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let ui = ui::Ui::new(cli.global.quiet, cli.global.json);
    match cmd::run(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (e.g. `textclf … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            ui.finish();
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
