//! The `textclf` binary: parses flags, runs one subcommand, prints errors with their
//! whole chain of causes and maps them to exit codes (0 ok, 1 error, 2 usage).

mod args;
mod cmd;
mod hub;
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
            let interrupted = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<textclf_train::TrainError>(),
                    Some(textclf_train::TrainError::Interrupted { .. })
                )
            });
            if interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
