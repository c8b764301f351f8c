//! The `hookd` binary: everything (command line, logging, config loading, the commands) is in
//! the library's [`hookd::cli`] module.

fn main() -> std::process::ExitCode {
    hookd::cli::main()
}
