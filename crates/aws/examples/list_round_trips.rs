//! Round trips of the organizer list of one conference of N registrations
//! (100 000 unless given) on the AWS emulator, through the real store:
//! the first page, and searches for a common surname, a company one in a
//! hundred works for, and a name no one has.
//!
//! cargo run --release -p lanyard-aws --features emulator --example list_round_trips -- [N]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lanyard_aws::dynamo::to_item;
use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::DynamoStore;
use lanyard_domain::fields::ConferenceId;
use lanyard_domain::{ListQuery, RegistrationStore};

/// Counts the requests a client sends.
#[derive(Debug, Clone, Default)]
struct RoundTrips(Arc<AtomicUsize>);

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// An item's size as DynamoDB counts it: attribute names and values.
fn item_size(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    AttributeValue::Bool(_) => 1,
                    _ => 8,
                }
        })
        .sum()
}

const CONFERENCE: &str = "Serverless web project";
/// Surnames with roughly their share of Korean names (Kim about a fifth).
const SURNAMES: [(&str, u32); 6] = [
    ("Kim", 21),
    ("Lee", 15),
    ("Park", 8),
    ("Choi", 5),
    ("Jung", 4),
    ("Other", 47),
];

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("a number of registrations"))
        .unwrap_or(100_000);
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "lists").await.unwrap();

    let started = Instant::now();
    let mut batch = Vec::new();
    let mut item_bytes = 0usize;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..n {
        let mut pick = (i as u32 * 7919) % 100;
        let surname = SURNAMES
            .iter()
            .find(|(_, share)| {
                let hit = pick < *share;
                pick = pick.saturating_sub(*share);
                hit
            })
            .unwrap()
            .0;
        let company = if i % 100 == 42 {
            "Rare Widgets"
        } else {
            "Acme"
        };
        let mut r = lanyard_domain::contract::sample(
            &format!("user{i:06}"),
            CONFERENCE,
            &format!("{surname} Person{i}"),
            Some(company),
        );
        r.created_at = format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            1 + i / 86_400_000 % 28,
            i / 3_600_000 % 24,
            i / 60_000 % 60,
            i / 1000 % 60,
            i % 1000
        );
        let item = to_item(&r);
        item_bytes += item_size(&item);
        batch.push(
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .unwrap(),
                )
                .build(),
        );
        if batch.len() == 25 || i + 1 == n {
            let (dynamodb, table) = (clients.dynamodb.clone(), made.names.table.clone());
            let requests = std::mem::take(&mut batch);
            if writes.len() >= 8 {
                writes.join_next().await;
            }
            writes.spawn(async move {
                let mut pending = Some(std::collections::HashMap::from([(table, requests)]));
                while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                    let out = dynamodb
                        .batch_write_item()
                        .set_request_items(Some(items))
                        .send()
                        .await
                        .unwrap();
                    pending = out.unprocessed_items;
                }
            });
        }
    }
    while writes.join_next().await.is_some() {}
    println!(
        "{n} registrations of one conference written in {:.0} s; {} bytes an item on average \
         (DynamoDB's measure), so {} items fit in one 1 MB read",
        started.elapsed().as_secs_f64(),
        item_bytes / n,
        (1 << 20) / (item_bytes / n)
    );

    let counter = RoundTrips::default();
    let config = clients
        .dynamodb
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        &made.names.table,
    );
    println!("| list | page size | items on the page | round trips | more to come |");
    println!("|---|---|---|---|---|");
    for (what, search) in [
        ("first page, newest first", None),
        ("search \"kim\" (a fifth of the names)", Some("kim")),
        (
            "search \"rare widgets\" (one in a hundred)",
            Some("rare widgets"),
        ),
        ("search \"nobody\" (no match)", Some("nobody")),
    ] {
        counter.0.store(0, Ordering::Relaxed);
        let page = store
            .list(&ListQuery {
                conference: Some(ConferenceId::from_stored(CONFERENCE.into())),
                search: search.map(str::to_owned),
                limit: 50,
                cursor: None,
                category: None,
            })
            .await
            .unwrap();
        println!(
            "| {what} | 50 | {} | {} | {} |",
            page.items.len(),
            counter.0.load(Ordering::Relaxed),
            if page.next_cursor.is_some() {
                "yes"
            } else {
                "no"
            }
        );
    }
}
