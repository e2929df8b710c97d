use sparring_embed::{E5Embedder, WeightFormat};
use std::time::Instant;
fn main() {
    let mut a = std::env::args().skip(1);
    let mode = a.next().unwrap_or("single".into());
    let reps: usize = a.next().map(|s| s.parse().unwrap()).unwrap_or(50);
    let fmt = if std::env::var("Q4").is_ok() {
        WeightFormat::Q4_0
    } else {
        WeightFormat::Q8_0
    };
    let e5 =
        E5Embedder::load_with("/root/.cache/sparring/home/models/e5-small-q4.bin", fmt).unwrap();
    let texts = sparring_embed::bench::SHORT_REPLIES;
    e5.embed_texts(&texts).unwrap();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t0 = Instant::now();
        if mode == "single" {
            for t in texts {
                e5.embed_texts(&[t]).unwrap();
            }
        } else {
            e5.embed_texts(&texts).unwrap();
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e3 / texts.len() as f64);
    }
    println!("{mode}: best {best:.2} ms per text");
}
