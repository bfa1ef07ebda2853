//! The `textclf` binary: everything is in the library ([`textclf_cli::run_cli`]), which the
//! Python package also embeds.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(textclf_cli::run_cli(std::env::args_os()))
}
