//! The `runstore` command-line tool. See `runstore --help`.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
