//! Desks by token hash, kept in memory: a check-in then needs no database
//! read for its token, which was a quarter of its cost (a read transaction
//! and a hop to a blocking thread per request).
//!
//! The cache stays exact, so a revoked token is refused from the next
//! request on. This process's own changes update it. A change made by
//! another process (the command line's `desk revoke` beside a running
//! server) is signalled through a marker file beside the database: every
//! change to the desks rewrites it with new contents once committed, and a
//! lookup that finds contents other than those it last saw empties the
//! cache first. Reading the marker is one small file read, no thread hop.
//! Only tokens that open a desk are kept, so unknown tokens cannot grow it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use lanyard_domain::Desk;

#[derive(Debug)]
pub(super) struct DeskCache {
    marker: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The marker's contents when `desks` was last known to be current.
    seen: Option<Vec<u8>>,
    desks: HashMap<String, Desk>,
}

impl DeskCache {
    /// The cache of the database at `database`; its marker lives beside it.
    pub(super) fn beside(database: &Path) -> DeskCache {
        let mut marker = database.as_os_str().to_owned();
        marker.push("-desks");
        DeskCache {
            marker: PathBuf::from(marker),
            state: Mutex::default(),
        }
    }

    /// The desk `hash` opens, if the cache holds it and nothing changed the
    /// desks since. Else `Err` with the marker's contents as read here
    /// (before the caller reads the database), to hand to [`DeskCache::put`].
    pub(super) fn get(&self, hash: &str) -> Result<Desk, Option<Vec<u8>>> {
        let now = std::fs::read(&self.marker).ok();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.seen != now || now.is_none() {
            // Changed (or never marked): start again from the database.
            state.desks.clear();
            state.seen.clone_from(&now);
            return Err(now);
        }
        state.desks.get(hash).cloned().ok_or(now)
    }

    /// Keeps what the database said `hash` opens, unless the desks changed
    /// while it was read (then the next lookup reads again).
    pub(super) fn put(&self, hash: &str, desk: Desk, marker_before: Option<Vec<u8>>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if marker_before.is_some() && state.seen == marker_before {
            state.desks.insert(hash.to_owned(), desk);
        }
    }

    /// Whether the marker exists (a database made before it has none).
    pub(super) fn marked(&self) -> bool {
        self.marker.exists()
    }

    /// Records a committed change to the desks: this process forgets what it
    /// kept, and the marker gets new contents for every other process.
    pub(super) fn changed(&self) {
        static CHANGES: AtomicU64 = AtomicU64::new(0);
        let contents = format!(
            "{} {} {}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            CHANGES.fetch_add(1, Ordering::Relaxed)
        );
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.desks.clear();
        state.seen = None;
        if let Err(e) = crate::private::write(&self.marker, contents) {
            // Without the marker no process may trust its cache: remove it,
            // which makes every lookup read the database.
            tracing::warn!(error = %e, path = %self.marker.display(),
                "could not mark a change to the desks; desk tokens are read from the database");
            let _ = std::fs::remove_file(&self.marker);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_domain::DeskName;

    fn desk(name: &str) -> Desk {
        Desk {
            name: DeskName::parse(name).unwrap(),
            created_at: "2026-12-04T10:00:00Z".into(),
        }
    }

    #[test]
    fn a_change_in_another_process_empties_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lanyard.sqlite");
        let server = DeskCache::beside(&db);
        let other = DeskCache::beside(&db);
        // Nothing marked yet: nothing is trusted.
        let unmarked = server.get("h").unwrap_err();
        assert_eq!(unmarked, None);
        server.put("h", desk("Door A"), unmarked);
        assert!(server.get("h").is_err());
        server.changed();
        let before = server.get("h").unwrap_err();
        server.put("h", desk("Door A"), before);
        assert_eq!(server.get("h"), Ok(desk("Door A")));
        // Another process revokes: the server's next lookup asks the database.
        other.changed();
        assert!(server.get("h").is_err());
        // A read that raced a change is not kept.
        let stale = server.get("h").unwrap_err();
        other.changed();
        server.put("h", desk("Door A"), stale);
        assert!(server.get("h").is_err());
    }

    #[test]
    fn without_a_marker_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DeskCache::beside(&dir.path().join("lanyard.sqlite"));
        let marker = cache.get("h").unwrap_err();
        cache.put("h", desk("Door A"), marker);
        assert!(cache.get("h").is_err());
    }
}
