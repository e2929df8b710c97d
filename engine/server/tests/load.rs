//! Several trainees chatting at once: every turn answered is stored. The
//! latency numbers belong to `sparring bench serve` (BENCHMARKS.md).

mod common;

use common::{TestServer, PASSWORD};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_lose_no_turns() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let root = server.login("root").await;
    let mut trainees = Vec::new();
    for i in 0..4 {
        let name = format!("load{i}");
        let (s, v) = root
            .post(
                "/api/users",
                json!({ "name": name, "role": "trainee", "password": PASSWORD }),
            )
            .await;
        assert!(s.is_success(), "{v}");
        trainees.push((name, PASSWORD.to_string()));
    }
    let replies: Vec<String> = [
        "I'm sorry about that, let me look into it for you right away.",
        "Could you tell me a bit more about what happened?",
        "I understand. I will check it now and call you back within an hour with an answer.",
    ]
    .map(String::from)
    .to_vec();
    let report = sparring_server::loadtest::run(
        &server.base,
        &trainees,
        "billing-inquiry-en",
        &replies,
        Duration::from_secs(600),
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.turns_done, 12, "{report:?}");
    assert_eq!(report.turns_stored, 12, "{report:?}");
    assert_eq!(report.first_token_ms.len(), 12, "every turn streamed");
}
