//! Badge files under the data directory, written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lanyard_domain::{ObjectStore, StoreError};

/// Objects as files below one root directory. Keys are checked so that no key
/// can name a path outside the root.
#[derive(Debug, Clone)]
pub struct FileObjectStore {
    root: PathBuf,
}

impl FileObjectStore {
    pub fn open(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        crate::private::create_dir(&root)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", root.display()))?;
        Ok(FileObjectStore { root })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let safe = !key.is_empty()
            && key.len() <= 200
            && key.split('/').all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            });
        if !safe {
            return Err(StoreError::unavailable(format!(
                "refusing object key {key:?}"
            )));
        }
        Ok(self.root.join(key))
    }
}

/// Numbers the temporary files of this process's writes.
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes each file so that a crash leaves either its old content or the
/// whole new one: a temporary file in the same directory, fsync, rename, and
/// an fsync of each directory so the renames themselves are durable.
fn write_all_atomically(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let dir = path.parent().expect("object paths have a parent");
            crate::private::create_missing_dir(dir)?;
            let name = path
                .file_name()
                .expect("object paths have a file name")
                .to_string_lossy();
            // Unique per write: two requests may write one file at once
            // (its first download, say), and neither may take the other's.
            let tmp = dir.join(format!(
                ".{name}.{}.{}.tmp",
                std::process::id(),
                WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let mut file = crate::private::file_options()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            staged.push(tmp.clone());
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        let mut dirs: Vec<&Path> = Vec::new();
        for ((path, _), tmp) in files.iter().zip(&staged) {
            std::fs::rename(tmp, path)?;
            let dir = path.parent().expect("object paths have a parent");
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        for tmp in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

#[async_trait]
impl ObjectStore for FileObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        lanyard_domain::blocking::spawn_blocking(move || write_all_atomically(&[(path, bytes)]))
            .await
            .map_err(StoreError::unavailable)?
            .map_err(StoreError::unavailable)
    }

    /// One directory sync for all the objects instead of one each.
    async fn put_all(
        &self,
        objects: Vec<(String, Vec<u8>, &'static str)>,
    ) -> Result<(), StoreError> {
        let paths = objects
            .into_iter()
            .map(|(key, bytes, _)| Ok((self.path(&key)?, bytes)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        lanyard_domain::blocking::spawn_blocking(move || write_all_atomically(&paths))
            .await
            .map_err(StoreError::unavailable)?
            .map_err(StoreError::unavailable)
    }

    /// One blocking task for all the files instead of one each.
    async fn delete_all(&self, keys: Vec<String>) -> Result<(), StoreError> {
        let paths = keys
            .iter()
            .map(|key| self.path(key))
            .collect::<Result<Vec<_>, StoreError>>()?;
        lanyard_domain::blocking::spawn_blocking(move || {
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::unavailable(e)),
                }
            }
            Ok(())
        })
        .await
        .map_err(StoreError::unavailable)?
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }
}

/// Removes temporary files a crash may have left behind.
pub(crate) fn remove_stale_temp_files(root: &Path) {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return;
    };
    for dir in dirs.flatten() {
        let Ok(entries) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl FileObjectStore {
    /// Cleans up after an unclean stop; call before serving.
    pub fn recover(&self) {
        remove_stale_temp_files(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_cannot_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileObjectStore::open(dir.path().join("objects")).unwrap();
        for key in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "",
            "a//b",
            ".hidden",
            "a\0b",
            "a\\b",
        ] {
            assert!(
                store.put(key, b"x".to_vec(), "text/plain").await.is_err(),
                "{key:?}"
            );
        }
        store
            .put("badges/ok.png", b"png".to_vec(), "image/png")
            .await
            .unwrap();
        assert_eq!(store.get("badges/ok.png").await.unwrap().unwrap(), b"png");
        store.delete("badges/ok.png").await.unwrap();
        store.delete("badges/ok.png").await.unwrap();
        assert!(store.get("badges/ok.png").await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_writes_of_one_file_at_once_all_succeed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileObjectStore::open(dir.path().join("objects")).unwrap();
        let writes: Vec<_> = (0..16u8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let bytes = vec![i; 256 * 1024];
                    store.put("badges/same.pdf", bytes, "application/pdf").await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().expect("each write succeeds");
        }
        let kept = store.get("badges/same.pdf").await.unwrap().unwrap();
        assert_eq!(kept.len(), 256 * 1024);
        assert!(
            kept.iter().all(|b| *b == kept[0]),
            "one write's bytes, whole"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path().join("objects/badges"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["same.pdf"], "no temporary file is left");
    }
}
