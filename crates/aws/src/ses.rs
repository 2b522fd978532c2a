//! E-mail through Amazon SES (v2 `SendEmail` with the raw MIME message the
//! domain built, so the SMTP and SES paths send the same bytes).

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use lanyard_domain::{DeliveryError, Mailer};

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        SesMailer { client }
    }
}

/// SES errors that the same message will meet again: its sender is not
/// verified, or SES refuses the message itself.
const REFUSED: [&str; 3] = [
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "BadRequestException",
];

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &lettre::Message) -> Result<(), DeliveryError> {
        // The recipients are the message's own To header: SES reads a raw
        // message's headers when no destination is given.
        let result = self
            .client
            .send_email()
            .content(
                EmailContent::builder()
                    .raw(
                        RawMessage::builder()
                            .data(Blob::new(message.formatted()))
                            .build()
                            .map_err(|e| DeliveryError::permanent(e.to_string()))?,
                    )
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_owned();
                let message = format!("SES: {}", DisplayErrorContext(&e));
                if REFUSED.contains(&code.as_str()) {
                    Err(DeliveryError::permanent(message))
                } else {
                    Err(DeliveryError::retry(message))
                }
            }
        }
    }
}
