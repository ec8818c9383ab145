//! The `unblur` binary: with a subcommand it is the command line; without
//! one it runs on the built-in sample.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
