fn main() -> std::process::ExitCode {
    picket::cli::main()
}
