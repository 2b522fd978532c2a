//! The API function: the lanyard router behind API Gateway (HTTP API).

use lanyard_aws::{AwsBackend, AwsClients};
use lanyard_lambda::{admin_token, api_router, init_logging, load_conferences, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env().await?;
    let conferences = load_conferences(settings.config.as_deref())?;
    let backend = lanyard_lambda::with_notices(
        AwsBackend::new(&clients, &settings.resources, conferences),
        &clients,
        &settings,
    )?;
    let router = api_router(
        &backend,
        admin_token(&clients, &settings)?,
        settings.origin_secret.clone(),
    );
    lambda_http::run(router).await
}
