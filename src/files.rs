//! Files that appear whole or not at all: written to a temporary file beside where
//! they go (`tempfile`), flushed to the disk, then moved into place, never over a file
//! that is already there unless the caller says it is replacing one.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file being written; dropped without [`NewFile::persist`], it leaves nothing.
#[derive(Debug)]
pub struct NewFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl NewFile {
    /// Starts `target`: a hidden `.NAME.XXXXXX.part` in its directory (the same file
    /// system, so the final move is a rename).
    pub fn create(target: &Path) -> io::Result<NewFile> {
        let dir = parent(target);
        let name = target
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| named(dir, e))?;
        Ok(NewFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// The open file, for writing.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Where the file is while it is written.
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes the file to the disk and moves it to its target, which must not exist:
    /// a file that appeared there meanwhile is kept, and this one is removed.
    pub fn persist(self) -> io::Result<PathBuf> {
        self.finish(false, false)
    }

    /// As [`NewFile::persist`], but a file that cannot be moved into place stays under
    /// its temporary name, which the error gives (for what cannot be made again).
    pub fn persist_or_keep(self) -> io::Result<PathBuf> {
        self.finish(false, true)
    }

    /// As [`NewFile::persist`], but replaces a file already at the target (one the
    /// caller has found wrong).
    pub fn replace(self) -> io::Result<PathBuf> {
        self.finish(true, false)
    }

    fn finish(mut self, replace: bool, keep: bool) -> io::Result<PathBuf> {
        let target = self.target;
        let synced = self
            .temp
            .as_file_mut()
            .flush()
            .and_then(|()| self.temp.as_file().sync_all());
        let moved = match synced {
            Err(error) => Err(tempfile::PersistError {
                error,
                file: self.temp,
            }),
            Ok(()) if replace => self.temp.persist(&target).map(drop),
            Ok(()) => self.temp.persist_noclobber(&target).map(drop),
        };
        if let Err(e) = moved {
            let error = if e.error.kind() == io::ErrorKind::AlreadyExists {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: already exists; not overwritten", target.display()),
                )
            } else {
                named(&target, e.error)
            };
            if !keep {
                return Err(error);
            }
            let temp = e.file.path().to_path_buf();
            return Err(match e.file.keep() {
                Ok(_) => {
                    io::Error::new(error.kind(), format!("{error}; kept as {}", temp.display()))
                }
                Err(_) => error,
            });
        }
        // The rename itself must survive a crash too.
        let dir = parent(&target);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| named(dir, e))?;
        Ok(target)
    }
}

/// Writes `bytes` as the new file `target` (see [`NewFile::persist`]).
pub fn write_new(target: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut file = NewFile::create(target)?;
    file.file()
        .write_all(bytes)
        .map_err(|e| named(file.temp_path(), e))?;
    file.persist()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `e` with the path it is about, the way the rest of lenet-tui reports files.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_new_file_appears_whole_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("shot.png");
        let mut file = NewFile::create(&target).unwrap();
        file.file().write_all(b"half").unwrap();
        let hidden = names(dir.path());
        assert_eq!(hidden.len(), 1);
        assert!(
            hidden[0].starts_with(".shot.png.") && hidden[0].ends_with(".part"),
            "{hidden:?}"
        );
        assert!(!target.exists(), "nothing at the target until it is whole");
        assert_eq!(file.persist().unwrap(), target);
        assert_eq!(std::fs::read(&target).unwrap(), b"half");

        let e = write_new(&target, b"other").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(e.to_string().contains("shot.png: already exists"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"half", "not clobbered");
        assert_eq!(names(dir.path()), ["shot.png"], "no temporary file left");
    }

    #[test]
    fn replace_overwrites_and_a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.gz");
        std::fs::write(&target, "wrong").unwrap();
        let mut file = NewFile::create(&target).unwrap();
        file.file().write_all(b"right").unwrap();
        file.replace().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"right");

        let mut file = NewFile::create(&dir.path().join("b.gz")).unwrap();
        file.file().write_all(b"cut short").unwrap();
        drop(file);
        assert_eq!(names(dir.path()), ["a.gz"]);

        // What cannot be made again stays under its temporary name.
        let mut file = NewFile::create(&target).unwrap();
        file.file().write_all(b"a recording").unwrap();
        let temp = file.temp_path().to_path_buf();
        let e = file.persist_or_keep().unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("kept as {}", temp.display())),
            "{e}"
        );
        assert_eq!(std::fs::read(&temp).unwrap(), b"a recording");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let e = write_new(Path::new("/nonexistent-dir/x.png"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent-dir: "), "{e}");
    }
}
