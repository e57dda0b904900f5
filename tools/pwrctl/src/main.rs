//! The `pwrctl` command; everything is in the library (`pwrctl::main_with_arguments`).

fn main() -> std::process::ExitCode {
    pwrctl::main_with_arguments(std::env::args_os())
}
