//! Delivery of lanyard's notices outside the process: e-mail to an SMTP
//! server ([`SmtpMailer`]) and webhooks over HTTP(S) ([`HttpWebhooks`]).
//! What to send, and when to try again, is the domain's
//! ([`lanyard_domain::Lanyard::deliver_due_notices`]).

use std::time::Duration;

use async_trait::async_trait;
use lanyard_domain::{DeliveryError, Mailer, WebhookSender};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Sends e-mail through an SMTP server, connections pooled.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// From a URL as lettre reads it: `smtp://host:25` (plain, for a relay
    /// on the same machine), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS).
    pub fn from_url(url: &str) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            // One connection per delivery in flight.
            .pool_config(
                lettre::transport::smtp::PoolConfig::new()
                    .max_size(lanyard_domain::delivery::IN_FLIGHT as u32),
            )
            .build();
        Ok(SmtpMailer { transport })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &lettre::Message) -> Result<(), DeliveryError> {
        match self.transport.send(message.clone()).await {
            Ok(_) => Ok(()),
            // A 5xx reply refuses this message for good (no such mailbox,
            // say); anything else (4xx, a connection lost) may pass.
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(e.to_string())),
            Err(e) => Err(DeliveryError::retry(e.to_string())),
        }
    }
}

/// Posts webhooks. Redirects are not followed (an endpoint is configured
/// where it is), and a delivery waits ten seconds at most.
#[derive(Clone)]
pub struct HttpWebhooks {
    client: reqwest::Client,
}

impl HttpWebhooks {
    pub fn new() -> Result<HttpWebhooks, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("lanyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpWebhooks { client })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhooks {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<(), DeliveryError> {
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(DeliveryError::retry(format!(
                "the endpoint answered {}",
                response.status()
            ))),
            Err(e) => Err(DeliveryError::retry(format!("the endpoint: {e}"))),
        }
    }
}
