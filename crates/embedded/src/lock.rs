//! The data directory: one process at a time, and a check at start that
//! its database was not lost while its badge files remain.

use std::path::Path;

use anyhow::Context;

/// Holds the data directory for one process: a second `lanyard serve` on the
/// same directory is refused instead of corrupting the job queue.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        crate::private::create_dir(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let path = data_dir.join("lanyard.lock");
        let file = crate::private::file_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "writing {} (the data directory must be writable by this user)",
                    path.display()
                )
            })?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "{} is in use by another lanyard process",
                data_dir.display()
            )
        })?;
        Ok(DataDirLock { _file: file })
    }
}

/// Refuses to start on a data directory whose database is missing or empty
/// while badge files remain beside it: starting would silently make a new,
/// empty database and orphan every attendee's badge.
pub fn refuse_lost_database(data_dir: &Path) -> anyhow::Result<()> {
    let db = data_dir.join("lanyard.sqlite");
    let badges = data_dir.join("objects").join("badges");
    let files = std::fs::read_dir(&badges)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
                .count()
        })
        .unwrap_or(0);
    if files == 0 {
        return Ok(());
    }
    let found = match std::fs::metadata(&db) {
        Ok(meta) if meta.len() > 0 => return Ok(()),
        Ok(_) => "is empty (0 bytes)",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing",
        Err(e) => return Err(e).with_context(|| format!("reading {}", db.display())),
    };
    anyhow::bail!(
        "{} {found}, but {} holds {files} badge files: the database was lost or truncated. \
         Restore it from a backup (see \"Backup and restore\" in the README), \
         or move {} away to start with no registrations",
        db.display(),
        badges.display(),
        data_dir.join("objects").display()
    )
}

#[cfg(test)]
mod tests {
    use super::refuse_lost_database;

    #[test]
    fn an_empty_or_missing_database_beside_badge_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A new data directory, and one with a database but no badges yet, start.
        refuse_lost_database(dir.path()).unwrap();
        let badges = dir.path().join("objects/badges");
        std::fs::create_dir_all(&badges).unwrap();
        std::fs::write(badges.join(".x.png.1.tmp"), b"partial").unwrap();
        refuse_lost_database(dir.path()).unwrap();

        std::fs::write(badges.join("abc.png"), b"png").unwrap();
        let missing = refuse_lost_database(dir.path()).unwrap_err().to_string();
        assert!(
            missing.contains("is missing") && missing.contains("1 badge files"),
            "{missing}"
        );
        std::fs::write(dir.path().join("lanyard.sqlite"), b"").unwrap();
        let empty = refuse_lost_database(dir.path()).unwrap_err().to_string();
        assert!(empty.contains("is empty (0 bytes)"), "{empty}");
        std::fs::write(dir.path().join("lanyard.sqlite"), b"SQLite format 3\0").unwrap();
        refuse_lost_database(dir.path()).unwrap();
    }
}
