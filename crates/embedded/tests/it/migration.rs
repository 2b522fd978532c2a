//! A database written before check-ins opens with every row given a
//! check-in code and nothing else changed.

use lanyard_domain::{CheckinCode, ConferenceId, RegistrationKey, RegistrationStore, UserId};
use lanyard_embedded::SqliteStore;

/// The schema as version 1 wrote it.
const VERSION_1: &str = "
CREATE TABLE registrations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, type TEXT NOT NULL,
    user_name TEXT NOT NULL, phone_number TEXT NOT NULL, company_name TEXT,
    created_at TEXT NOT NULL, badge_status TEXT, badge_token TEXT UNIQUE, badge_error TEXT,
    ticket_code TEXT, UNIQUE (user_id, type));
CREATE TABLE badge_jobs (user_id TEXT NOT NULL, type TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, run_after INTEGER NOT NULL DEFAULT 0,
    claimed INTEGER NOT NULL DEFAULT 0, last_error TEXT, PRIMARY KEY (user_id, type));
INSERT INTO registrations (user_id, type, user_name, phone_number, company_name, created_at, badge_status, badge_token, ticket_code)
VALUES ('old', 'Serverless web project', 'Old Row', '010-1234-5678', NULL, '', NULL, NULL, NULL),
       ('ticketed', 'Serverless web project', 'Had A Code', '010-1234-5678', 'Co', '2026-01-01T00:00:00.000Z',
        'ready', 'AAAAAAAAAAAAAAAAAAAAAA', 'Q2hMZ3V4cmVzZ2VkYWJj');
PRAGMA user_version = 1;
";

fn key(user: &str) -> RegistrationKey {
    RegistrationKey {
        user_id: UserId::parse(user).unwrap(),
        conference: ConferenceId::from_stored("Serverless web project".into()),
    }
}

#[tokio::test]
async fn version_1_rows_get_checkin_codes_and_keep_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lanyard.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(VERSION_1)
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let old = store.get(&key("old")).await.unwrap().unwrap();
    let code = old.checkin_code.clone().expect("a code was given");
    assert_eq!(CheckinCode::parse(code.as_str()), Some(code.clone()));
    assert_eq!(old.badge, None);
    assert!(!old.contact_on_badge);
    assert_eq!(old.checked_in, None);
    let found = store.find_by_checkin_code(code.as_str()).await.unwrap();
    assert_eq!(found.map(|r| r.key()), Some(key("old")));
    // A code an earlier build stored stays, and is found as it was.
    let ticketed = store.get(&key("ticketed")).await.unwrap().unwrap();
    assert_eq!(
        ticketed.checkin_code.as_ref().map(|c| c.as_str()),
        Some("Q2hMZ3V4cmVzZ2VkYWJj")
    );
    assert!(store
        .find_by_checkin_code("Q2hMZ3V4cmVzZ2VkYWJj")
        .await
        .unwrap()
        .is_some());
    drop(store);
    // Opening again changes nothing.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.get(&key("old")).await.unwrap().unwrap().checkin_code,
        Some(code)
    );
}
