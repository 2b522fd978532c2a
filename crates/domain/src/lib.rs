//! lanyard's domain: validated registration data, conferences, the ports the
//! adapters implement (store, object store, badge jobs) and the use cases.
//!
//! Nothing here knows about HTTP, SQL or AWS.

pub mod blocking;
pub mod checkin;
pub mod conference;
#[cfg(feature = "contract")]
pub mod contract;
pub mod delivery;
pub mod export;
pub mod fields;
pub mod form;
pub mod import;
pub mod jobs;
pub mod notify;
pub mod ports;
pub mod print;
pub mod registration;
pub mod seats;
pub mod service;

pub use checkin::{
    CheckinCode, CheckinResult, CheckinStats, Desk, DeskName, FirstCheckin, Nonce, Scan,
    ScanOutcome, ScanTarget, Tally,
};
pub use conference::{
    unprintable_message, Conference, Conferences, ConferencesConfig, ConfigError, PayloadKind,
};
pub use delivery::{MessageReport, MessageRequest, NoticeRound};
pub use export::ExportFormat;
pub use fields::{
    BadgeToken, CompanyName, ConferenceId, Email, FieldError, PageSize, PhoneNumber, UserId,
    UserName,
};
pub use form::{Answer, Answers, Details, Form};
pub use import::{Encoding, FileError, ImportOptions, ImportReport, RowOutcome, RowReport};
pub use jobs::{BadgeJobPolicy, JobOutcome};
pub use notify::{
    DeliveryError, MailKind, MailSettings, Mailer, Notice, NoticeBody, NoticeOutcome, NoticePolicy,
    QueuedNotice, WebhookConfig, WebhookSender,
};
pub use ports::{BadgeJobs, ListQuery, ObjectStore, Page, RegistrationStore, StoreError};
pub use print::{PreparedPrint, PrintRequest};
pub use registration::{
    BadgeInfo, BadgeStatus, NewRegistration, Person, Registration, RegistrationKey,
};
pub use seats::{Capacity, Seat, SeatChange, SeatQueue, SeatStatus, Seating};
pub use service::{
    Checkin, CheckinRequest, Lanyard, LanyardError, ListRequest, OwnChanges, SeatAction,
};
