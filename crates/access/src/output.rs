//! Atomic file output: write a temporary file beside the target, then rename.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{AccessError, Result};

/// Writes `path` through `write`, so that the file either appears complete or
/// not at all (an existing file is replaced only on success).
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    let temp = temp_path(path);
    let result = File::create(&temp)
        .and_then(|mut file| {
            write(&mut file)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    result.map_err(|e| {
        // Best effort: the temporary file may not even exist.
        let _ = fs::remove_file(&temp);
        AccessError::io(path, e)
    })
}

/// A hidden sibling of `path`, unique per process, in the same directory so
/// the final rename never crosses file systems.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
