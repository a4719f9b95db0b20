fn main() {
    eprintln!("scrolldb: the CQL server is not built yet; see the open issues");
    std::process::exit(2);
}
