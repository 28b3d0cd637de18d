//! Email: confirmations to callers and notices to owners, sent at most once per idempotency key.
//!
//! [`Mailer`] has three backends, chosen by [`EmailSettings`] (`backend = smtp | file |
//! memory`):
//! - `smtp`: any SMTP server with `lettre` (plain, STARTTLS or implicit TLS with rustls);
//! - `file` (the `dev` default): one `.eml` file per message in a folder, no mail server needed;
//! - `memory`: kept in the process, for unit tests.
//!
//! [`Mailer::send`] is idempotent: the `email_outbox` table records each idempotency key after
//! the message went out, and a key already recorded as `sent` is not sent again. The message's
//! `Message-ID` is derived from the key (`<sha256(key)@callsaga>`), so even the one duplicate
//! that can slip through (the process dies between sending and recording) is recognisable to
//! the receiving side. [`Mailer::send_checked`] with [`OutboxCheck::KnownUnsent`] skips the
//! lookup for a key the caller knows no earlier attempt can have sent, and records the outcome
//! the same way. A row in state [`OUTBOX_PENDING`] records an email that is owed before it is
//! sent (written in the transaction of the change that owes it).
//!
//! Errors are classified for Temporal: connection failures, timeouts and SMTP 4xx replies are
//! [`EmailError::Transient`] (retried); SMTP 5xx replies and invalid addresses are
//! [`EmailError::Permanent`]. Recipient addresses are masked in logs; the SMTP password never
//! prints.

mod settings;
mod smtp;
#[cfg(test)]
mod tests;

use settings::default_from;
pub use settings::{EmailBackend, EmailSettings, SmtpSettings, SmtpTls};
use smtp::{classify_smtp, smtp_transport};

use crate::failure::{permanent, transient};
use callsaga_entity::email_outbox;
use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// `email_outbox.status` of an email that is owed but not sent yet: written together with the
/// state change that owes it (escalation settling), so a retry after a failed send finds it.
/// [`Mailer::send`] sends a pending key like an unknown one and records it `sent`.
pub const OUTBOX_PENDING: &str = "pending";

/// One email to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// `anna@example.com` or `Anna Müller <anna@example.com>`.
    pub to: String,
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// Derived from the workflow id and step; at most one message is sent per key.
    pub idempotency_key: String,
}

/// Why an email was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Retrying later may help: server unreachable, timeout, SMTP 4xx, database busy.
    #[error("email not sent (will retry): {0}")]
    Transient(String),
    /// Retrying cannot help: SMTP 5xx, invalid address, bad configuration.
    #[error("email not sent: {0}")]
    Permanent(String),
}

impl EmailError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    /// The activity error for Temporal: transient stays retryable; permanent becomes a
    /// non-retryable `EmailFailed`. Use this rather than `?`, whose blanket conversion would make
    /// every error retryable.
    pub fn into_activity_error(self) -> ActivityError {
        match self {
            Self::Transient(_) => transient(anyhow::Error::new(self)),
            Self::Permanent(_) => permanent("EmailFailed", self.to_string()),
        }
    }
}

/// Whether [`Mailer::send_checked`] consults `email_outbox` before sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxCheck {
    /// Look the key up; a key recorded as `sent` is not sent again.
    Lookup,
    /// Skip the lookup: no earlier attempt can have sent this key (the booking's confirmation
    /// in the attempt that created the booking, which sends only after recording the row).
    KnownUnsent,
}

/// What [`Mailer::send`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The key was recorded as sent before; nothing was sent now.
    AlreadySent,
}

/// A message kept by the memory backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    /// The whole message as it would go over the wire.
    pub raw: Vec<u8>,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
    Memory(Arc<Mutex<Vec<SentEmail>>>),
}

/// Sends email through the configured backend. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File(_) => "file",
            Transport::Memory(_) => "memory",
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("backend", &backend)
            .finish()
    }
}

impl Mailer {
    pub fn new(settings: &EmailSettings) -> Result<Self, EmailError> {
        let from: Mailbox = settings.from.parse().map_err(|e| {
            EmailError::Permanent(format!("invalid sender address {:?}: {e}", settings.from))
        })?;
        let transport = match &settings.backend {
            EmailBackend::Smtp(smtp) => Transport::Smtp(smtp_transport(smtp)?),
            EmailBackend::File { dir } => Transport::File(dir.clone()),
            EmailBackend::Memory => Transport::Memory(Arc::default()),
        };
        Ok(Self { from, transport })
    }

    /// A memory mailer (for tests).
    pub fn memory() -> Self {
        Self {
            from: default_from()
                .parse()
                .expect("the default sender is a valid mailbox"),
            transport: Transport::Memory(Arc::default()),
        }
    }

    /// What the memory backend has sent (empty for the other backends).
    pub fn sent(&self) -> Vec<SentEmail> {
        match &self.transport {
            Transport::Memory(sent) => sent.lock().map(|s| s.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Sends `email` unless its idempotency key is recorded as sent in `email_outbox`, then
    /// records it. A permanent failure is recorded as `failed` (a later send with the same key
    /// tries again); a transient one is not recorded.
    pub async fn send(
        &self,
        db: &impl ConnectionTrait,
        email: &Email,
    ) -> Result<SendOutcome, EmailError> {
        self.send_checked(db, email, OutboxCheck::Lookup).await
    }

    /// [`Mailer::send`], with the `email_outbox` lookup skipped when the caller knows the key
    /// cannot have been sent ([`OutboxCheck::KnownUnsent`]). The outcome is recorded either way.
    pub async fn send_checked(
        &self,
        db: &impl ConnectionTrait,
        email: &Email,
        check: OutboxCheck,
    ) -> Result<SendOutcome, EmailError> {
        if email.idempotency_key.trim().is_empty() {
            return Err(EmailError::Permanent(
                "email idempotency key is empty".into(),
            ));
        }
        let to = mask_email(&email.to);
        if check == OutboxCheck::Lookup {
            let existing = email_outbox::Entity::find()
                .filter(email_outbox::Column::IdempotencyKey.eq(&email.idempotency_key))
                .one(db)
                .await
                .map_err(db_error)?;
            if existing.is_some_and(|row| row.status == "sent") {
                tracing::info!(email.to = %to, email.key = %email.idempotency_key, "email already sent");
                return Ok(SendOutcome::AlreadySent);
            }
        }
        match self.deliver(email).await {
            Ok(()) => {
                record(db, email, "sent", None).await?;
                tracing::info!(email.to = %to, email.key = %email.idempotency_key, "email sent");
                Ok(SendOutcome::Sent)
            }
            Err(err @ EmailError::Permanent(_)) => {
                tracing::warn!(email.to = %to, email.key = %email.idempotency_key, error = %err, "email failed");
                record(db, email, "failed", Some(err.to_string())).await?;
                Err(err)
            }
            Err(err) => {
                tracing::warn!(email.to = %to, email.key = %email.idempotency_key, error = %err, "email failed, will retry");
                Err(err)
            }
        }
    }

    /// Sends without consulting or writing `email_outbox`. Idempotent only as far as the
    /// backend is: the file and memory backends keep one message per key, SMTP sends again
    /// (with the same `Message-ID`).
    pub async fn deliver(&self, email: &Email) -> Result<(), EmailError> {
        let message_id = message_id(&email.idempotency_key);
        let message = self.build(email, &message_id)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| classify_smtp(&e, &email.to)),
            Transport::File(dir) => write_eml(dir, &message_id, &message.formatted()),
            Transport::Memory(sent) => {
                let mut sent = sent
                    .lock()
                    .map_err(|_| EmailError::Transient("memory mailer poisoned".into()))?;
                if !sent.iter().any(|s| s.message_id == message_id) {
                    sent.push(SentEmail {
                        to: email.to.clone(),
                        subject: email.subject.clone(),
                        text: email.text.clone(),
                        message_id,
                        raw: message.formatted(),
                    });
                }
                Ok(())
            }
        }
    }

    fn build(&self, email: &Email, message_id: &str) -> Result<Message, EmailError> {
        let to: Mailbox = email.to.trim().parse().map_err(|e| {
            EmailError::Permanent(format!(
                "invalid recipient address {}: {e}",
                mask_email(&email.to)
            ))
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .message_id(Some(message_id.to_owned()))
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone())
            .map_err(|e| EmailError::Permanent(format!("cannot build the message: {e}")))
    }
}

/// `<sha256(key) hex@callsaga>`: the same for every attempt of one email.
pub fn message_id(idempotency_key: &str) -> String {
    format!(
        "<{}@callsaga>",
        hex::encode(Sha256::digest(idempotency_key.as_bytes()))
    )
}

/// `a***@example.com` (or `***` for something that is not an address), for logs.
pub fn mask_email(address: &str) -> String {
    let address = address.trim();
    // `Name <addr>`: only the address matters.
    let address = address
        .rsplit_once('<')
        .map_or(address, |(_, a)| a.trim_end_matches('>'));
    match address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        _ => "***".to_owned(),
    }
}

/// Stores the message as `<sha256(key)>.eml`, inline on the calling task. This is the `dev`
/// backend: a few kilobytes into a local folder (page cache, no fsync). On a busy machine a
/// round trip through the blocking pool cost a waiting caller more than the write itself
/// (bench-tools at 32 calls: the whole email step, outbox row included, 0.76 ms mean with the
/// blocking pool, 0.35–0.40 ms without). A key already stored keeps its first message.
fn write_eml(dir: &Path, message_id: &str, raw: &[u8]) -> Result<(), EmailError> {
    let io = |what: &str, e: std::io::Error| {
        EmailError::Transient(format!("cannot {what} in {}: {e}", dir.display()))
    };
    let name = message_id
        .trim_start_matches('<')
        .split('@')
        .next()
        .unwrap_or_default();
    let path = dir.join(format!("{name}.eml"));
    if path.try_exists().unwrap_or(false) {
        return Ok(());
    }
    // Written aside and renamed, so a reader never sees half a message.
    let tmp = dir.join(format!(".{name}.{}.tmp", Uuid::new_v4().simple()));
    if let Err(e) = std::fs::write(&tmp, raw) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(io("write the message", e));
        }
        // No folder yet (the first message, or it was removed): create it and write again.
        std::fs::create_dir_all(dir).map_err(|e| io("create the mail folder", e))?;
        std::fs::write(&tmp, raw).map_err(|e| io("write the message", e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| io("store the message", e))
}

async fn record(
    db: &impl ConnectionTrait,
    email: &Email,
    status: &str,
    error: Option<String>,
) -> Result<(), EmailError> {
    let now = Utc::now();
    let row = email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        idempotency_key: Set(email.idempotency_key.clone()),
        recipient: Set(email.to.trim().to_owned()),
        subject: Set(email.subject.clone()),
        status: Set(status.to_owned()),
        last_error: Set(error),
        sent_at: Set((status == "sent").then_some(now)),
        created_at: Set(now),
    };
    email_outbox::Entity::insert(row)
        .on_conflict(
            OnConflict::column(email_outbox::Column::IdempotencyKey)
                .update_columns([
                    email_outbox::Column::Recipient,
                    email_outbox::Column::Subject,
                    email_outbox::Column::Status,
                    email_outbox::Column::LastError,
                    email_outbox::Column::SentAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn db_error(e: sea_orm::DbErr) -> EmailError {
    EmailError::Transient(format!("email outbox: {e}"))
}
