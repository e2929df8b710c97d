//! `sparring`: the command line. It only wires the engine crates together.

mod bench;
mod bench_score;
mod bench_scoring;
mod bench_serve;
mod chat;
mod eval;
mod fidelity;
mod generate;
mod models;
mod openai_server;
mod persona;
mod plugin;
mod plugins;
mod score;
mod serve;
mod user;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sparring",
    version,
    about = "Local AI customer for call-center role-play training"
)]
struct Cli {
    /// Compute threads for inference (default: all cores).
    #[arg(long, global = true, env = "SPARRING_THREADS")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List, install and check models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Generate a reply with a local model.
    Generate(generate::GenerateArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Serve a local model over an OpenAI-compatible HTTP API.
    OpenaiServer(openai_server::OpenAiServerArgs),
    /// Scorer plugins: scaffold, build, list, test.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Agreement of the scorer plugins with human-labelled replies.
    Eval(eval::EvalArgs),
    /// Accounts of the web app: add (the first admin), list.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Role-play with a persona: interactive in a terminal, scripted from stdin.
    Chat(chat::ChatArgs),
    /// Batch-score call transcripts (JSONL, CSV, text) into JSONL, CSV and a summary; resumable.
    Score(score::ScoreArgs),
    /// The web app: trainee, instructor and evaluator workspaces.
    Serve(serve::ServeArgs),
    /// Persona files: check, list, fidelity eval.
    #[command(subcommand)]
    Persona(persona::PersonaCommand),
}

fn main() -> Result<()> {
    // Behave like other Unix tools when the reader of our output goes away
    // (`sparring models list | head`): exit quietly instead of panicking.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal at startup.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPARRING_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        set_threads(n);
    }
    match cli.command {
        Command::Models(cmd) => models::run(cmd),
        Command::Generate(args) => generate::run(args),
        Command::Bench(cmd) => bench::run(cmd, cli.threads),
        Command::OpenaiServer(args) => openai_server::run(args),
        Command::Plugin(cmd) => plugin::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Persona(cmd) => persona::run(cmd),
        Command::Chat(args) => chat::run(args),
        Command::User(cmd) => user::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Score(args) => score::run(args),
    }
}

/// candle reads its thread count from the environment once, at first use.
fn set_threads(n: usize) {
    // SAFETY: called before any other thread exists.
    unsafe {
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}
