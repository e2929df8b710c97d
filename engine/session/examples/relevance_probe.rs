//! Why the session does not gate customer lines on embedding similarity:
//! multilingual-e5-small's cosine between candidate lines (on-topic ones and
//! the word salad small models write) and the persona's own text does not
//! separate them. Lines are real outputs of SmolLM2-135M and Gemma 3 270M in
//! sessions; results in evals/results/persona-fidelity.md.
//!
//! cargo run --release -p sparring-session --example relevance_probe

use sparring_core::{cosine, Embedder};

fn main() {
    let Some(f) = sparring_models::installed_or_skip("multilingual-e5-small") else {
        return;
    };
    let e = sparring_embed::E5Embedder::load(&f).unwrap();
    let ctx_en = ["Broadband customer offered a faster plan; likes the idea but worries about price and a long contract", "Oh, hello. Is this about my broadband? I'm a bit busy, so what's it about?", "How much more would that be a month?", "I'd need to think about it, two years is a long time."];
    let ctx_zh = [
        "宽带断网三天的老用户，在家办公受影响，已经打过两次电话，要求马上修好并给个说法",
        "喂？我家宽带已经断了三天了！打了两次电话都说尽快处理，到现在也没人来，你们到底管不管？",
        "你们每次都说尽快，尽快是多快？我已经等了三天了！",
        "我就要一句准话：今天几点能有人上门？",
    ];
    let cands = [
     ("en good", "How much more would that be each month, though?"),
     ("en good", "Hmm, I'm not sure. What happens if I want to leave before the contract ends?"),
     ("en good", "That sounds nice, but I really can't afford a big price rise right now."),
     ("en good", "Okay, and is the faster speed guaranteed in the evenings?"),
     ("en bad", "No problem at all, no worries! Just pick your favorite colour and play a game of tic-tac-toe, that is, as long as there are two of you on the other side."),
     ("en bad", "We're a little busy this month, so we'll just let you take care of your homework for a week or two, and I can help with some other things."),
     ("en bad", "I'm glad to hear that. You're right about buying something and going on the bus tomorrow - those are great plans, I've got them set aside!"),
     ("en bad", "The weather is lovely today and my cat likes fish."),
     ("zh good", "谢谢客服，我最近在家里很生气，没电了，因为我们有宽带，你们平时还说怎么过几天？"),
     ("zh good", "你们到底什么时候能派人来？我已经等了三天了！"),
     ("zh good", "行，那今天下午我在家等着，别再放我鸽子。"),
     ("zh good", "恩，对。"),
     ("zh bad", "你可以喏明自己的仲製！毕� Manchia 直命然严关于人，是个少松战议，不会瞒容天气 model"),
     ("zh bad", "在你的生命中，有小于一个毫关事可以说明。确实过厌一种方法，是只针对，没有什么她权利！但此被无论拼"),
     ("zh bad", "但是不过时间？其实，上昨首封与梳堪有许多人一根紧身好的反急，早朔给把手拼在笑诚中的。但其实"),
     ("zh bad", "今天天气很好，我家的猫喜欢吃鱼。"),
    ];
    let ce: Vec<Vec<f32>> = e.embed(&ctx_en).unwrap();
    let cz: Vec<Vec<f32>> = e.embed(&ctx_zh).unwrap();
    for (k, t) in cands {
        let v = &e.embed(&[t]).unwrap()[0];
        let ctx = if k.starts_with("en") { &ce } else { &cz };
        let sims: Vec<f32> = ctx.iter().map(|c| cosine(c, v)).collect();
        let max = sims.iter().cloned().fold(0.0, f32::max);
        let mean = sims.iter().sum::<f32>() / sims.len() as f32;
        println!(
            "{k:8} max {max:.3} mean {mean:.3}  {}",
            t.chars().take(50).collect::<String>()
        );
    }
}
