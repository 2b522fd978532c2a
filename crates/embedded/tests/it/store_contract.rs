//! The registration store contract, on real SQLite files.

use std::sync::Arc;

use lanyard_domain::RegistrationStore;
use lanyard_embedded::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    lanyard_domain::contract::registration_store(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("store-{n}.sqlite"));
        async move { Arc::new(SqliteStore::open(path).unwrap()) as Arc<dyn RegistrationStore> }
    })
    .await;
}

#[tokio::test]
async fn file_object_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = lanyard_embedded::FileObjectStore::open(dir.path().join("objects")).unwrap();
    lanyard_domain::contract::object_store(Arc::new(store)).await;
}

/// 5 000 sign-ups at once for 500 seats: exactly 500 confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_sign_ups_fill_five_hundred_seats_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("seats.sqlite")).unwrap());
    lanyard_domain::contract::seats_hold_at_scale(store, 5000, 500, 5000).await;
}
