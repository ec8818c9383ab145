//! The `unblur` binary: with a subcommand it is the command line; without
//! one it runs on the built-in sample.

mod cli;

/// Large image buffers are allocated and freed at every step; mimalloc keeps
/// freed pages for reuse instead of returning them to the OS, which saves
/// refaulting tens of megabytes per operation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
