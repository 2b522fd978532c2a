//! The store contracts, on DynamoDB and S3 as an AWS emulator serves them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::{DynamoStore, S3ObjectStore};
use lanyard_domain::RegistrationStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_store_meets_the_contract() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let counter = AtomicUsize::new(0);
    lanyard_domain::contract::registration_store(|| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let clients = clients.clone();
        async move {
            let resources = create_resources(&clients, &format!("contract{n}"))
                .await
                .unwrap();
            Arc::new(DynamoStore::new(
                clients.dynamodb.clone(),
                resources.names.table,
            )) as Arc<dyn RegistrationStore>
        }
    })
    .await;
}

#[tokio::test]
async fn s3_object_store_meets_the_contract() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "objects").await.unwrap();
    lanyard_domain::contract::object_store(Arc::new(S3ObjectStore::new(
        clients.s3.clone(),
        resources.names.bucket,
    )))
    .await;
}

/// 5 000 sign-ups for 500 seats, 64 requests at a time (a Lambda
/// deployment's concurrency is of this order): exactly 500 confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_sign_ups_fill_five_hundred_seats_exactly() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "seats").await.unwrap();
    let store = Arc::new(DynamoStore::new(
        clients.dynamodb.clone(),
        resources.names.table,
    ));
    lanyard_domain::contract::seats_hold_at_scale(store, 5000, 500, 64).await;
}
