//! `sparring bench serve`: N trainees chatting with the web app at once on
//! loopback; time to the first streamed token and to the stored turn.

use anyhow::{bail, Result};
use clap::Args;
use sparring_server::loadtest::{self, quantile};
use sparring_store::{password, Role, Store};
use std::time::Duration;

use crate::serve::{self, ServeArgs};

#[derive(Args)]
pub struct ServeBenchArgs {
    /// Concurrent sessions (one trainee each).
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Replies per session.
    #[arg(long, default_value_t = 3)]
    turns: usize,
    /// Persona every session plays (the default does not end within 4 turns of the replies used).
    #[arg(long, default_value = "billing-inquiry-en")]
    persona: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    deadline_s: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

const REPLIES: &[&str] = &[
    "I'm sorry about that, let me look into it for you right away.",
    "Could you tell me a bit more about what happened?",
    "I understand. I will check it now and call you back within an hour with an answer.",
    "Is there anything else I can help with?",
];

pub fn run(args: ServeBenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let hash = password::hash("bench password 1")?;
    let trainees: Vec<(String, String)> = (0..args.sessions)
        .map(|i| (format!("trainee{i}"), "bench password 1".to_string()))
        .collect();
    {
        let store = Store::open(&db)?;
        for (name, _) in &trainees {
            store.add_user(name, &hash, Role::Trainee)?;
        }
    }
    let (state, model, _) = serve::build(&args.serve, &db)?;
    let replies: Vec<String> = (0..args.turns)
        .map(|i| REPLIES[i % REPLIES.len()].to_string())
        .collect();
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(sparring_server::serve(
            state,
            listener,
            std::future::pending(),
        ));
        anyhow::Ok(
            loadtest::run(
                &base,
                &trainees,
                &args.persona,
                &replies,
                Duration::from_secs(args.deadline_s),
            )
            .await,
        )
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "model {model}, persona {}, {} attempts per line",
            args.persona, args.serve.voice.attempts
        );
        println!("| sessions | turns each | done | stored | scored p50 | p99 | first token p50 | p99 | turn p50 | p99 | wall |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} s |",
            report.sessions,
            report.turns_per_session,
            report.turns_done,
            report.turns_stored,
            quantile(&report.scored_ms, 0.5),
            quantile(&report.scored_ms, 0.99),
            quantile(&report.first_token_ms, 0.5),
            quantile(&report.first_token_ms, 0.99),
            quantile(&report.turn_ms, 0.5),
            quantile(&report.turn_ms, 0.99),
            report.wall_s
        );
        for e in &report.errors {
            eprintln!("error: {e}");
        }
    }
    if report.turns_stored != report.turns_done || !report.errors.is_empty() {
        bail!(
            "{} turns done, {} stored, {} errors",
            report.turns_done,
            report.turns_stored,
            report.errors.len()
        );
    }
    Ok(())
}
