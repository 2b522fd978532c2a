//! Seat decisions per second: N sign-ups at once (5 000 unless given) for
//! a conference of C seats (500) with a waiting list, through the real
//! store of each backend: SQLite in a temporary directory, and DynamoDB on
//! the AWS emulator. Prints how many were confirmed (it must be C exactly),
//! how many wait, and the rate.
//!
//! cargo run --release -p lanyard --features aws --example seat_decisions -- [N] [C]

use std::sync::Arc;
use std::time::Instant;

use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::DynamoStore;
use lanyard_domain::contract::{sample, CONFERENCE_A};
use lanyard_domain::{Capacity, RegistrationStore, Seating};

/// Requests in flight on the emulator at once (a Lambda deployment's
/// concurrency is of this order); SQLite takes all N at once.
const EMULATOR_IN_FLIGHT: usize = 64;

async fn run(
    name: &str,
    store: Arc<dyn RegistrationStore>,
    n: usize,
    seats: u32,
    in_flight: usize,
) {
    let capacity = Capacity {
        seats,
        waitlist: true,
    };
    let registrations: Vec<_> = (0..n)
        .map(|i| {
            sample(
                &format!("u{i:05}"),
                CONFERENCE_A,
                &format!("Person {i}"),
                None,
            )
        })
        .collect();
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let mut decisions = tokio::task::JoinSet::new();
    for r in registrations {
        let (store, slots) = (store.clone(), slots.clone());
        decisions.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("open");
            store.insert_seated(&r, capacity).await
        });
    }
    let (mut confirmed, mut waiting, mut errors) = (0, 0, 0);
    while let Some(decided) = decisions.join_next().await {
        match decided.expect("task") {
            Ok(Seating::Confirmed) => confirmed += 1,
            Ok(Seating::Waitlisted) => waiting += 1,
            Ok(Seating::Full) | Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let held = store
        .seats_held(&lanyard_domain::ConferenceId::from_stored(
            CONFERENCE_A.into(),
        ))
        .await
        .expect("count");
    println!(
        "{name:>9}: {n} sign-ups, {seats} seats: {confirmed} confirmed, {waiting} waiting, \
         {errors} errors, {held} seats held; {elapsed:.2} s, {:.0} decisions/s",
        n as f64 / elapsed
    );
    assert_eq!(confirmed, seats as usize, "never over (or under) capacity");
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(5000, |a| a.parse().expect("N"));
    let seats: u32 = args.next().map_or(500, |a| a.parse().expect("C"));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = lanyard_embedded::SqliteStore::open(dir.path().join("lanyard.sqlite"))
        .expect("the database opens");
    run("SQLite", Arc::new(sqlite), n, seats, n.max(1)).await;

    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "seats")
        .await
        .expect("resources");
    let dynamo = DynamoStore::new(clients.dynamodb.clone(), made.names.table.clone());
    run("DynamoDB", Arc::new(dynamo), n, seats, EMULATOR_IN_FLIGHT).await;
}
