//! Atomic file writes: a temporary file in the same folder, created
//! exclusively, flushed to disk, then renamed over the target. A crash
//! leaves the old file or the new one, never half of either; the next run
//! removes the temporary file it left ([`remove_stale`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// The temporary name used while `path` is written.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    path.with_file_name(format!(".{}.tmp-{}", file_name(path), std::process::id()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes the temporary files that interrupted writes of `targets` left
/// behind (`.NAME.tmp-PID`, whatever the process), without following links.
/// Returns how many it removed.
pub fn remove_stale(targets: &[PathBuf]) -> Result<usize> {
    let mut removed = 0;
    let mut dirs: Vec<&Path> = targets.iter().filter_map(|t| t.parent()).collect();
    dirs.dedup();
    for dir in dirs {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = targets
                .iter()
                .any(|t| name.starts_with(&format!(".{}.tmp-", file_name(t))));
            if stale {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Creates `tmp` exclusively: a file or link already there (a stale file of
/// an earlier process with the same id, or a planted symlink) is removed,
/// never followed.
fn create_exclusive(tmp: &Path) -> std::io::Result<std::fs::File> {
    let open = || std::fs::OpenOptions::new().write(true).create_new(true).open(tmp);
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(tmp)?;
            open()
        }
        r => r,
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, bytes.len() as u64, |w| w.write_all(bytes))
}

/// Writes `path` atomically from `fill`, which writes its `len` bytes into
/// a buffered writer: a large file need not be held in memory whole.
pub fn write_with(path: &Path, len: u64, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let f = create_exclusive(&tmp)?;
        let mut w = CrashPoint::new(std::io::BufWriter::with_capacity(1 << 20, f), len);
        fill(&mut w)?;
        debug_assert_eq!(
            w.written,
            len,
            "{}: the writer announced another length",
            path.display()
        );
        let f = w.inner.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Writes a string atomically.
pub fn write_str(path: &Path, text: &str) -> Result<()> {
    write(path, text.as_bytes())
}

/// Writes left before one aborts the process half written; 0: never.
static CRASH_COUNTDOWN: AtomicUsize = AtomicUsize::new(0);

/// Testing crash safety: the `n`th atomic write from now (1 = the next one)
/// writes half of its temporary file and aborts the process, as a power cut
/// or `kill -9` in the middle of a write would. 0 turns it off.
#[doc(hidden)]
pub fn crash_during_write(n: usize) {
    CRASH_COUNTDOWN.store(n, Ordering::SeqCst);
}

/// The file being written; when [`crash_during_write`] picked this write,
/// it aborts the process once half of the file's `len` bytes are on disk.
struct CrashPoint {
    inner: std::io::BufWriter<std::fs::File>,
    /// Bytes still to write before aborting; `None`: never.
    left: Option<u64>,
    /// Bytes written so far (checked against the announced length).
    written: u64,
}

impl CrashPoint {
    fn new(inner: std::io::BufWriter<std::fs::File>, len: u64) -> Self {
        let countdown = CRASH_COUNTDOWN.load(Ordering::SeqCst);
        if countdown > 0 {
            CRASH_COUNTDOWN.store(countdown - 1, Ordering::SeqCst);
        }
        let mut w = CrashPoint {
            inner,
            left: (countdown == 1).then_some(len / 2),
            written: 0,
        };
        w.maybe_abort();
        w
    }

    /// Aborts, with what was written on disk, when the countdown is spent.
    fn maybe_abort(&mut self) {
        if self.left == Some(0) {
            let _ = self.inner.flush();
            let _ = self.inner.get_ref().sync_all();
            std::process::abort();
        }
    }
}

impl Write for CrashPoint {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(left) = self.left else {
            let n = self.inner.write(buf)?;
            self.written += n as u64;
            return Ok(n);
        };
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        self.inner.write_all(&buf[..take])?;
        self.written += take as u64;
        self.left = Some(left - take as u64);
        self.maybe_abort();
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
