//! Files and directories readable by their owner only: the data directory
//! holds names, phone numbers and the organizer token, so whatever the
//! process's umask, lanyard makes directories `0700` and files `0600`.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents as `0700`; an existing `dir` is
/// made `0700` too (its parents are the user's own business).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Creates `dir` and its missing parents as `0700`, leaving an existing
/// one as it is: for the data directory's own subdirectories on every
/// write (a umask can only take bits away, so a new one is `0700`; old
/// ones were made private at start).
pub fn create_missing_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Options that create a file as `0600`.
pub fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(FILE_MODE);
    options
}

/// Creates (or truncates) `path` as a `0600` file.
pub fn create_file(path: &Path) -> io::Result<File> {
    file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Writes `contents` to `path` as a `0600` file.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write;
    create_file(path)?.write_all(contents.as_ref())
}

/// Makes everything below `dir` private: directories `0700`, files
/// `0600`. For data directories written by earlier versions, which left
/// them to the umask. Symbolic links are not followed.
pub fn restrict_tree(dir: &Path) -> io::Result<()> {
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            restrict_tree(&entry.path())?;
        } else if kind.is_file() {
            let mode = entry.metadata()?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(
                    entry.path(),
                    Permissions::from_mode(mode & 0o700 | FILE_MODE),
                )?;
            }
        }
    }
    Ok(())
}
