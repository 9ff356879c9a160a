//! A directory a command writes new files into (`new-connector`, `record`): it must not exist,
//! or be empty, so that nothing already there is overwritten or mixed in.

use std::path::Path;

use anyhow::{anyhow, Context as _};

use crate::exit::Failure;

/// Fails with a usage error naming `flag` when `dir` is a file, or a directory that holds
/// anything.
pub fn ensure_free(dir: &Path, flag: &str) -> Result<(), Failure> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || dir.is_file() {
        return Err(Failure::usage(anyhow!(
            "{} already exists and is not empty; choose another {flag}",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes each file (a path relative to `dir`, and its bytes), making the directories it needs.
pub fn write<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), Failure> {
    for (path, bytes) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))
                .map_err(Failure::usage)?;
        }
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write {}", target.display()))
            .map_err(Failure::usage)?;
    }
    Ok(())
}
