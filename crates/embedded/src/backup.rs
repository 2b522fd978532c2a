//! Online backup of a live database.

use std::path::Path;

use rusqlite::Connection;

/// Copies a live database (one a running server is writing to) into `dest`
/// with SQLite's online backup: the copy is one consistent snapshot, taken
/// through a read-only connection, so the server is never blocked or changed.
pub fn backup_database(source: &Path, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        anyhow::bail!("{} already exists; choose a new file", dest.display());
    }
    let src = Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(5))?;
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    {
        let mut target = Connection::open(&tmp)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut target)?;
        // All pages in one step: the copy is of a single moment, however busy the server is.
        backup.run_to_completion(i32::MAX, std::time::Duration::from_millis(10), None)?;
    }
    // The copy is a plain database file (no WAL), ready to be opened as is.
    let copy = Connection::open(&tmp)?;
    copy.execute_batch("PRAGMA journal_mode = DELETE;")?;
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    drop(copy);
    if check != "ok" {
        anyhow::bail!("the copy failed its integrity check: {check}");
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dest)?;
    Ok(())
}
