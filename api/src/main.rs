use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = callsaga_api::cli::Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(callsaga_api::cli::run(cli))
}
