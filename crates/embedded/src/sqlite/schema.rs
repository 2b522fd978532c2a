//! The database's tables, and the version check that keeps an older build
//! from writing a newer build's database.

use std::path::Path;

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registrations (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    phone_number  TEXT NOT NULL,
    company_name  TEXT,
    created_at    TEXT NOT NULL,
    badge_status  TEXT,
    badge_token   TEXT UNIQUE,
    badge_error   TEXT,
    ticket_code   TEXT,
    UNIQUE (user_id, type)
);
CREATE TABLE IF NOT EXISTS badge_jobs (
    user_id     TEXT NOT NULL,
    type        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL DEFAULT 0,
    claimed     INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    PRIMARY KEY (user_id, type)
);
CREATE INDEX IF NOT EXISTS badge_jobs_due ON badge_jobs (claimed, run_after);
";

/// Version 2: consent, check-ins, check-in codes for every row, desks and
/// the nonces of desks' scans (SPEC §9, §10).
const VERSION_2: &str = "
ALTER TABLE registrations ADD COLUMN contact_on_badge INTEGER NOT NULL DEFAULT 0;
ALTER TABLE registrations ADD COLUMN checked_in_at TEXT;
ALTER TABLE registrations ADD COLUMN checked_in_desk TEXT;
ALTER TABLE registrations ADD COLUMN checked_in_nonce TEXT;
CREATE UNIQUE INDEX registrations_checkin_code ON registrations (ticket_code)
    WHERE ticket_code IS NOT NULL;
CREATE TABLE desks (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE TABLE checkin_nonces (
    desk        TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    result      TEXT NOT NULL,
    code        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (desk, nonce)
) WITHOUT ROWID;
";

/// Version 3: a badge failed for a reason that may pass keeps the time it
/// is to be tried again (the sweep finds those through a partial index);
/// registrations erased after their conference's retention leave anonymous
/// counts (`minute` empty when never checked in).
const VERSION_3: &str = "
ALTER TABLE registrations ADD COLUMN badge_retry_at TEXT;
CREATE INDEX registrations_badge_retry ON registrations (badge_retry_at)
    WHERE badge_retry_at IS NOT NULL;
CREATE TABLE erased_tallies (
    type    TEXT NOT NULL,
    minute  TEXT NOT NULL,
    desk    TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (type, minute, desk)
) WITHOUT ROWID;
";

/// Version 4: the badge's revision, counting changes to what it shows, so
/// a render of an older version is never recorded (or kept).
const VERSION_4: &str = "
ALTER TABLE registrations ADD COLUMN badge_revision INTEGER NOT NULL DEFAULT 0;
";

/// Version 5: the organizer's form (e-mail, category, answers as a JSON
/// object) and seats (status, the offer's end), with the index seat
/// decisions and the waiting list read; the forms organizers set.
const VERSION_5: &str = "
ALTER TABLE registrations ADD COLUMN email TEXT;
ALTER TABLE registrations ADD COLUMN category TEXT;
ALTER TABLE registrations ADD COLUMN answers TEXT;
ALTER TABLE registrations ADD COLUMN seat_status TEXT NOT NULL DEFAULT 'confirmed';
ALTER TABLE registrations ADD COLUMN offer_expires_at TEXT;
CREATE INDEX registrations_seats ON registrations (type, seat_status, seq);
CREATE TABLE forms (
    type        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
";

/// Version 6: the outbox of notices (e-mails, webhooks; delivered ones
/// kept a day by id, body emptied, so the same notice is not sent twice),
/// and registrations
/// found by e-mail address (case folded as [`lanyard_domain::Email::lookup_key`]
/// folds it) for a lost badge link.
const VERSION_6: &str = "
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    claimed     INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox (done, run_after, created_at);
CREATE INDEX registrations_email ON registrations (lower(email)) WHERE email IS NOT NULL;
";

/// The schema version this build writes; a database from a newer build is refused.
const SCHEMA_VERSION: i64 = 6;

/// Sets the connection's durability, refuses a database from a newer build,
/// and creates what is missing.
pub(super) fn prepare(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    conn.execute_batch(
        // secure_delete: a deleted or erased registration's bytes are
        // overwritten, not left in free pages of the file.
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
         PRAGMA secure_delete = ON;",
    )?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "{} was written by a newer lanyard (schema {version}, this one knows {SCHEMA_VERSION})",
            path.display()
        );
    }
    conn.execute_batch(SCHEMA)?;
    if version < 2 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(VERSION_2)?;
        // Rows from before check-in codes get one each, like new ones.
        let seqs: Vec<i64> = tx
            .prepare("SELECT seq FROM registrations WHERE ticket_code IS NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for seq in seqs {
            tx.execute(
                "UPDATE registrations SET ticket_code = ?1 WHERE seq = ?2",
                rusqlite::params![lanyard_domain::CheckinCode::generate().as_str(), seq],
            )?;
        }
        tx.execute_batch("PRAGMA user_version = 2")?;
        tx.commit()?;
    }
    if version < 3 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(VERSION_3)?;
        tx.execute_batch("PRAGMA user_version = 3")?;
        tx.commit()?;
    }
    if version < 4 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(VERSION_4)?;
        tx.execute_batch("PRAGMA user_version = 4")?;
        tx.commit()?;
    }
    if version < 5 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(VERSION_5)?;
        tx.execute_batch("PRAGMA user_version = 5")?;
        tx.commit()?;
    }
    if version < 6 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(VERSION_6)?;
        tx.execute_batch("PRAGMA user_version = 6")?;
        tx.commit()?;
    }
    // Nonces outlive any offline desk; older ones are dropped at each start.
    conn.execute(
        "DELETE FROM checkin_nonces WHERE expires_at < unixepoch()",
        [],
    )?;
    Ok(())
}

/// SQL functions lanyard's queries use: `lanyard_fold(text)`, the domain's
/// search folding (NFC and Unicode lower case; SQLite's own `lower` folds
/// ASCII only), so a search matches the same rows as on every backend.
pub(super) fn add_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "lanyard_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| lanyard_domain::fields::search_fold(&t)))
        },
    )
}
