//! placeholder
use std::process::ExitCode;
/// Options of `picket bench`.
#[derive(clap::Args)]
pub struct BenchArgs {}
/// Runs the benchmark.
pub async fn run(_args: BenchArgs) -> ExitCode {
    ExitCode::SUCCESS
}
