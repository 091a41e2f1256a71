//! Where a live run's socket is, and who may connect to it.
//!
//! Sockets live in a directory only the user can enter: `$XDG_RUNTIME_DIR/lenet-tui/`,
//! else `<state dir>/lenet-tui/sockets/`, made 0700 and refused if another user owns
//! it or others may enter it. A run's socket is `<pid>.sock`, the pid its run
//! directory's lock names, so that `attach RUN` finds it from the run alone. A socket
//! left by a process that died is found dead (nothing answers) and removed, never
//! trusted.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The longest socket path the kernel takes (`sun_path` less its terminating zero).
const MAX_SOCKET_PATH: usize = 107;

/// The directory of this user's live runs' sockets, made if missing.
pub fn socket_dir() -> io::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lenet-tui")
        .ok_or_else(|| io::Error::other("no home directory to keep sockets under"))?;
    let dir = match dirs.runtime_dir() {
        Some(runtime) => runtime.to_path_buf(),
        None => dirs
            .state_dir()
            .unwrap_or_else(|| dirs.cache_dir())
            .join("sockets"),
    };
    private_dir(&dir)?;
    Ok(dir)
}

/// Makes `dir` (0700) if missing; refuses one that another user owns or that others
/// may enter, since whoever can enter it can connect to the runs in it.
fn private_dir(dir: &Path) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(named)?;
    let meta = fs::metadata(dir).map_err(named)?;
    if meta.uid() != rustix::process::getuid().as_raw() {
        return Err(io::Error::other(format!(
            "{}: owned by another user (uid {}); live runs' sockets need a directory of \
             your own",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        // Made by an older version, or by hand: close it rather than refuse.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(named)?;
    }
    Ok(())
}

/// Where a run trained by process `pid` listens: in this user's private directory,
/// or with `shared` where other users can reach it.
pub fn socket_path(pid: u32, shared: bool) -> io::Result<PathBuf> {
    let dir = if shared { shared_dir()? } else { socket_dir()? };
    Ok(dir.join(format!("{pid}.sock")))
}

/// The socket of the live run trained by `pid`: its private one, else its shared one.
pub fn find_socket(pid: u32) -> io::Result<PathBuf> {
    let private = socket_path(pid, false)?;
    if private.exists() {
        return Ok(private);
    }
    let shared = std::env::temp_dir()
        .join(format!("lenet-tui-{}-shared", own_uid()))
        .join(format!("{pid}.sock"));
    Ok(if shared.exists() { shared } else { private })
}

/// `<tmp>/lenet-tui-<uid>-shared/`: others may enter it (0711) to reach a shared run's
/// socket, only this user may write in it; refused if someone else made it.
fn shared_dir() -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lenet-tui-{}-shared", own_uid()));
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    match fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(named(e)),
    }
    // Not followed: a link planted in /tmp by someone else is refused, not used.
    let meta = fs::symlink_metadata(&dir).map_err(named)?;
    if !meta.is_dir() || meta.uid() != own_uid() {
        return Err(io::Error::other(format!(
            "{}: not a directory of yours; remove it or set TMPDIR elsewhere",
            dir.display()
        )));
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).map_err(named)?;
    Ok(dir)
}

/// Listens at `path`, which only this user may connect to (everyone with `shared`:
/// their connections are then view only). A socket already there that answers belongs
/// to a live process and is left alone (an error); one that does not is a dead run's,
/// and is replaced.
pub fn listen(path: &Path, shared: bool) -> io::Result<UnixListener> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(io::Error::other(format!(
            "{}: a socket path may have at most {MAX_SOCKET_PATH} bytes; set \
             XDG_RUNTIME_DIR to a shorter directory",
            path.display()
        )));
    }
    if fs::symlink_metadata(path).is_ok() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{}: another live process listens there", path.display()),
            ));
        }
        tracing::info!("{}: a dead run's socket, removed", path.display());
        fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mode = if shared { 0o666 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// The user id of the process at the other end of `stream` (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let cred = rustix::net::sockopt::socket_peercred(stream)?;
    Ok(cred.uid.as_raw())
}

/// This process's user id.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Removes this process's socket when dropped.
#[derive(Debug)]
pub struct SocketFile(pub PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_sockets_file_is_replaced_and_a_live_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("1.sock");
        let first = listen(&path, false).unwrap();
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let err = listen(&path, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        drop(first);
        // The file stays behind, as after a kill -9; nothing answers it now.
        assert!(path.exists());
        let _second = listen(&path, true).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o666);
        let stream = UnixStream::connect(&path).unwrap();
        assert_eq!(peer_uid(&stream).unwrap(), own_uid());
    }

    #[test]
    fn a_directory_open_to_others_is_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sockets");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    }
}
