//! The embedded backend: registrations in SQLite, badge files on the local
//! disk, and an in-process durable badge job queue with its workers.
//! Everything `lanyard serve` needs on one machine, with nothing to install.

mod files;
mod sqlite;
mod workers;

pub use files::FileObjectStore;
pub use sqlite::{backup_database, DataDirLock, SqliteStore};
pub use workers::{BadgeWorkers, LocalBadgeJobs, RetryPolicy};
