//! The contract every [`RegistrationStore`] adapter must meet. Each adapter's
//! tests call [`registration_store`] with a way to make a fresh, empty store,
//! so SQLite, DynamoDB and any future adapter are held to the same rules.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use crate::checkin::{
    CheckinCode, CheckinResult, Desk, DeskName, FirstCheckin, Scan, ScanOutcome, ScanTarget, Tally,
};
use crate::fields::{BadgeToken, ConferenceId, UserId};
use crate::ports::{ListQuery, ObjectStore, RegistrationStore, StoreError};
use crate::registration::{
    now_rfc3339, BadgeInfo, BadgeStatus, Person, Registration, RegistrationKey,
};

pub const CONFERENCE_A: &str = "Serverless web project";
pub const CONFERENCE_B: &str = "About cloud computing";

/// A registration for tests, with a pending badge.
pub fn sample(user_id: &str, conference: &str, name: &str, company: Option<&str>) -> Registration {
    Registration {
        user_id: UserId::parse(user_id).expect("valid test user id"),
        conference: ConferenceId::from_stored(conference.to_owned()),
        person: Person::parse(name, "+82 10-1234-5678", company).expect("a valid test person"),
        created_at: now_rfc3339(),
        badge: Some(BadgeInfo::pending()),
        checkin_code: Some(CheckinCode::generate()),
        contact_on_badge: false,
        checked_in: None,
        details: Default::default(),
        seat: Default::default(),
    }
}

/// Runs every contract check, each on a fresh store from `make`.
pub async fn registration_store<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn RegistrationStore>>,
{
    insert_then_get_round_trips(make().await).await;
    duplicates_are_refused_and_never_overwrite(make().await).await;
    concurrent_duplicates_have_one_winner(make().await).await;
    list_by_user_returns_only_that_user(make().await).await;
    paging_returns_every_item_exactly_once(make().await).await;
    filters_by_conference_and_search(make().await).await;
    a_conferences_list_is_newest_first(make().await).await;
    bad_cursors_are_refused(make().await).await;
    badge_tokens_find_their_registration(make().await).await;
    delete_removes_and_returns(make().await).await;
    reset_and_finish_badge_follow_the_token(make().await).await;
    a_render_of_an_older_revision_is_never_recorded(make().await).await;
    failed_badges_wait_for_their_retry_time(make().await).await;
    registrations_without_badge_load(make().await).await;
    stored_values_are_trusted_as_they_are(make().await).await;
    consent_and_checkin_round_trip(make().await).await;
    reset_badge_writes_what_the_badge_shows(make().await).await;
    checkin_codes_find_their_registration(make().await).await;
    the_first_checkin_wins_a_race(make().await).await;
    checkin_gives_a_code_to_registrations_without_one(make().await).await;
    undo_removes_the_checkin(make().await).await;
    nonces_keep_their_first_answer(make().await).await;
    tallies_count_registrations_and_checkins(make().await).await;
    tallies_follow_every_write(make().await).await;
    erasure_keeps_only_anonymous_counts(make().await).await;
    desks_are_named_unique_and_revocable(make().await).await;
    details_round_trip_and_change_with_the_badge(make().await).await;
    concurrent_sign_ups_never_pass_capacity(make().await).await;
    a_full_conference_without_a_waiting_list_stores_nothing(make().await).await;
    seats_move_only_from_their_states_and_within_capacity(make().await).await;
    forms_are_kept_and_replaced(make().await).await;
    notices_commit_with_their_registration(make().await).await;
    the_outbox_claims_leases_retries_and_finishes(make().await).await;
    registrations_are_found_by_email(make().await).await;
}

fn confirmation_of(r: &Registration) -> crate::notify::Notice {
    crate::notify::Notice::mail(
        &r.key(),
        crate::notify::MailKind::Confirmation,
        &r.created_at,
    )
}

async fn notices_commit_with_their_registration(store: Arc<dyn RegistrationStore>) {
    use crate::seats::{Capacity, Seating};
    let first = sample("kim", CONFERENCE_A, "Kim", None);
    let hook = crate::notify::Notice::webhook(
        "https://example.org/h",
        "registration.created",
        &first.key(),
        &first.created_at,
    );
    store
        .insert_noting(&first, &[confirmation_of(&first), hook.clone()])
        .await
        .unwrap();
    assert_eq!(store.notices_waiting().await.unwrap(), 2);
    // A duplicate sign-up writes neither registration nor notice.
    let again = sample("kim", CONFERENCE_A, "Someone Else", None);
    assert!(matches!(
        store
            .insert_noting(&again, &[confirmation_of(&again)])
            .await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.notices_waiting().await.unwrap(), 2);
    // Seated: confirmed and waitlisted sign-ups write theirs; a full
    // conference without a waiting list writes none.
    let one_seat = Capacity {
        seats: 1,
        waitlist: true,
    };
    let seated = sample("lee", CONFERENCE_B, "Lee", None);
    assert_eq!(
        store
            .insert_seated_noting(&seated, one_seat, &[confirmation_of(&seated)])
            .await
            .unwrap(),
        Seating::Confirmed
    );
    let waiting = sample("park", CONFERENCE_B, "Park", None);
    assert_eq!(
        store
            .insert_seated_noting(&waiting, one_seat, &[confirmation_of(&waiting)])
            .await
            .unwrap(),
        Seating::Waitlisted
    );
    let refused = sample("choi", CONFERENCE_B, "Choi", None);
    let full = Capacity {
        seats: 1,
        waitlist: false,
    };
    assert_eq!(
        store
            .insert_seated_noting(&refused, full, &[confirmation_of(&refused)])
            .await
            .unwrap(),
        Seating::Full
    );
    assert_eq!(store.notices_waiting().await.unwrap(), 4);
    let claimed = store
        .claim_notices(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let mut ids: Vec<String> = claimed.iter().map(|q| q.notice.id.clone()).collect();
    ids.sort();
    let mut expected = vec![
        confirmation_of(&first).id,
        hook.id,
        confirmation_of(&seated).id,
        confirmation_of(&waiting).id,
    ];
    expected.sort();
    assert_eq!(ids, expected);
    // Outbox entries are no registrations.
    let page = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
}

async fn the_outbox_claims_leases_retries_and_finishes(store: Arc<dyn RegistrationStore>) {
    use std::time::Duration;
    let rs: Vec<Registration> = (0..5)
        .map(|i| sample(&format!("u{i}"), CONFERENCE_A, "Kim", None))
        .collect();
    let notices: Vec<_> = rs.iter().map(confirmation_of).collect();
    store.enqueue_notices(&notices).await.unwrap();
    // Enqueued again (a retried request): kept once.
    store.enqueue_notices(&notices[..2]).await.unwrap();
    assert_eq!(store.notices_waiting().await.unwrap(), 5);
    // Claims do not overlap while their lease runs.
    let lease = Duration::from_secs(60);
    let (a, b) = tokio::join!(store.claim_notices(3, lease), store.claim_notices(3, lease));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut seen: Vec<String> = a.iter().chain(&b).map(|q| q.notice.id.clone()).collect();
    let taken = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), taken, "a notice claimed twice at once");
    assert_eq!(taken, 5);
    assert!(a.iter().chain(&b).all(|q| q.attempts == 0));
    assert!(store.claim_notices(10, lease).await.unwrap().is_empty());
    // Read back whole.
    let one = a
        .iter()
        .chain(&b)
        .find(|q| q.notice.id == notices[0].id)
        .unwrap();
    assert_eq!(one.notice, notices[0]);
    // One delivered, one due again at once with its attempt counted, one
    // due later; the rest wait for their lease.
    store
        .finish_notices(&[notices[0].id.clone()])
        .await
        .unwrap();
    store
        .retry_notice(&notices[1].id, 1, Duration::ZERO, "connection refused")
        .await
        .unwrap();
    store
        .retry_notice(&notices[2].id, 1, Duration::from_secs(3600), "451")
        .await
        .unwrap();
    let due = store.claim_notices(10, lease).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].notice.id, notices[1].id);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(store.notices_waiting().await.unwrap(), 4);
    // A lease that ran out (its carrier stopped) makes the notice due again.
    store
        .retry_notice(&notices[3].id, 0, Duration::ZERO, "")
        .await
        .unwrap();
    let short = store
        .claim_notices(10, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(short.len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store.claim_notices(10, lease).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].notice.id, notices[3].id);
    let all: Vec<String> = notices.iter().map(|n| n.id.clone()).collect();
    store.finish_notices(&all).await.unwrap();
    assert_eq!(store.notices_waiting().await.unwrap(), 0);
    // Delivered notices enqueued again (a repeated request) are not sent again.
    store.enqueue_notices(&notices).await.unwrap();
    assert_eq!(store.notices_waiting().await.unwrap(), 0);
    assert!(store.claim_notices(10, lease).await.unwrap().is_empty());
}

async fn registrations_are_found_by_email(store: Arc<dyn RegistrationStore>) {
    let email = |s: &str| crate::fields::Email::parse(s).unwrap().unwrap();
    let mut a = sample("kim", CONFERENCE_A, "Kim", None);
    a.details.email = Some(email("Kim.Gil@Example.org"));
    let mut b = sample("kim", CONFERENCE_B, "Kim", None);
    b.details.email = Some(email("kim.gil@example.org"));
    let mut other = sample("lee", CONFERENCE_A, "Lee", None);
    other.details.email = Some(email("lee@example.org"));
    let none = sample("park", CONFERENCE_A, "Park", None);
    for r in [&a, &b, &other, &none] {
        store.insert(r).await.unwrap();
    }
    let mut found: Vec<RegistrationKey> = store
        .find_by_email(&email("KIM.GIL@example.ORG"), 20)
        .await
        .unwrap()
        .iter()
        .map(Registration::key)
        .collect();
    found.sort();
    let mut expected = vec![a.key(), b.key()];
    expected.sort();
    assert_eq!(found, expected);
    assert!(store
        .find_by_email(&email("nobody@example.org"), 20)
        .await
        .unwrap()
        .is_empty());
    // A changed address is found by its new value only.
    let mut moved = other.clone();
    moved.details.email = Some(email("lee.new@example.org"));
    store.reset_badge(&moved).await.unwrap();
    assert!(store
        .find_by_email(&email("lee@example.org"), 20)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .find_by_email(&email("lee.new@example.org"), 20)
            .await
            .unwrap()
            .len(),
        1
    );
    // Deleted: gone from the lookup too.
    store.delete(&a.key()).await.unwrap();
    assert_eq!(
        store
            .find_by_email(&email("kim.gil@example.org"), 20)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn forms_are_kept_and_replaced(store: Arc<dyn RegistrationStore>) {
    let a = ConferenceId::from_stored(CONFERENCE_A.into());
    let b = ConferenceId::from_stored(CONFERENCE_B.into());
    assert!(store.forms().await.unwrap().is_empty());
    store.put_form(&a, "email = \"off\"\n").await.unwrap();
    store
        .put_form(&b, "[[question]]\nid = \"q\"\n")
        .await
        .unwrap();
    store.put_form(&a, "email = \"required\"\n").await.unwrap();
    let mut forms = store.forms().await.unwrap();
    forms.sort();
    assert_eq!(
        forms,
        vec![
            (b.clone(), "[[question]]\nid = \"q\"\n".to_owned()),
            (a.clone(), "email = \"required\"\n".to_owned()),
        ]
    );
    // Forms are no registrations.
    let page = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

fn with_details(mut r: Registration) -> Registration {
    use crate::form::Answer;
    r.details = crate::form::Details {
        email: crate::fields::Email::parse("Gil.Dong@Example.ORG").unwrap(),
        category: Some("speaker".into()),
        answers: [
            ("job".to_owned(), Answer::Text("Engineer".into())),
            (
                "size".to_owned(),
                Answer::Choices(vec!["M".into(), "L".into()]),
            ),
            ("first".to_owned(), Answer::Yes(true)),
        ]
        .into(),
    };
    r
}

async fn details_round_trip_and_change_with_the_badge(store: Arc<dyn RegistrationStore>) {
    let r = with_details(sample("asked", CONFERENCE_A, "Asked", None));
    assert_eq!(
        r.details.email.as_ref().unwrap().as_str(),
        "Gil.Dong@example.org"
    );
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.key()).await.unwrap(), Some(r.clone()));
    let listed = store
        .list(&ListQuery {
            conference: Some(r.conference.clone()),
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.items, vec![r.clone()]);
    // The list filters by category, alone or with a search.
    let other = sample("plain", CONFERENCE_A, "Asked Too", None);
    store.insert(&other).await.unwrap();
    for (category, search, want) in [
        (Some("speaker"), None, vec![r.clone()]),
        (Some("speaker"), Some("asked"), vec![r.clone()]),
        (Some("staff"), None, vec![]),
        (None, Some("asked"), vec![other.clone(), r.clone()]),
    ] {
        let page = store
            .list(&ListQuery {
                conference: Some(r.conference.clone()),
                category: category.map(str::to_owned),
                search: search.map(str::to_owned),
                limit: 10,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items, want, "{category:?} {search:?}");
    }
    let mut changed = r.clone();
    changed.details.category = None;
    changed.details.email = None;
    changed.details.answers.remove("size");
    store.reset_badge(&changed).await.unwrap().unwrap();
    let stored = store.get(&r.key()).await.unwrap().unwrap();
    assert_eq!(stored.details, changed.details);
}

fn capacity(seats: u32, waitlist: bool) -> crate::seats::Capacity {
    crate::seats::Capacity { seats, waitlist }
}

async fn concurrent_sign_ups_never_pass_capacity(store: Arc<dyn RegistrationStore>) {
    use crate::seats::{SeatStatus, Seating};
    // Another conference's seats are its own.
    store
        .insert_seated(
            &sample("other", CONFERENCE_B, "Other", None),
            capacity(1, true),
        )
        .await
        .unwrap();
    let attempts: Vec<_> = (0..120)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = sample(&format!("seat{i}"), CONFERENCE_A, "Seated", None);
                store.insert_seated(&r, capacity(15, true)).await.unwrap()
            })
        })
        .collect();
    let mut confirmed = 0;
    for attempt in attempts {
        if attempt.await.unwrap() == Seating::Confirmed {
            confirmed += 1;
        }
    }
    assert_eq!(confirmed, 15, "exactly the capacity is confirmed");
    let conference = ConferenceId::from_stored(CONFERENCE_A.into());
    assert_eq!(store.seats_held(&conference).await.unwrap(), 15);
    let all = collect_all(
        &store,
        ListQuery {
            conference: Some(conference.clone()),
            limit: 100,
            ..ListQuery::default()
        },
    )
    .await;
    assert_eq!(all.len(), 120);
    let stored_confirmed = all
        .iter()
        .filter(|r| r.seat.status == SeatStatus::Confirmed)
        .count();
    assert_eq!(stored_confirmed, 15);
    assert!(all.iter().all(|r| matches!(
        r.seat.status,
        SeatStatus::Confirmed | SeatStatus::Waitlisted
    )));
    // The waiting list, longest waiting first, holds the other 105.
    let waiting = store
        .seat_queue(&conference, &crate::seats::SeatQueue::Waiting, 200)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 105);
    assert!(waiting
        .windows(2)
        .all(|w| w[0].created_at <= w[1].created_at));
}

async fn a_full_conference_without_a_waiting_list_stores_nothing(
    store: Arc<dyn RegistrationStore>,
) {
    use crate::seats::Seating;
    let first = sample("first", CONFERENCE_A, "First", None);
    let second = sample("second", CONFERENCE_A, "Second", None);
    assert_eq!(
        store
            .insert_seated(&first, capacity(1, false))
            .await
            .unwrap(),
        Seating::Confirmed
    );
    assert!(matches!(
        store.insert_seated(&first, capacity(5, false)).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(
        store
            .insert_seated(&second, capacity(1, false))
            .await
            .unwrap(),
        Seating::Full
    );
    assert_eq!(store.get(&second.key()).await.unwrap(), None);
}

async fn seats_move_only_from_their_states_and_within_capacity(store: Arc<dyn RegistrationStore>) {
    use crate::seats::{Seat, SeatChange, SeatQueue, SeatStatus, Seating};
    let conference = ConferenceId::from_stored(CONFERENCE_A.into());
    let seated = sample("seated", CONFERENCE_A, "Seated", None);
    let waiting = sample("waiting", CONFERENCE_A, "Waiting", None);
    let later = sample("later", CONFERENCE_A, "Later", None);
    for (r, want) in [
        (&seated, Seating::Confirmed),
        (&waiting, Seating::Waitlisted),
        (&later, Seating::Waitlisted),
    ] {
        assert_eq!(
            store.insert_seated(r, capacity(1, true)).await.unwrap(),
            want
        );
    }
    let offer = Seat {
        status: SeatStatus::Offered,
        offer_expires_at: Some("2026-01-01T00:00:00.000Z".into()),
    };
    // No seat is free.
    assert_eq!(
        store
            .change_seat(&waiting.key(), &[SeatStatus::Waitlisted], &offer, Some(1))
            .await
            .unwrap(),
        SeatChange::Full
    );
    // Only from the states named.
    let withdrawn = Seat {
        status: SeatStatus::Withdrawn,
        offer_expires_at: None,
    };
    assert_eq!(
        store
            .change_seat(&seated.key(), &[SeatStatus::Offered], &withdrawn, Some(1))
            .await
            .unwrap(),
        SeatChange::Moved
    );
    assert_eq!(
        store
            .change_seat(&seated.key(), &[SeatStatus::Confirmed], &withdrawn, Some(1))
            .await
            .unwrap(),
        SeatChange::Done
    );
    assert_eq!(store.seats_held(&conference).await.unwrap(), 0);
    assert_eq!(
        store
            .change_seat(&waiting.key(), &[SeatStatus::Waitlisted], &offer, Some(1))
            .await
            .unwrap(),
        SeatChange::Done
    );
    let offered = store.get(&waiting.key()).await.unwrap().unwrap();
    assert_eq!(offered.seat, offer);
    assert_eq!(store.seats_held(&conference).await.unwrap(), 1);
    // The offer ran out before this time, not before an earlier one.
    let due = |at: &str| SeatQueue::OffersExpiredBefore(at.to_owned());
    let expired = store
        .seat_queue(&conference, &due("2026-01-01T00:00:01.000Z"), 10)
        .await
        .unwrap();
    assert_eq!(expired, vec![offered.clone()]);
    assert!(store
        .seat_queue(&conference, &due("2025-12-31T23:59:59.000Z"), 10)
        .await
        .unwrap()
        .is_empty());
    let waiting_now = store
        .seat_queue(&conference, &SeatQueue::Waiting, 10)
        .await
        .unwrap();
    assert_eq!(
        waiting_now
            .iter()
            .map(|r| r.user_id.as_str())
            .collect::<Vec<_>>(),
        vec!["later"]
    );
    // The offered seat is the last one: `later` waits on.
    assert_eq!(
        store
            .change_seat(&later.key(), &[SeatStatus::Waitlisted], &offer, Some(1))
            .await
            .unwrap(),
        SeatChange::Full
    );
    // Deleting a seat holder gives its seat back.
    store.delete(&waiting.key()).await.unwrap().unwrap();
    assert_eq!(store.seats_held(&conference).await.unwrap(), 0);
    assert_eq!(
        store
            .change_seat(
                &later.key(),
                &[SeatStatus::Waitlisted],
                &Seat::confirmed(),
                Some(1)
            )
            .await
            .unwrap(),
        SeatChange::Done
    );
    assert_eq!(store.seats_held(&conference).await.unwrap(), 1);
    let confirmed = store.get(&later.key()).await.unwrap().unwrap();
    assert_eq!(confirmed.seat, Seat::confirmed());
}

fn first(desk: &str, nonce: &str) -> FirstCheckin {
    FirstCheckin {
        at: now_rfc3339(),
        desk: desk.to_owned(),
        nonce: nonce.to_owned(),
    }
}

/// Records a scan of `target` at `desk` with `nonce`.
async fn scan(
    store: &dyn RegistrationStore,
    target: ScanTarget,
    desk: &str,
    nonce: &str,
) -> Option<ScanOutcome> {
    store
        .record_scan(&Scan {
            target,
            first: first(desk, nonce),
            fresh_code: CheckinCode::generate(),
            expires_at: 4_102_444_800,
        })
        .await
        .unwrap()
}

fn by_key(r: &Registration) -> ScanTarget {
    ScanTarget::Key(r.key())
}

fn by_code(r: &Registration) -> ScanTarget {
    ScanTarget::Code(r.checkin_code.as_ref().unwrap().as_str().to_owned())
}

async fn consent_and_checkin_round_trip(store: Arc<dyn RegistrationStore>) {
    let mut r = sample("consent", CONFERENCE_A, "Consenting", None);
    r.contact_on_badge = true;
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.key()).await.unwrap(), Some(r.clone()));
    let after = scan(store.as_ref(), by_code(&r), "Door A", "n1")
        .await
        .unwrap();
    assert_eq!(after.result, CheckinResult::CheckedIn);
    assert_eq!(
        store.get(&r.key()).await.unwrap(),
        Some(after.registration.clone())
    );
    assert!(after.registration.contact_on_badge);
    assert_eq!(
        after.registration.checked_in.as_ref().unwrap().desk,
        "Door A"
    );
}

async fn reset_badge_writes_what_the_badge_shows(store: Arc<dyn RegistrationStore>) {
    let r = sample("fixer", CONFERENCE_A, "Typo Nmae", Some("Old Co"));
    store.insert(&r).await.unwrap();
    let code = r.checkin_code.clone().unwrap();
    scan(store.as_ref(), by_key(&r), "Door A", "n1")
        .await
        .unwrap();
    let mut changed = store.get(&r.key()).await.unwrap().unwrap();
    let checked_in = changed.checked_in.clone();
    changed.person = Person::parse("Typo Name", "+1 555 0100", None).unwrap();
    changed.contact_on_badge = true;
    changed.checked_in = None;
    assert_eq!(store.reset_badge(&changed).await.unwrap(), Some(0));
    let stored = store.get(&r.key()).await.unwrap().unwrap();
    assert_eq!(stored.person.user_name.as_str(), "Typo Name");
    assert_eq!(stored.person.company_name, None);
    assert!(stored.contact_on_badge);
    // The phone an organizer corrected; never the creation time or the check-in.
    assert_eq!(stored.person.phone_number.as_str(), "+1 555 0100");
    assert_eq!(stored.created_at, r.created_at);
    assert_eq!(stored.checked_in, checked_in);
    assert_eq!(stored.checkin_code, Some(code));
}

async fn checkin_codes_find_their_registration(store: Arc<dyn RegistrationStore>) {
    let a = sample("coded", CONFERENCE_A, "Coded", None);
    let b = sample("coded", CONFERENCE_B, "Coded", None);
    store.insert(&a).await.unwrap();
    store.insert(&b).await.unwrap();
    for r in [&a, &b] {
        let code = r.checkin_code.as_ref().unwrap().as_str();
        assert_eq!(
            store.find_by_checkin_code(code).await.unwrap().as_ref(),
            Some(r)
        );
        let nonce = r.conference.as_str();
        let found = scan(store.as_ref(), by_code(r), "Door A", nonce)
            .await
            .unwrap();
        assert_eq!(found.registration.key(), r.key());
    }
    let unknown = CheckinCode::generate();
    assert_eq!(
        store.find_by_checkin_code(unknown.as_str()).await.unwrap(),
        None
    );
    let nobody = ScanTarget::Code(unknown.as_str().to_owned());
    assert!(scan(store.as_ref(), nobody, "Door A", "u").await.is_none());
    store.delete(&a.key()).await.unwrap();
    let code = a.checkin_code.as_ref().unwrap().as_str();
    assert_eq!(store.find_by_checkin_code(code).await.unwrap(), None);
    assert!(scan(store.as_ref(), by_code(&a), "Door A", "m")
        .await
        .is_none());
}

async fn the_first_checkin_wins_a_race(store: Arc<dyn RegistrationStore>) {
    let r = sample("raced", CONFERENCE_A, "Raced", None);
    store.insert(&r).await.unwrap();
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (store, r) = (store.clone(), r.clone());
            tokio::spawn(async move {
                let desk = if i < 10 { "Door A" } else { "Door B" };
                // Two scans share each nonce: a replay racing its original
                // is one scan.
                let nonce = format!("nonce-{}", i / 2);
                let target = if i % 3 == 0 { by_code(&r) } else { by_key(&r) };
                let outcome = scan(store.as_ref(), target, desk, &nonce).await.unwrap();
                (desk, nonce, outcome)
            })
        })
        .collect();
    let mut firsts = HashSet::new();
    let mut winners = HashSet::new();
    for attempt in attempts {
        let (desk, nonce, outcome) = attempt.await.unwrap();
        let f = outcome.registration.checked_in.unwrap();
        if outcome.result == CheckinResult::CheckedIn {
            assert_eq!((f.desk.as_str(), f.nonce.as_str()), (desk, nonce.as_str()));
            winners.insert(nonce);
        }
        firsts.insert((f.at, f.desk, f.nonce));
    }
    assert_eq!(firsts.len(), 1, "every caller sees the one first check-in");
    assert_eq!(
        winners.len(),
        1,
        "one scan wins, told so however often it is sent"
    );
    let stored = store.get(&r.key()).await.unwrap().unwrap();
    let f = stored.checked_in.unwrap();
    assert!(firsts.contains(&(f.at, f.desk, f.nonce)));
    let missing = sample("nobody", CONFERENCE_A, "Nobody", None);
    assert!(scan(store.as_ref(), by_key(&missing), "Door A", "x")
        .await
        .is_none());
}

async fn checkin_gives_a_code_to_registrations_without_one(store: Arc<dyn RegistrationStore>) {
    let mut r = sample("codeless", CONFERENCE_A, "Codeless", None);
    r.badge = None;
    r.checkin_code = None;
    store.insert(&r).await.unwrap();
    let after = scan(store.as_ref(), by_key(&r), "Door A", "n")
        .await
        .unwrap();
    let code = after
        .registration
        .checkin_code
        .clone()
        .expect("a code was given");
    assert_eq!(
        store
            .find_by_checkin_code(code.as_str())
            .await
            .unwrap()
            .map(|r| r.key()),
        Some(r.key())
    );
    // A registration with a code keeps it.
    let again = scan(store.as_ref(), by_key(&r), "Door B", "m")
        .await
        .unwrap();
    assert_eq!(again.registration.checkin_code, Some(code));
}

async fn undo_removes_the_checkin(store: Arc<dyn RegistrationStore>) {
    let r = sample("undone", CONFERENCE_A, "Undone", None);
    store.insert(&r).await.unwrap();
    scan(store.as_ref(), by_key(&r), "Door A", "1")
        .await
        .unwrap();
    assert!(store.undo_checkin(&r.key()).await.unwrap());
    assert_eq!(store.get(&r.key()).await.unwrap().unwrap().checked_in, None);
    let again = scan(store.as_ref(), by_key(&r), "Door B", "2")
        .await
        .unwrap();
    assert_eq!(again.result, CheckinResult::CheckedIn);
    assert_eq!(again.registration.checked_in.unwrap().desk, "Door B");
    let missing = sample("nobody", CONFERENCE_A, "Nobody", None);
    assert!(!store.undo_checkin(&missing.key()).await.unwrap());
}

async fn nonces_keep_their_first_answer(store: Arc<dyn RegistrationStore>) {
    let r = sample("replayed", CONFERENCE_A, "Replayed", None);
    store.insert(&r).await.unwrap();
    let store = store.as_ref();
    let n1 = "0f7c9e6a-5d1b-4c2e-9a57-3f0e2b1c4d5e";
    assert_eq!(
        scan(store, by_code(&r), "Door A", n1).await.unwrap().result,
        CheckinResult::CheckedIn
    );
    assert_eq!(
        scan(store, by_code(&r), "Door A", "n2")
            .await
            .unwrap()
            .result,
        CheckinResult::AlreadyCheckedIn
    );
    // A replay answers as the first time, by code or by key.
    assert_eq!(
        scan(store, by_key(&r), "Door A", n1).await.unwrap().result,
        CheckinResult::CheckedIn
    );
    // Undone, the replays still get their first answers and change nothing.
    assert!(store.undo_checkin(&r.key()).await.unwrap());
    let replay = scan(store, by_code(&r), "Door A", n1).await.unwrap();
    assert_eq!(replay.result, CheckinResult::CheckedIn);
    assert_eq!(replay.registration.checked_in, None);
    assert_eq!(
        scan(store, by_code(&r), "Door A", "n2")
            .await
            .unwrap()
            .result,
        CheckinResult::AlreadyCheckedIn
    );
    assert_eq!(store.get(&r.key()).await.unwrap().unwrap().checked_in, None);
    // A nonce names one scan: sent again with another code, it is still
    // answered as that scan, and the other registration is untouched.
    let other_person = sample("bystander", CONFERENCE_A, "Bystander", None);
    store.insert(&other_person).await.unwrap();
    let reused = scan(store, by_code(&other_person), "Door A", n1)
        .await
        .unwrap();
    assert_eq!(reused.registration.key(), r.key());
    assert_eq!(
        store
            .get(&other_person.key())
            .await
            .unwrap()
            .unwrap()
            .checked_in,
        None
    );
    // Nonces are per desk: the same nonce from another desk is a new scan.
    let other = scan(store, by_code(&r), "Door B", n1).await.unwrap();
    assert_eq!(other.result, CheckinResult::CheckedIn);
    assert_eq!(other.registration.checked_in.unwrap().desk, "Door B");
    // Remembered scans are not registrations.
    let listed = store
        .list(&ListQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
}

/// Tallies summed by conference and check-in, in order.
async fn tally_map(
    store: &dyn RegistrationStore,
    conference: Option<&ConferenceId>,
) -> std::collections::BTreeMap<(String, Option<(String, String)>), u64> {
    let mut map = std::collections::BTreeMap::new();
    for t in store.checkin_tallies(conference).await.unwrap() {
        *map.entry((t.conference.as_str().to_owned(), t.checked_in))
            .or_default() += t.count;
    }
    map
}

async fn erasure_keeps_only_anonymous_counts(store: Arc<dyn RegistrationStore>) {
    let plain = sample(
        "erase-plain",
        CONFERENCE_A,
        "Erased Attendee",
        Some("Erased Co"),
    );
    let door = sample("erase-door", CONFERENCE_A, "Checked In", None);
    let other = sample("erase-kept", CONFERENCE_B, "Kept Attendee", None);
    for r in [&plain, &door, &other] {
        store.insert(r).await.unwrap();
    }
    scan(store.as_ref(), by_key(&door), "Door A", "erase-1")
        .await
        .unwrap();
    let before = tally_map(store.as_ref(), None).await;

    let removed = store.erase_keeping_count(&plain.key()).await.unwrap();
    assert_eq!(removed.map(|r| r.key()), Some(plain.key()));
    let removed = store
        .erase_keeping_count(&door.key())
        .await
        .unwrap()
        .unwrap();
    assert!(
        removed.checked_in.is_some(),
        "what was erased is returned whole"
    );

    // Gone by every way in.
    for r in [&plain, &door] {
        assert_eq!(store.get(&r.key()).await.unwrap(), None);
        let token = &r.badge.as_ref().unwrap().token;
        assert_eq!(store.find_by_badge_token(token).await.unwrap(), None);
        let code = r.checkin_code.as_ref().unwrap().as_str();
        assert_eq!(store.find_by_checkin_code(code).await.unwrap(), None);
        assert!(store.list_by_user(&r.user_id).await.unwrap().is_empty());
    }
    let a = ConferenceId::from_stored(CONFERENCE_A.into());
    let page = store
        .list(&ListQuery {
            conference: Some(a.clone()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());
    // The same counts, by conference, minute and desk.
    assert_eq!(tally_map(store.as_ref(), None).await, before);
    let only_a = tally_map(store.as_ref(), Some(&a)).await;
    assert_eq!(only_a.values().sum::<u64>(), 2);
    assert!(only_a.keys().all(|(c, _)| c == CONFERENCE_A));
    // Erasing again counts nothing twice.
    assert_eq!(store.erase_keeping_count(&plain.key()).await.unwrap(), None);
    assert_eq!(tally_map(store.as_ref(), None).await, before);
    // The key is free for a new registration, counted on its own.
    store.insert(&plain).await.unwrap();
    assert_eq!(
        tally_map(store.as_ref(), Some(&a))
            .await
            .values()
            .sum::<u64>(),
        3
    );
}

async fn tallies_count_registrations_and_checkins(store: Arc<dyn RegistrationStore>) {
    let mut keys = Vec::new();
    for i in 0..5 {
        let conference = if i < 4 { CONFERENCE_A } else { CONFERENCE_B };
        let r = sample(&format!("t{i}"), conference, "Tallied", None);
        store.insert(&r).await.unwrap();
        keys.push((r.key(), r.checkin_code.unwrap()));
    }
    for (i, (key, _)) in keys.iter().take(3).enumerate() {
        let desk = if i == 0 { "Door B" } else { "Door A" };
        scan(
            store.as_ref(),
            ScanTarget::Key(key.clone()),
            desk,
            &i.to_string(),
        )
        .await
        .unwrap();
    }
    let mut tallies = store.checkin_tallies(None).await.unwrap();
    let sum = |t: &[Tally], f: &dyn Fn(&Tally) -> bool| -> u64 {
        t.iter().filter(|x| f(x)).map(|x| x.count).sum()
    };
    assert_eq!(sum(&tallies, &|_| true), 5);
    assert_eq!(sum(&tallies, &|t| t.conference.as_str() == CONFERENCE_B), 1);
    assert_eq!(sum(&tallies, &|t| t.checked_in.is_some()), 3);
    assert_eq!(
        sum(&tallies, &|t| t
            .checked_in
            .as_ref()
            .is_some_and(|(_, d)| d == "Door A")),
        2
    );
    for t in &tallies {
        if let Some((at, _)) = &t.checked_in {
            assert_eq!(at.len(), 16, "cut to the minute: {at}");
        }
    }
    let a = ConferenceId::from_stored(CONFERENCE_A.into());
    tallies = store.checkin_tallies(Some(&a)).await.unwrap();
    assert!(tallies.iter().all(|t| t.conference == a));
    assert_eq!(sum(&tallies, &|_| true), 4);
}

/// Every write moves the tallies with it: sign-ups (seated and
/// waitlisted too), check-ins, their undoing, deletions and erasures.
async fn tallies_follow_every_write(store: Arc<dyn RegistrationStore>) {
    use crate::seats::{Capacity, Seating};
    let a = ConferenceId::from_stored(CONFERENCE_A.into());
    // (not checked in, checked in at Door A, checked in at Door B) of A.
    let counts = || async {
        let map = tally_map(store.as_ref(), Some(&a)).await;
        let at = |desk: Option<&str>| -> u64 {
            map.iter()
                .filter(|((_, c), _)| c.as_ref().map(|(_, d)| d.as_str()) == desk)
                .map(|(_, n)| *n)
                .sum()
        };
        (at(None), at(Some("Door A")), at(Some("Door B")))
    };
    assert_eq!(counts().await, (0, 0, 0));
    let capacity = Capacity {
        seats: 1,
        waitlist: true,
    };
    let seated = sample("w-seated", CONFERENCE_A, "Seated", None);
    let waiting = sample("w-waiting", CONFERENCE_A, "Waiting", None);
    assert_eq!(
        store
            .insert_seated_noting(&seated, capacity, &[])
            .await
            .unwrap(),
        Seating::Confirmed
    );
    assert_eq!(
        store
            .insert_seated_noting(&waiting, capacity, &[])
            .await
            .unwrap(),
        Seating::Waitlisted
    );
    let plain: Vec<Registration> = (0..4)
        .map(|i| sample(&format!("w{i}"), CONFERENCE_A, "Written", None))
        .collect();
    for r in &plain {
        store.insert(r).await.unwrap();
    }
    // A refused duplicate counts nothing.
    assert!(store.insert(&plain[0]).await.is_err());
    assert_eq!(counts().await, (6, 0, 0));
    scan(store.as_ref(), by_key(&plain[0]), "Door A", "fw-1").await;
    scan(store.as_ref(), by_code(&plain[1]), "Door B", "fw-2").await;
    scan(store.as_ref(), by_key(&seated), "Door A", "fw-3").await;
    // A second scan of someone checked in counts nothing.
    scan(store.as_ref(), by_key(&plain[0]), "Door B", "fw-4").await;
    assert_eq!(counts().await, (3, 2, 1));
    assert!(store.undo_checkin(&seated.key()).await.unwrap());
    // Undoing what is not checked in changes nothing.
    assert!(store.undo_checkin(&seated.key()).await.unwrap());
    assert_eq!(counts().await, (4, 1, 1));
    // Deleted: gone from the counts, checked in or not.
    store.delete(&plain[1].key()).await.unwrap().unwrap();
    store.delete(&plain[2].key()).await.unwrap().unwrap();
    assert_eq!(store.delete(&plain[2].key()).await.unwrap(), None);
    assert_eq!(counts().await, (3, 1, 0));
    // Erased: kept in the counts, where they were.
    store.erase_keeping_count(&plain[0].key()).await.unwrap();
    store.erase_keeping_count(&plain[3].key()).await.unwrap();
    assert_eq!(counts().await, (3, 1, 0));
    // Checked in again after an undo: counted at its new desk.
    scan(store.as_ref(), by_key(&seated), "Door B", "fw-5").await;
    assert_eq!(counts().await, (2, 1, 1));
}

async fn desks_are_named_unique_and_revocable(store: Arc<dyn RegistrationStore>) {
    let desk = |name: &str| Desk {
        name: DeskName::parse(name).unwrap(),
        created_at: now_rfc3339(),
    };
    let (a, b) = (desk("Door A"), desk("문 B"));
    store.put_desk(&b, "hash-b").await.unwrap();
    store.put_desk(&a, "hash-a").await.unwrap();
    assert!(matches!(
        store.put_desk(&desk("Door A"), "hash-c").await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.desks().await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(
        store.desk_by_token_hash("hash-a").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.desk_by_token_hash("hash-c").await.unwrap(), None);
    // A new token for a desk: the old one opens nothing from then on; an
    // expected hash that is not the desk's changes nothing.
    assert!(store
        .replace_desk_token(&a.name, None, "hash-a2")
        .await
        .unwrap());
    assert_eq!(store.desk_by_token_hash("hash-a").await.unwrap(), None);
    assert_eq!(
        store.desk_by_token_hash("hash-a2").await.unwrap(),
        Some(a.clone())
    );
    assert!(!store
        .replace_desk_token(&a.name, Some("hash-a"), "hash-a3")
        .await
        .unwrap());
    assert_eq!(store.desk_by_token_hash("hash-a3").await.unwrap(), None);
    assert!(store
        .replace_desk_token(&a.name, Some("hash-a2"), "hash-a3")
        .await
        .unwrap());
    assert_eq!(
        store.desk_by_token_hash("hash-a3").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.desk_by_token_hash("hash-a2").await.unwrap(), None);
    let nobody = DeskName::parse("Door Z").unwrap();
    assert!(!store
        .replace_desk_token(&nobody, None, "hash-z")
        .await
        .unwrap());
    assert_eq!(store.desk_by_token_hash("hash-z").await.unwrap(), None);
    assert!(store.delete_desk(&a.name).await.unwrap());
    assert!(!store.delete_desk(&a.name).await.unwrap());
    assert_eq!(store.desk_by_token_hash("hash-a3").await.unwrap(), None);
    assert!(!store
        .replace_desk_token(&a.name, None, "hash-a4")
        .await
        .unwrap());
    assert_eq!(store.desks().await.unwrap(), vec![b]);
    // Desks are not registrations.
    assert!(store
        .list(&ListQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn insert_then_get_round_trips(store: Arc<dyn RegistrationStore>) {
    let r = sample(
        "ada",
        CONFERENCE_A,
        "Ada Lovelace",
        Some("Engines; Ltd, \\ \"quoted\""),
    );
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.key()).await.unwrap(), Some(r.clone()));
    let other = RegistrationKey {
        user_id: r.user_id.clone(),
        conference: ConferenceId::from_stored(CONFERENCE_B.into()),
    };
    assert_eq!(store.get(&other).await.unwrap(), None);
}

async fn duplicates_are_refused_and_never_overwrite(store: Arc<dyn RegistrationStore>) {
    let first = sample("kim", CONFERENCE_A, "김철수", Some("First"));
    store.insert(&first).await.unwrap();
    let second = sample("kim", CONFERENCE_A, "Impostor", Some("Second"));
    assert!(matches!(
        store.insert(&second).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.get(&first.key()).await.unwrap(), Some(first.clone()));
    // The same user at another conference is a different registration.
    store
        .insert(&sample("kim", CONFERENCE_B, "김철수", None))
        .await
        .unwrap();
}

async fn concurrent_duplicates_have_one_winner(store: Arc<dyn RegistrationStore>) {
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = sample("race", CONFERENCE_A, &format!("Racer {i}"), None);
                (store.insert(&r).await, r)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (result, r) = attempt.await.unwrap();
        match result {
            Ok(()) => winners.push(r),
            Err(StoreError::Duplicate) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent insert wins");
    assert_eq!(
        store.get(&winners[0].key()).await.unwrap().as_ref(),
        Some(&winners[0])
    );
}

async fn list_by_user_returns_only_that_user(store: Arc<dyn RegistrationStore>) {
    store
        .insert(&sample("lee", CONFERENCE_A, "Lee", None))
        .await
        .unwrap();
    store
        .insert(&sample("lee", CONFERENCE_B, "Lee", None))
        .await
        .unwrap();
    store
        .insert(&sample("leex", CONFERENCE_A, "Other", None))
        .await
        .unwrap();
    let found = store
        .list_by_user(&UserId::parse("lee").unwrap())
        .await
        .unwrap();
    let conferences: Vec<_> = found.iter().map(|r| r.conference.as_str()).collect();
    assert_eq!(conferences, vec![CONFERENCE_B, CONFERENCE_A]);
    assert!(store
        .list_by_user(&UserId::parse("nobody").unwrap())
        .await
        .unwrap()
        .is_empty());
}

async fn collect_all(
    store: &Arc<dyn RegistrationStore>,
    mut query: ListQuery,
) -> Vec<Registration> {
    let mut all = Vec::new();
    for _ in 0..1000 {
        let page = store.list(&query).await.unwrap();
        assert!(
            page.items.len() <= query.limit,
            "a page never exceeds its limit"
        );
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return all,
        }
    }
    panic!("paging did not end");
}

async fn paging_returns_every_item_exactly_once(store: Arc<dyn RegistrationStore>) {
    let mut expected = HashSet::new();
    for i in 0..57 {
        let r = sample(
            &format!("user{i:03}"),
            if i % 2 == 0 {
                CONFERENCE_A
            } else {
                CONFERENCE_B
            },
            &format!("Person {i}"),
            None,
        );
        store.insert(&r).await.unwrap();
        expected.insert(r.key());
    }
    for limit in [1, 10, 56, 57, 100] {
        let all = collect_all(
            &store,
            ListQuery {
                limit,
                ..Default::default()
            },
        )
        .await;
        let keys: Vec<_> = all.iter().map(Registration::key).collect();
        let unique: HashSet<_> = keys.iter().cloned().collect();
        assert_eq!(keys.len(), unique.len(), "no repeats with limit {limit}");
        assert_eq!(unique, expected, "nothing skipped with limit {limit}");
    }
}

async fn filters_by_conference_and_search(store: Arc<dyn RegistrationStore>) {
    store
        .insert(&sample("a1", CONFERENCE_A, "Alice Kim", Some("Acme")))
        .await
        .unwrap();
    store
        .insert(&sample("a2", CONFERENCE_B, "Bob Park", Some("ACME Korea")))
        .await
        .unwrap();
    store
        .insert(&sample("a3", CONFERENCE_A, "홍길동", Some("서버리스")))
        .await
        .unwrap();
    store
        .insert(&sample(
            "a4",
            CONFERENCE_B,
            "Ödön Horváth",
            Some("Ärzte GmbH"),
        ))
        .await
        .unwrap();
    let ids = |items: Vec<Registration>| {
        let mut v: Vec<String> = items.into_iter().map(|r| r.user_id.to_string()).collect();
        v.sort();
        v
    };
    let q = |conference: Option<&str>, search: Option<&str>| ListQuery {
        conference: conference.map(|c| ConferenceId::from_stored(c.into())),
        search: search.map(str::to_owned),
        limit: 2,
        cursor: None,
        category: None,
    };
    assert_eq!(
        ids(collect_all(&store, q(Some(CONFERENCE_A), None)).await),
        ["a1", "a3"]
    );
    assert_eq!(
        ids(collect_all(&store, q(None, Some("acme"))).await),
        ["a1", "a2"]
    );
    assert_eq!(
        ids(collect_all(&store, q(None, Some("길동"))).await),
        ["a3"]
    );
    assert_eq!(
        ids(collect_all(&store, q(Some(CONFERENCE_B), Some("kim"))).await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(collect_all(&store, q(None, Some("park"))).await),
        ["a2"]
    );
    // Case and normalisation are folded the Unicode way, not only for ASCII.
    for search in ["ÖDÖN", "ödön", "O\u{308}DO\u{308}N", "horváth", "ÄRZTE"] {
        assert_eq!(
            ids(collect_all(&store, q(None, Some(search))).await),
            ["a4"],
            "{search:?}"
        );
    }
}

async fn a_conferences_list_is_newest_first(store: Arc<dyn RegistrationStore>) {
    // An item without a creation time (the original system's) first, then
    // one a second: the list gives them back the other way round, page by
    // page, and the other conference's not at all.
    let mut expected = Vec::new();
    let mut old = sample("original", CONFERENCE_A, "Original Item", None);
    old.created_at = String::new();
    store.insert(&old).await.unwrap();
    expected.push("original".to_owned());
    for i in 0..7 {
        let mut r = sample(&format!("n{i}"), CONFERENCE_A, "Newer Person", None);
        r.created_at = format!("2026-11-0{}T10:00:00.000Z", i + 1);
        store.insert(&r).await.unwrap();
        expected.push(r.user_id.to_string());
        let other = sample(&format!("o{i}"), CONFERENCE_B, "Other Person", None);
        store.insert(&other).await.unwrap();
    }
    expected.reverse();
    for limit in [1, 3, 8, 50] {
        let listed = collect_all(
            &store,
            ListQuery {
                conference: Some(ConferenceId::from_stored(CONFERENCE_A.into())),
                limit,
                ..Default::default()
            },
        )
        .await;
        let users: Vec<String> = listed.iter().map(|r| r.user_id.to_string()).collect();
        assert_eq!(users, expected, "limit {limit}");
    }
}

async fn bad_cursors_are_refused(store: Arc<dyn RegistrationStore>) {
    for cursor in ["not-a-cursor", "%%%", "eyJ4IjoxfQ", ""] {
        let query = ListQuery {
            limit: 10,
            cursor: Some(cursor.into()),
            ..Default::default()
        };
        if cursor.is_empty() {
            continue;
        }
        assert!(
            matches!(store.list(&query).await, Err(StoreError::InvalidCursor)),
            "{cursor:?}"
        );
    }
}

async fn badge_tokens_find_their_registration(store: Arc<dyn RegistrationStore>) {
    let r = sample("tok", CONFERENCE_A, "Token Holder", None);
    store.insert(&r).await.unwrap();
    let token = r.badge.as_ref().unwrap().token.clone();
    assert_eq!(store.find_by_badge_token(&token).await.unwrap(), Some(r));
    assert_eq!(
        store
            .find_by_badge_token(&BadgeToken::generate())
            .await
            .unwrap(),
        None
    );
}

async fn delete_removes_and_returns(store: Arc<dyn RegistrationStore>) {
    let r = sample("gone", CONFERENCE_A, "Soon Gone", None);
    store.insert(&r).await.unwrap();
    assert_eq!(store.delete(&r.key()).await.unwrap(), Some(r.clone()));
    assert_eq!(store.get(&r.key()).await.unwrap(), None);
    assert_eq!(store.delete(&r.key()).await.unwrap(), None);
    let token = r.badge.as_ref().unwrap().token.clone();
    assert_eq!(store.find_by_badge_token(&token).await.unwrap(), None);
    // The key is free again.
    store
        .insert(&sample("gone", CONFERENCE_A, "Back Again", None))
        .await
        .unwrap();
}

async fn reset_and_finish_badge_follow_the_token(store: Arc<dyn RegistrationStore>) {
    let mut r = sample("badge", CONFERENCE_A, "Badge Owner", None);
    store.insert(&r).await.unwrap();
    let token = r.badge.as_ref().unwrap().token.clone();
    let ready = BadgeInfo {
        status: BadgeStatus::Ready,
        token: token.clone(),
        error: None,
        retry_at: None,
        revision: 0,
    };
    assert!(store.finish_badge(&r.key(), &ready).await.unwrap());
    assert_eq!(
        store.get(&r.key()).await.unwrap().unwrap().badge,
        Some(ready)
    );
    // A stale worker with another token changes nothing.
    let stale = BadgeInfo {
        status: BadgeStatus::Failed,
        token: BadgeToken::generate(),
        error: Some("x".into()),
        retry_at: None,
        revision: 0,
    };
    assert!(!store.finish_badge(&r.key(), &stale).await.unwrap());
    // Re-render: pending again with the same token, at the next revision
    // whatever the caller says.
    r.badge = Some(BadgeInfo {
        status: BadgeStatus::Pending,
        token: token.clone(),
        error: None,
        retry_at: None,
        revision: 7,
    });
    assert_eq!(store.reset_badge(&r).await.unwrap(), Some(0));
    let pending = store.get(&r.key()).await.unwrap().unwrap().badge.unwrap();
    assert_eq!(
        (pending.status, pending.revision),
        (BadgeStatus::Pending, 1)
    );
    let failed = BadgeInfo {
        status: BadgeStatus::Failed,
        token,
        error: Some("font missing".into()),
        retry_at: None,
        revision: 1,
    };
    assert!(store.finish_badge(&r.key(), &failed).await.unwrap());
    assert_eq!(
        store.get(&r.key()).await.unwrap().unwrap().badge,
        Some(failed)
    );
    let missing = sample("missing", CONFERENCE_A, "Nobody", None);
    assert_eq!(store.reset_badge(&missing).await.unwrap(), None);
    assert!(!store
        .finish_badge(&missing.key(), missing.badge.as_ref().unwrap())
        .await
        .unwrap());
}

async fn a_render_of_an_older_revision_is_never_recorded(store: Arc<dyn RegistrationStore>) {
    let r = sample("revised", CONFERENCE_A, "First Name", None);
    store.insert(&r).await.unwrap();
    // A worker starts rendering revision 0...
    let rendering = store.get(&r.key()).await.unwrap().unwrap().badge.unwrap();
    assert_eq!(rendering.revision, 0);
    // ...while the attendee changes their name twice, at once.
    let mut changed = r.clone();
    changed.person = Person::parse("Second Name", "+1 555 0100", None).unwrap();
    let (a, b) = tokio::join!(store.reset_badge(&changed), store.reset_badge(&changed));
    let mut previous = vec![a.unwrap().unwrap(), b.unwrap().unwrap()];
    previous.sort();
    assert_eq!(previous, vec![0, 1], "each reset counts once");
    // The older render is refused, ready or failed; the current one is taken.
    for status in [BadgeStatus::Ready, BadgeStatus::Failed] {
        let old = BadgeInfo {
            status,
            ..rendering.clone()
        };
        assert!(!store.finish_badge(&r.key(), &old).await.unwrap());
    }
    let stored = store.get(&r.key()).await.unwrap().unwrap();
    let badge = stored.badge.clone().unwrap();
    assert_eq!((badge.status, badge.revision), (BadgeStatus::Pending, 2));
    let current = BadgeInfo {
        status: BadgeStatus::Ready,
        ..badge
    };
    assert_eq!(
        store
            .finish_badges(&[(r.key(), rendering.clone()), (r.key(), current.clone())])
            .await
            .unwrap(),
        vec![false, true]
    );
    let found = store
        .find_by_badge_token(&current.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.badge, Some(current));
    assert_eq!(found.person.user_name.as_str(), "Second Name");
}

async fn failed_badges_wait_for_their_retry_time(store: Arc<dyn RegistrationStore>) {
    let failed = |r: &Registration, retry_at: Option<&str>| BadgeInfo {
        status: BadgeStatus::Failed,
        token: r.badge.as_ref().unwrap().token.clone(),
        error: Some("storage is unavailable: no space left on device".into()),
        retry_at: retry_at.map(str::to_owned),
        revision: 0,
    };
    let past = "2020-01-01T00:00:00.000Z";
    let future = "2999-01-01T00:00:00.000Z";
    let due = sample("due", CONFERENCE_A, "Due Again", None);
    let later = sample("later", CONFERENCE_A, "Not Yet", None);
    let never = sample("never", CONFERENCE_B, "Never Again", None);
    let ready = sample("ready", CONFERENCE_B, "All Done", None);
    for r in [&due, &later, &never, &ready] {
        store.insert(r).await.unwrap();
    }
    assert!(store
        .finish_badge(&due.key(), &failed(&due, Some(past)))
        .await
        .unwrap());
    assert!(store
        .finish_badge(&later.key(), &failed(&later, Some(future)))
        .await
        .unwrap());
    assert!(store
        .finish_badge(&never.key(), &failed(&never, None))
        .await
        .unwrap());
    let mut done = failed(&ready, None);
    (done.status, done.error) = (BadgeStatus::Ready, None);
    assert!(store.finish_badge(&ready.key(), &done).await.unwrap());
    // The retry time is stored and read back.
    assert_eq!(
        store.get(&later.key()).await.unwrap().unwrap().badge,
        Some(failed(&later, Some(future)))
    );
    let now = now_rfc3339();
    let token = due.badge.as_ref().unwrap().token.clone();
    assert_eq!(
        store.failed_badges_due(&now, 100).await.unwrap(),
        vec![(due.key(), token.clone())]
    );
    // Another token (a re-render since) or another state is left alone.
    assert!(!store
        .requeue_failed_badge(&due.key(), &BadgeToken::generate())
        .await
        .unwrap());
    let never_token = never.badge.as_ref().unwrap().token.clone();
    assert!(!store
        .requeue_failed_badge(&never.key(), &never_token)
        .await
        .unwrap());
    assert!(store
        .requeue_failed_badge(&due.key(), &token)
        .await
        .unwrap());
    let badge = store.get(&due.key()).await.unwrap().unwrap().badge.unwrap();
    assert_eq!(
        (badge.status, badge.error, badge.retry_at),
        (BadgeStatus::Pending, None, None)
    );
    // Queued once: a second sweep finds nothing and changes nothing.
    assert!(!store
        .requeue_failed_badge(&due.key(), &token)
        .await
        .unwrap());
    assert_eq!(store.failed_badges_due(&now, 100).await.unwrap(), vec![]);
    // Finishing the queued badge ends its wait for good.
    let mut made = failed(&due, None);
    (made.status, made.error) = (BadgeStatus::Ready, None);
    assert!(store.finish_badge(&due.key(), &made).await.unwrap());
    assert_eq!(
        store.failed_badges_due(future, 100).await.unwrap().len(),
        1,
        "only `later`"
    );
    // A re-render clears the retry time.
    let mut again = store.get(&later.key()).await.unwrap().unwrap();
    again.badge.as_mut().unwrap().status = BadgeStatus::Pending;
    again.badge.as_mut().unwrap().error = None;
    again.badge.as_mut().unwrap().retry_at = None;
    assert_eq!(store.reset_badge(&again).await.unwrap(), Some(0));
    again.badge.as_mut().unwrap().revision = 1;
    assert_eq!(
        store.get(&later.key()).await.unwrap().unwrap().badge,
        again.badge
    );
    assert_eq!(store.failed_badges_due(future, 100).await.unwrap(), vec![]);
}

/// Values today's sign-up would refuse (the original system wrote them, or
/// an older rule let them in) read back, list and delete as they are.
async fn stored_values_are_trusted_as_they_are(store: Arc<dyn RegistrationStore>) {
    let mut r = sample("placeholder", CONFERENCE_A, "x", None);
    r.user_id = UserId::from_stored("hong gildong".into());
    r.person = Person::from_stored(&"가".repeat(120), "010.9876.5432", Some(""));
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.key()).await.unwrap(), Some(r.clone()));
    let listed = collect_all(
        &store,
        ListQuery {
            limit: 1,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(listed, vec![r.clone()]);
    assert_eq!(
        store.list_by_user(&r.user_id).await.unwrap(),
        vec![r.clone()]
    );
    assert_eq!(store.delete(&r.key()).await.unwrap(), Some(r.clone()));
    assert_eq!(store.get(&r.key()).await.unwrap(), None);
}

async fn registrations_without_badge_load(store: Arc<dyn RegistrationStore>) {
    let mut r = sample("legacy", CONFERENCE_A, "Legacy Item", None);
    r.badge = None;
    r.checkin_code = None;
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.key()).await.unwrap(), Some(r));
}

/// Runs every object-store contract check on `store`, which must be empty.
pub async fn object_store(store: Arc<dyn ObjectStore>) {
    let png: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    assert_eq!(store.get("badges/none.png").await.unwrap(), None);
    store
        .put("badges/a.png", png.clone(), "image/png")
        .await
        .unwrap();
    assert_eq!(store.get("badges/a.png").await.unwrap(), Some(png.clone()));
    // Overwriting replaces the whole object, even with a shorter one.
    store
        .put("badges/a.png", b"short".to_vec(), "image/png")
        .await
        .unwrap();
    assert_eq!(
        store.get("badges/a.png").await.unwrap(),
        Some(b"short".to_vec())
    );
    store
        .put_all(vec![
            ("badges/b.svg".into(), b"<svg/>".to_vec(), "image/svg+xml"),
            ("badges/b.png".into(), png.clone(), "image/png"),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.get("badges/b.svg").await.unwrap(),
        Some(b"<svg/>".to_vec())
    );
    assert_eq!(store.get("badges/b.png").await.unwrap(), Some(png));
    store.delete("badges/a.png").await.unwrap();
    assert_eq!(store.get("badges/a.png").await.unwrap(), None);
    // Deleting what is not there is not an error.
    store.delete("badges/a.png").await.unwrap();
    store.delete("badges/never.pdf").await.unwrap();
    // Several at once, missing ones among them.
    store
        .delete_all(vec![
            "badges/b.svg".into(),
            "badges/b.png".into(),
            "badges/never.pdf".into(),
        ])
        .await
        .unwrap();
    assert_eq!(store.get("badges/b.svg").await.unwrap(), None);
    assert_eq!(store.get("badges/b.png").await.unwrap(), None);
    // An empty object is an object.
    store
        .put("badges/empty.pdf", Vec::new(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(
        store.get("badges/empty.pdf").await.unwrap(),
        Some(Vec::new())
    );
}

/// `n` sign-ups at once (`in_flight` requests at a time) for a conference
/// of `seats` with a waiting list: exactly `seats` are confirmed, every
/// other one waits, none is lost, and the store's count agrees.
pub async fn seats_hold_at_scale(
    store: Arc<dyn RegistrationStore>,
    n: usize,
    seats: u32,
    in_flight: usize,
) {
    use crate::seats::{SeatQueue, Seating};
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut decisions = tokio::task::JoinSet::new();
    for i in 0..n {
        let (store, slots) = (store.clone(), slots.clone());
        decisions.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("open");
            let r = sample(&format!("u{i:05}"), CONFERENCE_A, "Seated", None);
            store
                .insert_seated(&r, capacity(seats, true))
                .await
                .unwrap()
        });
    }
    let (mut confirmed, mut waiting) = (0, 0);
    while let Some(decided) = decisions.join_next().await {
        match decided.unwrap() {
            Seating::Confirmed => confirmed += 1,
            Seating::Waitlisted => waiting += 1,
            Seating::Full => panic!("a waiting list never answers full"),
        }
    }
    assert_eq!((confirmed, waiting), (seats as usize, n - seats as usize));
    let conference = ConferenceId::from_stored(CONFERENCE_A.into());
    assert_eq!(
        store.seats_held(&conference).await.unwrap(),
        u64::from(seats)
    );
    let queue = store
        .seat_queue(&conference, &SeatQueue::Waiting, n)
        .await
        .unwrap();
    assert_eq!(queue.len(), n - seats as usize);
}
