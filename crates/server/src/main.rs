//! The `lifeservice` binary: a thin shell over [`lifeservice::cli`].

fn main() -> std::process::ExitCode {
    lifeservice::cli::main()
}
