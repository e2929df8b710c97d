//! `sparring chat`: role-play with a persona in the terminal, or scripted
//! from stdin (one trainee reply per line) with a JSON record at the end.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use sparring_core::scoring::Language;
use sparring_session::{Event, LineSource, Session, SessionOptions};

use crate::generate::open_backend;
use crate::persona::find_persona;
use crate::plugins::{self, PluginOptions};

/// Who voices the customer, for the commands that role-play (chat, serve).
#[derive(Args, Clone)]
pub struct VoiceArgs {
    /// A model id from `sparring models list`, or a path to a GGUF file.
    /// The default speaks Chinese and English; SmolLM2 speaks only English
    /// (Chinese personas then use their authored lines).
    #[arg(long, default_value = "gemma3-270m")]
    pub model: String,
    /// Model candidates per customer line before the authored fallback.
    #[arg(long, default_value_t = 3)]
    pub attempts: usize,
    /// Voice the customer with an OpenAI-compatible server at this URL;
    /// `--model` is then the server's model name.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Args)]
pub struct ChatArgs {
    /// Persona id (see `sparring persona list`) or a persona file.
    #[arg(long)]
    pub persona: String,
    #[command(flatten)]
    pub voice: VoiceArgs,
    /// Same persona, model, seed and replies give the same transcript.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the whole session (transcript, scores, mood trajectory, scorecard) as JSON at the end.
    #[arg(long)]
    pub json: bool,
    /// Directory of persona files to find `--persona` in.
    #[arg(long, default_value = "personas")]
    pub personas: PathBuf,
    /// Rate replies with no plugins (mood then moves only by turn rules).
    #[arg(long)]
    pub no_plugins: bool,
    #[command(flatten)]
    pub plugin_options: PluginOptions,
}

/// Loads the persona, plugins and model, and starts the session.
pub fn start(
    persona: &str,
    personas: &std::path::Path,
    model: &str,
    server: Option<&str>,
    api_key: Option<String>,
    plugin_options: Option<&PluginOptions>,
    options: SessionOptions,
) -> Result<(Session, String)> {
    let persona = Arc::new(find_persona(personas, persona)?);
    let plugins: Arc<[sparring_scoring::Plugin]> = match plugin_options {
        None => Arc::from(Vec::new()),
        Some(o) => plugins::load_for_sessions(o)?,
    };
    let (backend, name, _) = open_backend(model, server, api_key)?;
    let session = Session::start(persona, backend.as_ref(), plugins, options)?;
    Ok((session, name))
}

pub fn run(args: ChatArgs) -> Result<()> {
    let options = SessionOptions {
        seed: args.seed,
        attempts: args.voice.attempts,
        model_languages: crate::generate::model_languages(&args.voice.model),
        ..SessionOptions::default()
    };
    let (mut session, model) = start(
        &args.persona,
        &args.personas,
        &args.voice.model,
        args.voice.server.as_deref(),
        args.voice.api_key.clone(),
        (!args.no_plugins).then_some(&args.plugin_options),
        options,
    )?;
    if std::io::stdin().is_terminal() && !args.json {
        interactive(&mut session, &model)
    } else {
        scripted(&mut session, args.json)
    }
}

/// One trainee reply per stdin line; blank lines are skipped. Prints each
/// customer line (or, with `--json`, the whole session at the end).
fn scripted(session: &mut Session, json: bool) -> Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(out, "{}", session.opening().text)?;
    }
    let mut unused = 0;
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        if session.is_over() {
            unused += 1;
            continue;
        }
        match session.reply(&line, &mut |_| {}) {
            Ok(record) => {
                if !json {
                    writeln!(out, "{}", record.customer.text)?;
                    out.flush()?;
                }
            }
            Err(e) => eprintln!("stdin line {}: {e}; skipped", n + 1),
        }
    }
    if unused > 0 {
        eprintln!(
            "the session ended ({:?}); {unused} later line(s) not used",
            session.state().outcome().expect("over")
        );
    }
    if json {
        serde_json::to_writer_pretty(&mut out, &session.end())?;
        writeln!(out)?;
    }
    Ok(())
}

/// Display width of text in a terminal (CJK characters take two columns).
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if sparring_core::scoring::is_cjk(c)
                || ('\u{3000}'..='\u{303f}').contains(&c)
                || ('\u{ff00}'..='\u{ffef}').contains(&c)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

fn interactive(session: &mut Session, model: &str) -> Result<()> {
    let persona = session.persona().clone();
    let zh = persona.language == Language::Zh;
    let (you, them) = if zh {
        ("你", &persona.name)
    } else {
        ("You", &persona.name)
    };
    let columns: usize = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(80);
    println!(
        "\x1b[1m{}\x1b[0m · {} · {:?} · difficulty {} · {model}",
        persona.name,
        persona.language.code(),
        persona.scenario,
        persona.difficulty
    );
    println!("\x1b[2m{}\x1b[0m", persona.summary);
    println!("\x1b[2m/end ends the session and shows the scorecard; Ctrl-D too.\x1b[0m\n");
    println!("\x1b[1m{them}:\x1b[0m {}", session.opening().text);
    let stdin = std::io::stdin();
    loop {
        if session.is_over() {
            break;
        }
        print!("\x1b[1m{you}>\x1b[0m ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim() == "/end" {
            println!();
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut shown = 0usize;
        let mut on_event = |event: Event| {
            let mut out = std::io::stdout().lock();
            match event {
                Event::Scored { plugins } => {
                    for p in plugins {
                        for s in &p.scores {
                            let _ = writeln!(
                                out,
                                "  \x1b[36m{} {:.0} (level {})\x1b[0m {}",
                                s.dimension, s.value, s.level, s.tip
                            );
                        }
                        if let Some(e) = &p.error {
                            let _ = writeln!(out, "  \x1b[31m{}: {}\x1b[0m", p.plugin, e.message);
                        }
                    }
                }
                Event::State { update } => {
                    let moods: Vec<String> = update
                        .moods
                        .iter()
                        .map(|(k, v)| {
                            let d = update.mood_changes.get(k).copied().unwrap_or(0.0);
                            format!("{k} {v:.0} ({d:+.0})")
                        })
                        .collect();
                    let _ = write!(out, "  \x1b[33mmood: {}", moods.join(", "));
                    if !update.revealed.is_empty() {
                        let _ = write!(out, " · revealed: {}", update.revealed.join(", "));
                    }
                    if !update.resolved.is_empty() {
                        let _ = write!(out, " · resolved: {}", update.resolved.join(", "));
                    }
                    let _ = writeln!(out, " · next: {}\x1b[0m", update.intent);
                    let _ = write!(out, "\x1b[1m{them}:\x1b[0m \x1b[2m");
                    shown = width(them) + 2;
                }
                Event::Delta { text, .. } => {
                    shown += width(&text);
                    let _ = write!(out, "{text}");
                }
                Event::Rejected { .. } | Event::Line { .. } => {
                    // Erase the streamed candidate (it may have wrapped).
                    let rows = shown.max(1).div_ceil(columns.max(1));
                    let _ = write!(out, "\r\x1b[2K");
                    for _ in 1..rows {
                        let _ = write!(out, "\x1b[1A\x1b[2K");
                    }
                    let _ = write!(out, "\x1b[0m\x1b[1m{them}:\x1b[0m \x1b[2m");
                    shown = width(them) + 2;
                    if let Event::Line { line } = event {
                        let tag = match line.source {
                            LineSource::Fallback => " \x1b[2m[authored]\x1b[0m",
                            _ => "",
                        };
                        let _ = writeln!(out, "\x1b[0m{}{tag}", line.text);
                    }
                }
                Event::Attempt { .. } => {}
            }
            let _ = out.flush();
        };
        if let Err(e) = session.reply(&line, &mut on_event) {
            println!("\x1b[31m{e}\x1b[0m");
        }
    }
    print_scorecard(session, zh);
    Ok(())
}

fn print_scorecard(session: &Session, zh: bool) {
    let report = session.end();
    let card = &report.scorecard;
    println!(
        "\n\x1b[1m{}\x1b[0m",
        if zh { "成绩单" } else { "Scorecard" }
    );
    let outcome = report
        .outcome
        .map(|o| format!("{o:?}"))
        .unwrap_or_else(|| "ended by the trainee".into());
    println!(
        "total {:.0} · {} · tier {} · {outcome}",
        card.total,
        if card.passed { "passed" } else { "not passed" },
        card.tier.as_deref().unwrap_or("-")
    );
    for b in &card.blockers {
        println!(
            "  \x1b[31mblocker at reply {}: {}\x1b[0m",
            b.reply + 1,
            if zh { &b.reason_zh } else { &b.reason_en }
        );
    }
    for d in &card.dimensions {
        println!(
            "  {} [{}] {:.0} (level {}, weight {:.2}) {}",
            d.dimension,
            d.skill_codes.join(", "),
            d.value,
            d.level,
            d.weight,
            d.tip
        );
    }
    println!(
        "customer lines: {} by the model, {} authored",
        report.voice.model, report.voice.fallback
    );
}
