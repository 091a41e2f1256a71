//! One live owner per run: the process that trains a run holds an advisory lock
//! (`flock`) on the file `.lock` in its directory. The kernel releases it when the
//! process ends, however it ends, so a kill -9 never leaves a stale lock; the file holds
//! the owner's pid so that a refused process can say who has the run.
//!
//! Readers (`runs`, `replay`, `compare`, `predict`) never take the lock; `runs` asks
//! [`holder`] with a shared lock held for an instant, and an owner that starts in that
//! instant tries again before it gives up.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CheckpointError, io_error};

/// The lock file in a run directory.
pub const LOCK_FILE: &str = ".lock";
/// Tries before a busy run is refused, and the wait between them: long enough to
/// outlast a reader's probe, short enough to refuse at once as people count it.
const TRIES: u32 = 10;
const RETRY: Duration = Duration::from_millis(20);
/// A pid is a few digits; anything longer in the file is not one.
const MAX_LOCK_BYTES: u64 = 64;

/// The lock on one run directory, held while this value lives.
#[derive(Debug)]
pub struct RunLock {
    // Holding the open file holds the lock.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the run `dir` for this process, or says which process has it.
    pub fn acquire(dir: &Path) -> Result<Self, CheckpointError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries + 1 < TRIES => {
                    tries += 1;
                    std::thread::sleep(RETRY);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(CheckpointError::Busy {
                        run: dir.to_path_buf(),
                        pid: read_pid(&mut file),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io_error(&path)(e)),
            }
        }
        // Only the owner writes the file, so nobody reads it half-written for long.
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(io_error(&path))?;
        tracing::debug!(run = %dir.display(), "run locked by this process");
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid of the live process that trains the run `dir`, if one does (`Some(None)`
/// when it holds the lock but its pid cannot be read).
pub fn holder(dir: &Path) -> Option<Option<u32>> {
    let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
    match file.try_lock_shared() {
        // Dropping the file releases the shared lock at once.
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_pid(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

/// The pid in a lock file, read as untrusted: a few bytes at most, digits only.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(MAX_LOCK_BYTES).read_to_string(&mut text).ok()?;
    text.trim().parse().ok().filter(|&pid| pid > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None, "no lock file: nobody holds it");
        let first = RunLock::acquire(dir.path()).unwrap();
        let me = std::process::id();
        assert_eq!(holder(dir.path()), Some(Some(me)));
        match RunLock::acquire(dir.path()) {
            Err(CheckpointError::Busy { run, pid }) => {
                assert_eq!(run, dir.path());
                assert_eq!(pid, Some(me));
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        // Asking who holds it does not take it away.
        assert_eq!(holder(dir.path()), Some(Some(me)));
        drop(first);
        assert_eq!(holder(dir.path()), None);
        let again = RunLock::acquire(dir.path()).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
        let mode = std::fs::metadata(again.path()).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o077, 0, "the lock file is the owner's alone");
    }

    #[test]
    fn a_lock_file_with_garbage_names_no_pid() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "x".repeat(10_000)).unwrap();
        let mut file = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(read_pid(&mut file), None);
        // A stale file from a dead owner never blocks anyone.
        RunLock::acquire(dir.path()).unwrap();
    }
}
