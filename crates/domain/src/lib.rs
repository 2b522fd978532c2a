//! lanyard's domain: validated registration data, conferences, the ports the
//! adapters implement (store, object store, badge jobs) and the use cases.
//!
//! Nothing here knows about HTTP, SQL or AWS.

pub mod conference;
#[cfg(feature = "contract")]
pub mod contract;
pub mod fields;
pub mod ports;
pub mod registration;
pub mod service;

pub use conference::{Conference, Conferences, ConferencesConfig, PayloadKind};
pub use fields::{
    BadgeToken, CompanyName, ConferenceId, FieldError, PhoneNumber, UserId, UserName,
};
pub use ports::{BadgeJobs, ListQuery, ObjectStore, Page, RegistrationStore, StoreError};
pub use registration::{BadgeInfo, BadgeStatus, NewRegistration, Registration, RegistrationKey};
pub use service::{BadgeOutcome, Lanyard, LanyardError};
