//! Badge jobs announced on SNS, and the messages a badge worker reads back.
//!
//! The message is JSON, `{"user_id": …, "type": …}`, and the subject is the
//! conference id where SNS allows it, so subscribers of the original system
//! (Message = user_id, Subject = type) can still tell which badge it is. Both
//! forms are accepted by [`BadgeJob::from_sns`].

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::Client;
use lanyard_domain::{BadgeJobs, RegistrationKey, StoreError};
use serde::{Deserialize, Serialize};

/// Which badge to render, as named in a message (not yet validated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeJob {
    pub user_id: String,
    #[serde(rename = "type")]
    pub conference: String,
}

impl BadgeJob {
    pub fn for_key(key: &RegistrationKey) -> Self {
        BadgeJob {
            user_id: key.user_id.as_str().to_owned(),
            conference: key.conference.as_str().to_owned(),
        }
    }

    /// Reads an SNS notification: a JSON message, or the original system's
    /// plain user id with the conference as the subject.
    pub fn from_sns(message: &str, subject: Option<&str>) -> Option<BadgeJob> {
        let message = message.trim();
        if message.starts_with('{') {
            return serde_json::from_str(message).ok();
        }
        let conference = subject?.trim();
        (!message.is_empty() && !conference.is_empty()).then(|| BadgeJob {
            user_id: message.to_owned(),
            conference: conference.to_owned(),
        })
    }

    /// Reads an SQS message body: an SNS notification envelope (the default
    /// for a subscribed queue), or the SNS message itself (raw delivery).
    pub fn from_sqs_body(body: &str) -> Option<BadgeJob> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "Message")]
            message: String,
            #[serde(rename = "Subject")]
            subject: Option<String>,
        }
        match serde_json::from_str::<Envelope>(body) {
            Ok(envelope) => BadgeJob::from_sns(&envelope.message, envelope.subject.as_deref()),
            Err(_) => BadgeJob::from_sns(body, None),
        }
    }
}

/// SNS accepts subjects of printable ASCII under 100 characters.
fn subject_for(conference: &str) -> Option<&str> {
    (conference.len() < 100
        && !conference.is_empty()
        && conference.bytes().all(|b| (0x20..0x7f).contains(&b)))
    .then_some(conference)
}

/// Publishes badge jobs to an SNS topic.
#[derive(Clone, Debug)]
pub struct SnsBadgeJobs {
    client: Client,
    topic_arn: String,
}

impl SnsBadgeJobs {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsBadgeJobs {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl BadgeJobs for SnsBadgeJobs {
    async fn announce(&self, key: &RegistrationKey) -> Result<(), StoreError> {
        let job = BadgeJob::for_key(key);
        let message = serde_json::to_string(&job).map_err(StoreError::unavailable)?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .set_subject(subject_for(&job.conference).map(str::to_owned))
            .send()
            .await
            .map_err(|e| StoreError::unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    /// Publishes [`NOTICES_MESSAGE`]: the badge worker that gets it
    /// delivers the notices due.
    async fn announce_notices(&self) -> Result<(), StoreError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(NOTICES_MESSAGE)
            .send()
            .await
            .map_err(|e| StoreError::unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// The message that says notices wait in the outbox (no badge job).
pub const NOTICES_MESSAGE: &str = r#"{"notices":true}"#;

/// Whether a queue message body (an SNS envelope or the raw message) is
/// [`NOTICES_MESSAGE`].
pub fn is_notices_message(body: &str) -> bool {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Message")]
        message: String,
    }
    let message = serde_json::from_str::<Envelope>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| body.to_owned());
    message.trim() == NOTICES_MESSAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_original_and_the_json_form() {
        let job = BadgeJob {
            user_id: "hong".into(),
            conference: "Serverless web project".into(),
        };
        assert_eq!(
            BadgeJob::from_sns("hong", Some("Serverless web project")),
            Some(job.clone())
        );
        assert_eq!(
            BadgeJob::from_sns(
                r#"{"user_id":"hong","type":"Serverless web project"}"#,
                None
            ),
            Some(job.clone())
        );
        assert_eq!(BadgeJob::from_sns("hong", None), None);
        assert_eq!(BadgeJob::from_sns("{not json", Some("x")), None);
        let envelope = serde_json::json!({
            "Type": "Notification", "Message": "hong", "Subject": "Serverless web project"
        });
        assert_eq!(
            BadgeJob::from_sqs_body(&envelope.to_string()),
            Some(job.clone())
        );
        assert_eq!(
            BadgeJob::from_sqs_body(r#"{"user_id":"hong","type":"Serverless web project"}"#),
            Some(job)
        );
    }

    #[test]
    fn subjects_are_only_what_sns_accepts() {
        assert_eq!(
            subject_for("About cloud computing"),
            Some("About cloud computing")
        );
        assert_eq!(subject_for("서버리스"), None);
        assert_eq!(subject_for(&"x".repeat(100)), None);
        assert_eq!(subject_for("a\nb"), None);
    }
}
