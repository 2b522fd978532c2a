//! The database's write-ahead log stays bounded under load, even when a
//! read is always under way (busy organizer lists), which on its own stops
//! SQLite from ever starting the log over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lanyard_domain::contract::{sample, CONFERENCE_A};
use lanyard_domain::RegistrationStore;
use lanyard_embedded::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stays_bounded_while_readers_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lanyard.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let wal = dir.path().join("lanyard.sqlite-wal");
    let writing = Arc::new(AtomicBool::new(true));
    // Readers that always overlap, as a busy organizer list's do: at every
    // moment one of them is reading.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let writing = writing.clone();
            tokio::spawn(async move {
                let query = lanyard_domain::ListQuery {
                    conference: None,
                    search: Some("N".into()),
                    limit: 100,
                    cursor: None,
                    category: None,
                };
                while writing.load(Ordering::Relaxed) {
                    store.list(&query).await.unwrap();
                }
            })
        })
        .collect();
    let sampler = {
        let wal = wal.clone();
        let writing = writing.clone();
        std::thread::spawn(move || {
            let mut largest = 0;
            while writing.load(Ordering::Relaxed) {
                largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                std::thread::sleep(Duration::from_millis(5));
            }
            largest
        })
    };
    // Writes, each its own commit: well over the limit's worth of log.
    let company = "C".repeat(100);
    let mut written = 0;
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..30_000 {
        let store = store.clone();
        let r = sample(
            &format!("w{i}"),
            CONFERENCE_A,
            &"N".repeat(100),
            Some(&company),
        );
        batch.spawn(async move { store.insert(&r).await });
        if batch.len() >= 8 {
            batch.join_next().await.unwrap().unwrap().unwrap();
            written += 1;
        }
    }
    while let Some(done) = batch.join_next().await {
        done.unwrap().unwrap();
        written += 1;
    }
    writing.store(false, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    let largest = sampler.join().unwrap();
    assert_eq!(written, 30_000);
    let limit = lanyard_embedded::WAL_LIMIT;
    eprintln!(
        "largest log: {} MiB (limit {} MiB)",
        largest >> 20,
        limit >> 20
    );
    // The log is emptied once past the limit; what a round of checkpoints
    // lets through on top is small.
    assert!(
        largest < limit + (16 << 20),
        "the log reached {largest} bytes"
    );
}
