//! The `jcx` binary: parse arguments, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match jcx::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                jcx::cli::EXIT_ERROR
            } else {
                jcx::cli::EXIT_OK
            });
        }
    };
    ExitCode::from(jcx::cli::run(cli))
}
