//! A scorer that misbehaves on purpose, chosen by `{"mode": …}`, so the host's
//! sandbox is tested against real hostile WebAssembly rather than mocks.

use sparring_scorer_sdk::*;

struct Hostile {
    mode: String,
}

fn score(value: f32, level: &str, evidence: Vec<Span>, tip: String) -> Score {
    Score {
        dimension: "hostility".into(),
        skill_code: "0.0.0".into(),
        value,
        level: level.into(),
        evidence,
        tip,
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    // A frame the optimiser cannot drop: its address escapes.
    let frame = [depth; 64];
    std::hint::black_box(&frame);
    recurse(depth + 1).wrapping_add(frame[3])
}

impl Scorer for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.1.0".into(),
            dimensions: vec![DimensionInfo {
                id: "hostility".into(),
                name_zh: "敌意".into(),
                name_en: "Hostility".into(),
                skill_codes: vec!["0.0.0".into()],
            }],
            config_schema: "{}".into(),
        }
    }

    fn configure(config: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(config).map_err(|e| e.to_string())?;
        let mode = value["mode"].as_str().unwrap_or("ok").to_string();
        if mode == "reject-config" {
            return Err("mode `reject-config` refuses every configuration".into());
        }
        Ok(Hostile { mode })
    }

    fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, String> {
        let reply = &ctx.reply;
        match self.mode.as_str() {
            "ok" => Ok(vec![score(
                50.0,
                "1",
                vec![span(reply, 0, reply.len())],
                "fine".into(),
            )]),
            "trap" => panic!("hostile plugin panics on purpose"),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "stack" => Ok(vec![score(recurse(0) as f32, "1", vec![], String::new())]),
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            // Cheap for fuel, expensive in wall time: only the wall-clock
            // backstop stops it.
            "host-loop" => loop {
                std::hint::black_box(host::segment("我非常理解您的心情"));
            },
            // Echoes the speech features it was given.
            "speech" => Ok(vec![score(
                50.0,
                "1",
                vec![],
                match &ctx.speech {
                    Some(s) => format!(
                        "{} ms, {} per minute, pause {} ms, {} fillers, {} dBFS",
                        s.duration_ms,
                        s.rate_per_minute,
                        s.longest_pause_ms,
                        s.fillers,
                        s.loudness_dbfs
                    ),
                    None => "typed".into(),
                },
            )]),
            "error" => Err("the hostile plugin refuses to score".into()),
            "bad-value" => Ok(vec![score(250.0, "2", vec![], "too high".into())]),
            "nan" => Ok(vec![score(f32::NAN, "2", vec![], "not a number".into())]),
            "bad-level" => Ok(vec![score(50.0, "excellent", vec![], "x".into())]),
            "bad-dimension" => {
                let mut s = score(50.0, "1", vec![], "x".into());
                s.dimension = "undeclared".into();
                Ok(vec![s])
            }
            "bad-span" => Ok(vec![score(
                50.0,
                "1",
                vec![Span {
                    turn: None,
                    start: 0,
                    end: reply.len() as u32 + 10,
                    quote: "not in the reply".into(),
                }],
                "x".into(),
            )]),
            "huge" => Ok(vec![score(50.0, "1", vec![], "x".repeat(8 << 20))]),
            "many" => Ok((0..10_000)
                .map(|_| score(50.0, "1", vec![], "x".into()))
                .collect()),
            // Reports what the sandbox lets it see.
            "probe" => {
                let fs = std::fs::read_dir("/")
                    .map(|_| "readable")
                    .unwrap_or("denied");
                let file = std::fs::read("/etc/passwd")
                    .map(|_| "readable")
                    .unwrap_or("denied");
                let env = std::env::vars().count();
                let args = std::env::args().count();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                let net = std::net::TcpStream::connect("127.0.0.1:9")
                    .map(|_| "connected")
                    .unwrap_or("denied");
                let words = host::segment("我非常理解您的心情").join("/");
                Ok(vec![score(
                    50.0,
                    "1",
                    vec![],
                    format!("fs={fs} file={file} env={env} args={args} time={now} net={net} segment={words}"),
                )])
            }
            other => Err(format!("unknown mode `{other}`")),
        }
    }
}

export_scorer!(Hostile);
