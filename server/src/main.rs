//! `scrolldb serve`: see `scrolldb --help` and `scrolldb_server::program`.

use clap::Parser;

fn main() {
    let cli = scrolldb_server::program::Cli::parse();
    std::process::exit(scrolldb_server::program::main_with(cli));
}
