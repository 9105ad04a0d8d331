//! The `rebound` binary: parses the command line and runs the server or an
//! operator command.

use std::process::ExitCode;

fn main() -> ExitCode {
    server::cli::main()
}
