//! `sparring user …`: accounts of the web app (the first admin is made here).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sparring_models::Home;
use sparring_store::{password, Role, Store};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is read from the first line of stdin.
    Add {
        name: String,
        /// trainee, instructor, evaluator or admin.
        #[arg(long, default_value = "trainee")]
        role: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long)]
        password_stdin: bool,
        /// The database (default: $SPARRING_HOME/sparring.db).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// List accounts and their roles.
    List {
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// The web app's database.
pub fn db_path(arg: Option<PathBuf>) -> PathBuf {
    arg.unwrap_or_else(|| Home::from_env().root().join("sparring.db"))
}

pub fn run(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            password_stdin,
            db,
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("--role {role}: expected trainee, instructor, evaluator or admin");
            };
            if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
                bail!("user name `{name}`: must be non-empty, without spaces");
            }
            if !password_stdin {
                bail!("give the password on stdin with --password-stdin");
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            let hash = password::hash(line.trim_end_matches(['\n', '\r']))?;
            let path = db_path(db);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = Store::open(&path)?;
            let user = store.add_user(&name, &hash, role)?;
            println!(
                "added {} ({}) to {}",
                user.name,
                role.as_str(),
                path.display()
            );
            Ok(())
        }
        UserCommand::List { db, json } => {
            let store = Store::open(&db_path(db))?;
            let users = store.users()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    println!("{:<24} {}", u.name, u.role.as_str());
                }
            }
            Ok(())
        }
    }
}
