//! `sparring openai-server`: the local model behind an OpenAI-compatible API,
//! for tools that speak that protocol and for other sparring instances.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use sparring_llm::{ChatBackend, LoadOptions, LocalModel};

use crate::generate::resolve_model;

#[derive(Args)]
pub struct OpenAiServerArgs {
    /// A model id from `sparring models list`, or a path to a GGUF file.
    #[arg(long, default_value = "smollm2-135m-instruct")]
    model: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: String,
}

pub fn run(args: OpenAiServerArgs) -> Result<()> {
    let (path, mode) = resolve_model(&args.model)?;
    let model = LocalModel::load(&path, mode, &LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    let backend: Arc<dyn ChatBackend> = Arc::new(model);
    let router = sparring_llm::openai::server::router(backend, args.model.clone());
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let local = listener.local_addr()?;
        // The first line of output is the address, for scripts that use port 0.
        println!("http://{local}");
        eprintln!(
            "serving {} at http://{local}/v1 (Ctrl-C to stop)",
            args.model
        );
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("server failed")
    })
}
