//! Badge files in S3. A `PutObject` is atomic: readers see the whole object
//! or none.

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use lanyard_domain::{ObjectStore, StoreError};

#[derive(Clone, Debug)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
}

impl S3ObjectStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3ObjectStore {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable(DisplayErrorContext(e).to_string())
}

/// Whether a `GetObject` failed because the object is not there. S3 says
/// `404 NoSuchKey` to a caller that may list the bucket, and `403
/// AccessDenied` to one that may not (it will not tell whether the key
/// exists). The deployed functions may list only `badges/`, and an object
/// outside it is never asked for, so both mean "missing": the file is made
/// again on request, and a real lack of rights shows on the write that
/// follows.
fn is_missing<R>(
    e: &aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError, R>,
) -> bool
where
    R: std::fmt::Debug,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(service) => {
            service.err().is_no_such_key() || service.err().meta().code() == Some("AccessDenied")
        }
        _ => false,
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let body = out.body.collect().await.map_err(unavailable)?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::{ErrorMetadata, SdkError};
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    fn answer(status: u16, error: GetObjectError) -> SdkError<GetObjectError, Response> {
        SdkError::service_error(
            error,
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        )
    }

    /// S3's two answers for a key that is not there are both "missing";
    /// anything else is an error.
    #[test]
    fn a_missing_key_is_missing_whichever_way_s3_says_it() {
        let no_such_key = GetObjectError::NoSuchKey(NoSuchKey::builder().build());
        assert!(is_missing(&answer(404, no_such_key)));
        let denied = GetObjectError::generic(ErrorMetadata::builder().code("AccessDenied").build());
        assert!(is_missing(&answer(403, denied)));
        let slow = GetObjectError::generic(ErrorMetadata::builder().code("SlowDown").build());
        assert!(!is_missing(&answer(503, slow)));
    }
}
