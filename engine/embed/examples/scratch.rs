use sparring_embed::E5Embedder;
fn main() {
    let e5 = E5Embedder::load("/root/.cache/sparring/home/models/e5-small-q4.bin").unwrap();
    let f: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("engine/embed/tests/fixtures/e5_reference.json").unwrap(),
    )
    .unwrap();
    let texts: Vec<String> = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect();
    let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let v = e5.embed_texts(&texts).unwrap();
    let mut h: u64 = 0xcbf29ce484222325;
    for x in v.iter().flatten() {
        for b in x.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    println!("{h:016x}");
}
