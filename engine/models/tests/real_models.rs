//! Pulls a real model through the network (or whatever pip is configured with).
//! Runs only when `SPARRING_HOME` is set, so the download lands in a cache that is kept
//! between runs; without it, the test says so and passes.

use sparring_models::{verify, Home, Installer, Manifest, VerifyStatus};

#[test]
fn pulls_real_smollm2() {
    if std::env::var_os("SPARRING_HOME").is_none_or(|h| h.is_empty()) {
        eprintln!(
            "note: pulls_real_smollm2 skipped: set SPARRING_HOME to a cache directory \
             (and SPARRING_PIP_ARGS, e.g. `--find-links DIR`, if needed) to run it"
        );
        return;
    }
    let home = Home::from_env();
    let manifest = Manifest::builtin();
    let entry = manifest.get("smollm2-135m-instruct").unwrap();
    let path = Installer::new(home.clone()).pull(entry).unwrap();
    assert_eq!(path, home.model_path(entry));
    assert!(home.is_installed(entry));
    assert_eq!(verify(&home, entry, false).unwrap(), VerifyStatus::Ok);
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&path).unwrap(), &mut magic).unwrap();
    assert_eq!(&magic, b"GGUF");
}
