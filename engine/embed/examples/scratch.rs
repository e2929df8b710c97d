use std::time::Instant;
use sparring_embed::{E5Embedder, WeightFormat};
fn main() {
    let mut a = std::env::args().skip(1);
    let mode = a.next().unwrap_or("single".into());
    let reps: usize = a.next().map(|s| s.parse().unwrap()).unwrap_or(50);
    let e5 = E5Embedder::load_with("/root/.cache/sparring/home/models/e5-small-q4.bin", WeightFormat::Q8_0).unwrap();
    let texts = sparring_embed::bench::SHORT_REPLIES;
    e5.embed_texts(&texts).unwrap();
    let t0 = Instant::now();
    for _ in 0..reps {
        if mode == "single" { for t in texts { e5.embed_texts(&[t]).unwrap(); } }
        else { e5.embed_texts(&texts).unwrap(); }
    }
    println!("{mode}: {:.2} ms per text", t0.elapsed().as_secs_f64() * 1e3 / (reps * texts.len()) as f64);
}
