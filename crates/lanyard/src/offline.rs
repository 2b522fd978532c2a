//! The commands that work on a store beside a running server (`print`,
//! `import`, `export`): the same use cases as the API, over the store alone.

use std::sync::Arc;

use async_trait::async_trait;
use lanyard_domain::{
    BadgeJobs, Conferences, Lanyard, ObjectStore, RegistrationKey, RegistrationStore, StoreError,
};

/// The use cases over `store`. Badge jobs are durable in the store when it
/// takes a registration: `jobs` announces them (an SNS topic), and without
/// it the server's badge workers (embedded, which look at the queue every
/// few seconds) or its sweeper (AWS) pick them up. Badge files are the
/// server's and are not reached from here.
pub fn lanyard(
    store: Arc<dyn RegistrationStore>,
    jobs: Option<Arc<dyn BadgeJobs>>,
    conferences: Conferences,
) -> Lanyard {
    let jobs = jobs.unwrap_or_else(|| Arc::new(FoundByWorkers));
    Lanyard::new(store, Arc::new(NoFiles), jobs, conferences)
}

struct FoundByWorkers;

#[async_trait]
impl BadgeJobs for FoundByWorkers {
    async fn announce(&self, _: &RegistrationKey) -> Result<(), StoreError> {
        Ok(())
    }
}

struct NoFiles;

fn no_files() -> StoreError {
    StoreError::unavailable("badge files are the server's; this command does not reach them")
}

#[async_trait]
impl ObjectStore for NoFiles {
    async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> Result<(), StoreError> {
        Err(no_files())
    }
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(no_files())
    }
    async fn delete(&self, _: &str) -> Result<(), StoreError> {
        Err(no_files())
    }
}
