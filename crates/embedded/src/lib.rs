//! The embedded backend: registrations in SQLite, badge files on the local
//! disk, and an in-process durable badge job queue with its workers.
//! Everything `lanyard serve` needs on one machine, with nothing to install.
//!
//! | module | what |
//! |---|---|
//! | `lock` | one process per data directory; a lost database is refused |
//! | `sqlite` | registrations and the badge job queue (schema, writer, queue, rows) |
//! | `backup` | a consistent copy of a live database |
//! | `files` | badge files on disk |
//! | `private` | files and directories for their owner only |
//! | `workers` | the badge workers over the queue |

mod backup;
mod files;
mod lock;
pub mod private;
mod sqlite;
mod workers;

pub use backup::backup_database;
pub use files::FileObjectStore;
pub use lock::{refuse_lost_database, DataDirLock};
pub use sqlite::{SqliteStore, WAL_LIMIT};
pub use workers::{BadgeWorkers, LocalBadgeJobs};
