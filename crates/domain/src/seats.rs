//! Seats: a conference's capacity and its waiting list.
//!
//! A registration holds a seat while it is `confirmed` or `offered`. A
//! sign-up past capacity waits (`waitlisted`) when the conference keeps a
//! waiting list; a seat given up (`withdrawn`, an offer `expired`, a
//! registration deleted) is offered to the longest waiting, who has
//! `offer_hours` to take it. The store decides each seat atomically, so a
//! conference is never over capacity however many sign up at once.

use serde::{Deserialize, Serialize};

/// Where a registration stands for a seat.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SeatStatus {
    /// Has a seat.
    #[default]
    Confirmed,
    /// Waits for a seat.
    Waitlisted,
    /// A seat is held for them until `offer_expires_at`.
    Offered,
    /// Did not take an offered seat in time.
    Expired,
    /// Gave up their seat or their place on the waiting list.
    Withdrawn,
}

impl SeatStatus {
    pub const ALL: [SeatStatus; 5] = [
        SeatStatus::Confirmed,
        SeatStatus::Waitlisted,
        SeatStatus::Offered,
        SeatStatus::Expired,
        SeatStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeatStatus::Confirmed => "confirmed",
            SeatStatus::Waitlisted => "waitlisted",
            SeatStatus::Offered => "offered",
            SeatStatus::Expired => "expired",
            SeatStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<SeatStatus> {
        SeatStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a registration in this state takes one of the seats.
    pub fn holds_seat(self) -> bool {
        matches!(self, SeatStatus::Confirmed | SeatStatus::Offered)
    }
}

/// A registration's seat: its state, and until when an offer stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seat {
    pub status: SeatStatus,
    /// RFC 3339, while `offered`.
    pub offer_expires_at: Option<String>,
}

impl Seat {
    pub fn confirmed() -> Seat {
        Seat::default()
    }
}

/// A conference's seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub seats: u32,
    /// Sign-ups past capacity wait for a seat; without it they are refused.
    pub waitlist: bool,
}

/// What the store decided for a new registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seating {
    Confirmed,
    Waitlisted,
    /// No seat and no waiting list: nothing was stored.
    Full,
}

/// The outcome of a seat change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    Done,
    /// The registration is gone or not in a state the change starts from.
    Moved,
    /// The change would take a seat and none is free.
    Full,
}

/// Which registrations of a conference a seat sweep wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatQueue {
    /// Those waiting, longest waiting first.
    Waiting,
    /// Offers whose time ran out before this RFC 3339 time.
    OffersExpiredBefore(String),
}
