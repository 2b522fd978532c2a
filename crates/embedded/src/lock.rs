//! One process per data directory.

use std::path::Path;

/// Holds the data directory for one process: a second `lanyard serve` on the
/// same directory is refused instead of corrupting the job queue.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("lanyard.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "{} is in use by another lanyard process",
                data_dir.display()
            )
        })?;
        Ok(DataDirLock { _file: file })
    }
}
