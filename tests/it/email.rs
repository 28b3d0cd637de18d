//! Email against a real local SMTP server (aiosmtpd, started once per test binary) and the file
//! backend, with the `email_outbox` idempotency record on SQLite and PostgreSQL.

use crate::helpers::{Engine, engines, fresh_database_url};
use crate::testservers::{spawn_supervised, temp_dir, testservers_python, wait_for_port};
use callsaga_activities::email::{
    Email, EmailBackend, EmailError, EmailSettings, Mailer, OutboxCheck, SendOutcome, SmtpSettings,
    SmtpTls, message_id,
};
use callsaga_api::devserver::free_port;
use callsaga_entity::email_outbox;
use callsaga_migration::{Migrator, MigratorTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::OnceCell;
use uuid::Uuid;

/// An aiosmtpd handler that stores every accepted message as JSON (envelope and decoded
/// headers and body), and answers 550 for `@reject.test` and 451 for `@later.test` recipients;
/// a `@flaky.test` recipient gets 451 the first time it is named and is accepted after.
const SINK_PY: &str = r#"
import email, json, os, uuid
from email import policy


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.flaky_seen = set()

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rsplit("@", 1)[-1].lower()
        if domain == "reject.test":
            return "550 5.1.1 mailbox unavailable"
        if domain == "later.test":
            return "451 4.3.0 try again later"
        if domain == "flaky.test" and address.lower() not in self.flaky_seen:
            self.flaky_seen.add(address.lower())
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "body": msg.get_body(preferencelist=("plain",)).get_content(),
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, name + ".json"))
        return "250 Message accepted for delivery"
"#;

pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    pub(crate) inbox: PathBuf,
}

impl SmtpSink {
    /// The `email` settings of an app that sends through this sink.
    pub(crate) fn settings(&self) -> Value {
        serde_json::json!({
            "backend": "smtp", "host": "127.0.0.1", "port": self.port, "tls": "none",
            "timeout_ms": 5000, "from": "Demo Dental Practice <noreply@practice.test>",
        })
    }
}

/// The shared SMTP sink of this test binary.
pub(crate) async fn smtp_sink() -> &'static SmtpSink {
    static SERVER: OnceCell<SmtpSink> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            let dir = temp_dir("smtp");
            let inbox = dir.join("inbox");
            std::fs::create_dir_all(&inbox).expect("inbox");
            std::fs::write(dir.join("callsaga_sink.py"), SINK_PY).expect("handler");
            let port = free_port().expect("free port");
            let listen = format!("127.0.0.1:{port}");
            let log = dir.join("aiosmtpd.log");
            let child = spawn_supervised(
                &testservers_python(),
                &[
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &listen,
                    "-c",
                    "callsaga_sink.Sink",
                    inbox.to_str().expect("utf-8 path"),
                ],
                &[("PYTHONPATH", dir.as_path())],
                &log,
            );
            wait_for_port(port, Duration::from_secs(30), &log).await;
            // Lives as long as the test process; its supervisor stops it then.
            std::mem::forget(child);
            SmtpSink { port, inbox }
        })
        .await
}

/// The messages the sink received with this Message-ID.
pub(crate) fn received(inbox: &Path, message_id: &str) -> Vec<Value> {
    std::fs::read_dir(inbox)
        .expect("inbox")
        .filter_map(|entry| {
            let path = entry.expect("entry").path();
            (path.extension().is_some_and(|e| e == "json")).then_some(path)
        })
        .map(|path| {
            serde_json::from_str::<Value>(&std::fs::read_to_string(path).expect("read"))
                .expect("json")
        })
        .filter(|m| m["message_id"] == message_id)
        .collect()
}

fn smtp_mailer(port: u16) -> Mailer {
    Mailer::new(&EmailSettings {
        from: "Demo Dental Practice <noreply@practice.test>".into(),
        backend: EmailBackend::Smtp(SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_ms: 5_000,
        }),
    })
    .expect("mailer")
}

async fn migrated_db(engine: Engine) -> DatabaseConnection {
    let db = sea_orm::Database::connect(fresh_database_url(engine).await)
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

async fn outbox_row(db: &DatabaseConnection, key: &str) -> Option<email_outbox::Model> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
        .expect("query")
}

fn confirmation(to: &str) -> Email {
    let key = format!("call-{}/booking/confirmation", Uuid::new_v4());
    Email {
        to: to.to_owned(),
        subject: "Ihr Termin am Dienstag, 24. November".into(),
        text: "Guten Tag Frau Müller,\n\nIhr Termin ist am Dienstag, 24. November, um 9:00 Uhr.\n\nDemo Dental Practice\n".into(),
        idempotency_key: key,
    }
}

#[tokio::test]
async fn smtp_delivers_once_per_key() {
    let sink = smtp_sink().await;
    let mailer = smtp_mailer(sink.port);
    for engine in engines().await {
        let db = migrated_db(engine).await;
        let email = confirmation("Anna Müller <anna.mueller@example.com>");
        let id = message_id(&email.idempotency_key);

        assert_eq!(
            mailer.send(&db, &email).await.expect("send"),
            SendOutcome::Sent,
            "{engine:?}"
        );
        // The same key again (a Temporal retry): nothing is sent.
        assert_eq!(
            mailer.send(&db, &email).await.expect("send again"),
            SendOutcome::AlreadySent,
            "{engine:?}"
        );

        let messages = received(&sink.inbox, &id);
        assert_eq!(messages.len(), 1, "{engine:?}: {messages:?}");
        let m = &messages[0];
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!(["anna.mueller@example.com"])
        );
        assert_eq!(m["mail_from"], "noreply@practice.test");
        assert_eq!(m["subject"], email.subject);
        assert_eq!(m["to"], "Anna Müller <anna.mueller@example.com>");
        assert_eq!(m["from"], "Demo Dental Practice <noreply@practice.test>");
        assert_eq!(
            // Line ends and the final newline are the transport's business.
            m["body"]
                .as_str()
                .map(|b| b.replace("\r\n", "\n").trim_end().to_owned()),
            Some(email.text.trim_end().to_owned())
        );
        assert!(
            id.starts_with('<') && id.ends_with("@callsaga>"),
            "Message-ID {id}"
        );

        let row = outbox_row(&db, &email.idempotency_key)
            .await
            .expect("outbox row");
        assert_eq!(row.status, "sent");
        assert!(row.sent_at.is_some());
        assert_eq!(row.recipient, email.to);
        assert_eq!(row.subject, email.subject);
        let _ = db.close().await;
    }
}

/// `send_checked(.., KnownUnsent)` (the booking's confirmation in the attempt that created the booking) skips
/// the outbox lookup but records what it sent, so a retry of the step sends nothing again.
#[tokio::test]
async fn an_unrecorded_send_is_recorded_for_the_retry() {
    let sink = smtp_sink().await;
    let mailer = smtp_mailer(sink.port);
    for engine in engines().await {
        let db = migrated_db(engine).await;
        let email = confirmation("anna@example.com");
        assert_eq!(
            mailer
                .send_checked(&db, &email, OutboxCheck::KnownUnsent)
                .await
                .expect("send"),
            SendOutcome::Sent,
            "{engine:?}"
        );
        let row = outbox_row(&db, &email.idempotency_key)
            .await
            .expect("outbox row");
        assert_eq!(row.status, "sent", "{engine:?}");
        assert_eq!(
            mailer.send(&db, &email).await.expect("retry"),
            SendOutcome::AlreadySent,
            "{engine:?}"
        );
        let id = message_id(&email.idempotency_key);
        assert_eq!(received(&sink.inbox, &id).len(), 1, "{engine:?}");

        // A permanent failure is recorded as `failed`, as `send` records it.
        let rejected = confirmation("nobody@reject.test");
        let err = mailer
            .send_checked(&db, &rejected, OutboxCheck::KnownUnsent)
            .await
            .expect_err("550");
        assert!(matches!(err, EmailError::Permanent(_)), "{engine:?}: {err}");
        let row = outbox_row(&db, &rejected.idempotency_key)
            .await
            .expect("failed row");
        assert_eq!(row.status, "failed", "{engine:?}");
        let _ = db.close().await;
    }
}

#[tokio::test]
async fn smtp_replies_are_classified() {
    let sink = smtp_sink().await;
    let mailer = smtp_mailer(sink.port);
    for engine in engines().await {
        let db = migrated_db(engine).await;

        // 5xx: permanent, recorded as failed, nothing delivered.
        let rejected = confirmation("nobody@reject.test");
        let err = mailer.send(&db, &rejected).await.expect_err("550");
        assert!(matches!(err, EmailError::Permanent(_)), "{engine:?}: {err}");
        assert!(!err.to_string().contains("nobody@"), "masked: {err}");
        let row = outbox_row(&db, &rejected.idempotency_key)
            .await
            .expect("failed row");
        assert_eq!(row.status, "failed");
        assert!(row.sent_at.is_none() && row.last_error.is_some());
        assert!(received(&sink.inbox, &message_id(&rejected.idempotency_key)).is_empty());

        // 4xx: transient, not recorded.
        let later = confirmation("somebody@later.test");
        let err = mailer.send(&db, &later).await.expect_err("451");
        assert!(err.is_transient(), "{engine:?}: {err}");
        assert!(outbox_row(&db, &later.idempotency_key).await.is_none());

        // An address that is no address: permanent before any SMTP.
        let invalid = confirmation("not an address");
        let err = mailer.send(&db, &invalid).await.expect_err("invalid");
        assert!(matches!(err, EmailError::Permanent(_)), "{err}");
        let _ = db.close().await;
    }
}

#[tokio::test]
async fn smtp_down_is_transient_and_retry_sends_later() {
    let db = migrated_db(Engine::Sqlite).await;
    let down = smtp_mailer(free_port().expect("port"));
    let email = confirmation("anna@example.com");
    let err = down.send(&db, &email).await.expect_err("nothing listening");
    assert!(err.is_transient(), "{err}");
    assert!(outbox_row(&db, &email.idempotency_key).await.is_none());

    // The retry, once the server is there, sends it.
    let sink = smtp_sink().await;
    assert_eq!(
        smtp_mailer(sink.port)
            .send(&db, &email)
            .await
            .expect("retry"),
        SendOutcome::Sent
    );
    assert_eq!(
        received(&sink.inbox, &message_id(&email.idempotency_key)).len(),
        1
    );
    let _ = db.close().await;
}

#[tokio::test]
async fn file_backend_writes_one_eml_per_key() {
    for engine in engines().await {
        let db = migrated_db(engine).await;
        let dir = temp_dir("mail");
        let mailer = Mailer::new(&EmailSettings {
            from: "noreply@practice.test".into(),
            backend: EmailBackend::File { dir: dir.clone() },
        })
        .expect("mailer");
        let email = confirmation("anna@example.com");
        assert_eq!(
            mailer.send(&db, &email).await.expect("send"),
            SendOutcome::Sent
        );
        assert_eq!(
            mailer.send(&db, &email).await.expect("send again"),
            SendOutcome::AlreadySent
        );
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "{engine:?}: {files:?}");
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let raw = std::fs::read_to_string(&files[0]).expect("eml");
        assert!(
            raw.contains(&format!(
                "Message-ID: {}",
                message_id(&email.idempotency_key)
            )),
            "{raw}"
        );
        assert!(raw.contains("To: anna@example.com"), "{raw}");
        assert_eq!(
            outbox_row(&db, &email.idempotency_key)
                .await
                .expect("row")
                .status,
            "sent"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = db.close().await;
    }
}
