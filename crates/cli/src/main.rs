//! `makonis`: the command-line face of Mākonis. Argument parsing and output
//! only; the work is done by `makonis-app` and `makonis-server`.

mod client;
mod commands;
mod config;
mod site_check;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "makonis",
    version,
    about = "Mākonis — control plane of the federated state cloud"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--output text|json` for commands that print data.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (portal, REST API, metrics).
    Serve(config::ServeArgs),
    /// Run a demo federation on the embedded database, seeded with realistic data.
    Demo(config::DemoArgs),
    /// Administration on the server host.
    #[command(subcommand)]
    Admin(commands::AdminCommand),
    /// The audit chain.
    #[command(subcommand)]
    Audit(commands::AuditCommand),
    /// The service catalogue (through the API; needs MAKONIS_TOKEN).
    #[command(subcommand)]
    Catalogue(client::CatalogueCommand),
    /// Orders and approvals (through the API; needs MAKONIS_TOKEN).
    #[command(subcommand)]
    Order(client::OrderCommand),
    /// Usage: import providers' FOCUS bills, export charges as FOCUS,
    /// collect from drivers (through the API; needs MAKONIS_TOKEN).
    #[command(subcommand)]
    Usage(client::UsageCommand),
    /// Monthly statements: list, show, export, issue (through the API).
    #[command(subcommand)]
    Statement(client::StatementCommand),
    /// The data-embassy engine: encrypted, deduplicated repositories (restic-like),
    /// and `site-check` for the eligibility of a foreign site (EMB-1).
    Embassy(site_check::EmbassyEntry),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    config::init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
