//! The badge job runner and the SQS worker on an AWS emulator: retries are
//! left for redelivery, the last attempt records the failure, the sweep
//! queues such a failure again at its retry time, and the queue worker
//! renders what SNS delivers.

use std::sync::Arc;
use std::time::Duration;

use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::{
    run_job, run_queue_worker, AwsBackend, AwsResources, BadgeJob, MetricsSink,
    QueueWorkerSettings, SweepPolicy,
};
use lanyard_domain::{BadgeJobPolicy, BadgeStatus, ConferencesConfig, JobOutcome, NewRegistration};

fn conferences() -> lanyard_domain::Conferences {
    lanyard_domain::Conferences::build(
        ConferencesConfig::builtin(),
        std::path::Path::new("."),
        &lanyard_badge::Fonts::bundled(),
    )
    .unwrap()
}

fn sign_up(user_id: &str) -> NewRegistration {
    NewRegistration {
        conference: Some("Serverless web project".into()),
        user_id: Some(user_id.into()),
        user_name: Some("Worker Test".into()),
        phone_number: Some("010-1234-5678".into()),
        company_name: None,
        contact_on_badge: None,
        ..NewRegistration::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_until_the_last_attempt_records_them() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "attempts").await.unwrap();
    // Badge files cannot be written: the bucket does not exist.
    let names = AwsResources {
        table: made.names.table.clone(),
        bucket: "no-such-bucket".into(),
        topic_arn: made.names.topic_arn.clone(),
    };
    let mut backend = AwsBackend::new(&clients, &names, conferences());
    let policy = BadgeJobPolicy {
        max_attempts: 3,
        retry_failed_after: Duration::ZERO,
        ..BadgeJobPolicy::default()
    };
    backend.lanyard = backend.lanyard.with_job_policy(policy);
    let registration = backend.lanyard.register(sign_up("attempts")).await.unwrap();
    let job = BadgeJob::for_key(&registration.key());
    let metrics = MetricsSink::discard("test");
    for attempt in [1, 2] {
        let outcome = run_job(&backend.lanyard, &job, Some(attempt), &metrics).await;
        assert!(
            matches!(outcome, JobOutcome::Retry { .. }),
            "attempt {attempt}: {outcome:?}"
        );
    }
    let stored = backend.lanyard.get(&registration.key()).await.unwrap();
    assert_eq!(stored.badge.unwrap().status, BadgeStatus::Pending);
    match run_job(&backend.lanyard, &job, Some(3), &metrics).await {
        JobOutcome::Failed(error) => assert!(error.contains("storage"), "{error}"),
        other => panic!("expected a recorded failure, got {other:?}"),
    }
    let stored = backend.lanyard.get(&registration.key()).await.unwrap();
    let badge = stored.badge.unwrap();
    assert_eq!(badge.status, BadgeStatus::Failed);
    assert!(badge.error.is_some());
    assert!(badge.retry_at.is_some(), "a storage failure may pass");

    // The bucket is back: the sweep queues the failed badge again, and the
    // worker makes it.
    let mut healed = AwsBackend::new(&clients, &made.names, conferences());
    healed.lanyard = healed.lanyard.with_job_policy(policy);
    let report = healed
        .sweep(SweepPolicy::default(), &MetricsSink::discard("test"))
        .await
        .unwrap();
    assert_eq!((report.retried, report.failed), (1, 0));
    let queued = healed.lanyard.get(&registration.key()).await.unwrap();
    let badge = queued.badge.unwrap();
    assert_eq!(
        (badge.status, badge.error, badge.retry_at),
        (BadgeStatus::Pending, None, None)
    );
    assert_eq!(
        run_job(&healed.lanyard, &job, Some(1), &metrics).await,
        JobOutcome::Rendered
    );
    let made_now = healed.lanyard.get(&registration.key()).await.unwrap();
    assert_eq!(made_now.badge.unwrap().status, BadgeStatus::Ready);
    // Nothing is left to retry.
    assert_eq!(
        healed
            .sweep(SweepPolicy::default(), &MetricsSink::discard("test"))
            .await
            .unwrap()
            .retried,
        0
    );
}

fn conferences_ended_long_ago() -> lanyard_domain::Conferences {
    let mut config = ConferencesConfig::builtin();
    config.conferences[0].ends = Some("2020-01-01".into());
    config.conferences[0].retention_days = Some(1);
    lanyard_domain::Conferences::build(
        config,
        std::path::Path::new("."),
        &lanyard_badge::Fonts::bundled(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_erases_a_conference_past_its_retention_keeping_counts() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "retention").await.unwrap();
    let backend = AwsBackend::new(&clients, &made.names, conferences());
    let mut keys = Vec::new();
    for user in ["erased1", "erased2"] {
        let r = backend.lanyard.register(sign_up(user)).await.unwrap();
        let job = BadgeJob::for_key(&r.key());
        let metrics = MetricsSink::discard("test");
        assert_eq!(
            run_job(&backend.lanyard, &job, Some(1), &metrics).await,
            JobOutcome::Rendered
        );
        keys.push(r.key());
    }
    let mut other = sign_up("kept");
    other.conference = Some("About cloud computing".into());
    let kept = backend.lanyard.register(other).await.unwrap();
    let before = backend.lanyard.checkin_stats(None).await.unwrap();
    let objects = |prefix: &'static str| {
        let s3 = clients.s3.clone();
        let bucket = made.names.bucket.clone();
        async move {
            s3.list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .send()
                .await
                .unwrap()
                .contents()
                .len()
        }
    };
    assert_eq!(objects("badges/").await, 2);

    let ended = AwsBackend::new(&clients, &made.names, conferences_ended_long_ago());
    let report = ended
        .sweep(SweepPolicy::default(), &MetricsSink::discard("test"))
        .await
        .unwrap();
    assert_eq!(report.erased, 2);
    for key in &keys {
        assert!(ended.lanyard.get(key).await.is_err(), "{key:?} is gone");
    }
    assert_eq!(objects("badges/").await, 0, "no badge file is left");
    assert!(
        ended.lanyard.get(&kept.key()).await.is_ok(),
        "other conferences keep theirs"
    );
    let after = ended.lanyard.checkin_stats(None).await.unwrap();
    assert_eq!(
        serde_json::to_value(&after).unwrap(),
        serde_json::to_value(&before).unwrap()
    );
    // Nothing is erased twice.
    assert_eq!(
        ended
            .sweep(SweepPolicy::default(), &MetricsSink::discard("test"))
            .await
            .unwrap()
            .erased,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_no_retry_can_mend_is_never_queued_again() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "mend").await.unwrap();
    let mut backend = AwsBackend::new(&clients, &made.names, conferences());
    backend.lanyard = backend.lanyard.with_job_policy(BadgeJobPolicy {
        retry_failed_after: Duration::ZERO,
        ..BadgeJobPolicy::default()
    });
    let registration = backend
        .lanyard
        .register(sign_up("unmendable"))
        .await
        .unwrap();
    backend
        .lanyard
        .fail_badge(
            &registration.key(),
            "the badge cannot be rendered: no such font",
            false,
        )
        .await
        .unwrap();
    let report = backend
        .sweep(SweepPolicy::default(), &MetricsSink::discard("test"))
        .await
        .unwrap();
    assert_eq!(report.retried, 0);
    let stored = backend.lanyard.get(&registration.key()).await.unwrap();
    assert_eq!(stored.badge.unwrap().status, BadgeStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_worker_renders_what_sns_delivers_and_empties_the_queue() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let made = create_resources(&clients, "queue").await.unwrap();
    let backend = AwsBackend::new(&clients, &made.names, conferences());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_out = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let worker = tokio::spawn(run_queue_worker(
        backend.lanyard.clone(),
        clients.sqs.clone(),
        QueueWorkerSettings {
            queue_url: made.queue_url.clone(),
            batch: 4,
            wait_seconds: 1,
        },
        MetricsSink::to_writer("serve", metrics_out.clone()),
        stopped,
    ));
    let mut keys = Vec::new();
    for i in 0..12 {
        let r = backend
            .lanyard
            .register(sign_up(&format!("queued{i}")))
            .await
            .unwrap();
        keys.push(r.key());
    }
    for key in &keys {
        let mut ready = false;
        for _ in 0..200 {
            let r = backend.lanyard.get(key).await.unwrap();
            if r.badge.as_ref().unwrap().status == BadgeStatus::Ready {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "{key:?} was rendered");
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker stops when asked")
        .unwrap();
    // Every finished job was deleted from the queue.
    let left = clients
        .sqs
        .receive_message()
        .queue_url(&made.queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(left.messages.unwrap_or_default().is_empty());
    let lines = String::from_utf8(metrics_out.lock().unwrap().clone()).unwrap();
    assert_eq!(lines.lines().count(), 12, "one metric line per badge");
}
