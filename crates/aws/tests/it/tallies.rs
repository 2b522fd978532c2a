//! Check-in tallies on DynamoDB are counter items. Items written before
//! the counters (by an earlier lanyard, or the original system) are counted
//! by a scan until `count_untallied` has put them in; from then on a read
//! is the counters alone, whatever was written meanwhile.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lanyard_aws::dynamo::to_item;
use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::DynamoStore;
use lanyard_domain::contract::{sample, CONFERENCE_A, CONFERENCE_B};
use lanyard_domain::fields::ConferenceId;
use lanyard_domain::{
    CheckinCode, FirstCheckin, Registration, RegistrationStore, Scan, ScanTarget,
};

type Counts = BTreeMap<(String, Option<(String, String)>), u64>;

async fn tallies(store: &DynamoStore, conference: Option<&str>) -> Counts {
    let conference = conference.map(|c| ConferenceId::from_stored(c.to_owned()));
    let mut map = Counts::new();
    for t in store.checkin_tallies(conference.as_ref()).await.unwrap() {
        *map.entry((t.conference.as_str().to_owned(), t.checked_in))
            .or_default() += t.count;
    }
    map
}

/// Sums by desk (`None`: not checked in) of one conference.
fn by_desk(counts: &Counts, conference: &str) -> BTreeMap<Option<String>, u64> {
    let mut out = BTreeMap::new();
    for ((c, at), n) in counts {
        if c == conference {
            *out.entry(at.as_ref().map(|(_, d)| d.clone())).or_default() += n;
        }
    }
    out
}

fn quarter_count(counts: &Counts, quarter: &str, desk: &str) -> u64 {
    counts
        .iter()
        .filter(|((_, at), _)| {
            at.as_ref()
                .is_some_and(|(q, d)| q.as_str() == quarter && d.as_str() == desk)
        })
        .map(|(_, n)| n)
        .sum()
}

async fn check_in(store: &DynamoStore, r: &Registration, desk: &str, nonce: &str) {
    let outcome = store
        .record_scan(&Scan {
            target: ScanTarget::Key(r.key()),
            first: FirstCheckin {
                at: lanyard_domain::registration::now_rfc3339(),
                desk: desk.to_owned(),
                nonce: nonce.to_owned(),
            },
            fresh_code: CheckinCode::generate(),
            expires_at: 4_102_444_800,
        })
        .await
        .unwrap()
        .expect("the registration exists");
    assert_eq!(outcome.registration.checked_in.unwrap().desk, desk);
}

/// The DynamoDB operations the emulator recorded from line `from` on.
fn operations(recording: &std::path::Path, from: usize) -> Vec<String> {
    std::fs::read_to_string(recording)
        .unwrap_or_default()
        .lines()
        .skip(from)
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            let target = entry["headers"]["X-Amz-Target"].as_str()?;
            Some(target.split_once('.')?.1.to_owned())
        })
        .collect()
}

fn lines(recording: &std::path::Path) -> usize {
    std::fs::read_to_string(recording)
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tallies_are_counters_once_every_item_is_counted() {
    let recording =
        std::env::temp_dir().join(format!("lanyard-tallies-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&recording);
    let emulator = Emulator::start_with(&[
        ("MOTO_ENABLE_RECORDING", "True"),
        ("MOTO_RECORDER_FILEPATH", recording.to_str().unwrap()),
    ]);
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "tallies").await.unwrap();
    let table = made.names.table.clone();
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let raw_put = |item| {
        clients
            .dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(item))
            .send()
    };

    // Written before the counters: five registrations, two checked in at
    // Door A at 09:20; and the anonymous tally of three erased then, checked
    // in at Door A at 08:05.
    let mut old = Vec::new();
    for i in 0..5 {
        let mut r = sample(&format!("old{i}"), CONFERENCE_A, "Old Attendee", None);
        if i < 2 {
            r.checked_in = Some(FirstCheckin {
                at: "2026-11-28T09:20:00.000Z".into(),
                desk: "Door A".into(),
                nonce: format!("old-{i}"),
            });
        }
        raw_put(to_item(&r)).await.unwrap();
        old.push(r);
    }
    raw_put(std::collections::HashMap::from([
        ("user_id".to_owned(), AttributeValue::S("#erased".into())),
        (
            "type".to_owned(),
            AttributeValue::S(format!("{CONFERENCE_A}\u{1f}2026-11-28T08:05\u{1f}Door A")),
        ),
        (
            "erased_type".to_owned(),
            AttributeValue::S(CONFERENCE_A.into()),
        ),
        (
            "erased_minute".to_owned(),
            AttributeValue::S("2026-11-28T08:05".into()),
        ),
        ("erased_desk".to_owned(), AttributeValue::S("Door A".into())),
        ("erased_count".to_owned(), AttributeValue::N("3".into())),
    ]))
    .await
    .unwrap();

    // Written since: three sign-ups, one of another conference.
    let new: Vec<Registration> = (0..3)
        .map(|i| {
            let conference = if i < 2 { CONFERENCE_A } else { CONFERENCE_B };
            sample(&format!("new{i}"), conference, "New Attendee", None)
        })
        .collect();
    for r in &new {
        store.insert(r).await.unwrap();
    }
    // Writes on both kinds before they are all counted.
    check_in(&store, &old[2], "Door B", "s1").await;
    assert!(store.undo_checkin(&old[0].key()).await.unwrap());
    store.delete(&old[4].key()).await.unwrap().unwrap();
    store
        .erase_keeping_count(&old[1].key())
        .await
        .unwrap()
        .unwrap();
    check_in(&store, &new[0], "Door A", "s2").await;

    let expected_a = BTreeMap::from([
        // old0 (undone), old3, new1
        (None, 3),
        // the three erased before, old1 (erased since), new0
        (Some("Door A".to_owned()), 5),
        // old2
        (Some("Door B".to_owned()), 1),
    ]);
    let start = lines(&recording);
    let before = tallies(&store, None).await;
    assert!(
        operations(&recording, start).iter().any(|o| o == "Scan"),
        "items not yet counted are read by a scan"
    );
    assert_eq!(by_desk(&before, CONFERENCE_A), expected_a);
    assert_eq!(by_desk(&before, CONFERENCE_B), BTreeMap::from([(None, 1)]));
    assert_eq!(quarter_count(&before, "2026-11-28T08:00", "Door A"), 3);
    assert_eq!(quarter_count(&before, "2026-11-28T09:15", "Door A"), 1);
    assert_eq!(
        tallies(&store, Some(CONFERENCE_A)).await,
        before
            .iter()
            .filter(|((c, _), _)| c == CONFERENCE_A)
            .map(|(k, v)| (k.clone(), *v))
            .collect::<Counts>()
    );

    // old0, old2, old3 and the erased tally; counted once.
    assert_eq!(store.count_untallied().await.unwrap(), 4);
    assert_eq!(store.count_untallied().await.unwrap(), 0);
    assert_eq!(tallies(&store, None).await, before);

    // Every item counted: reads are the counters, without a scan.
    let start = lines(&recording);
    assert_eq!(tallies(&store, None).await, before);
    let read = operations(&recording, start);
    assert!(!read.is_empty(), "the reads were recorded");
    assert!(
        read.iter().all(|o| o == "Query" || o == "GetItem"),
        "a read of counted tallies: {read:?}"
    );

    // And they follow what is written from then on.
    assert!(store.undo_checkin(&old[2].key()).await.unwrap());
    store.delete(&old[3].key()).await.unwrap().unwrap();
    check_in(&store, &old[0], "Door B", "s3").await;
    store
        .erase_keeping_count(&new[0].key())
        .await
        .unwrap()
        .unwrap();
    let after = tallies(&store, None).await;
    assert_eq!(
        by_desk(&after, CONFERENCE_A),
        BTreeMap::from([
            // old2 (undone), new1
            (None, 2),
            (Some("Door A".to_owned()), 5),
            // old0
            (Some("Door B".to_owned()), 1),
        ])
    );
    let _ = std::fs::remove_file(&recording);
}
