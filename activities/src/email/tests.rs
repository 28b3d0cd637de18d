use super::*;

fn email(key: &str) -> Email {
    Email {
        to: "Anna Müller <anna.mueller@example.com>".into(),
        subject: "Your appointment on Tuesday, November 24".into(),
        text: "See you at 9:00.\nDemo Dental Practice".into(),
        idempotency_key: key.into(),
    }
}

#[test]
fn message_ids_are_deterministic() {
    let a = message_id("call-1/confirmation");
    assert_eq!(a, message_id("call-1/confirmation"));
    assert_ne!(a, message_id("call-2/confirmation"));
    assert!(a.starts_with('<') && a.ends_with("@callsaga>") && a.len() == 64 + 11);
}

#[test]
fn masking() {
    assert_eq!(mask_email("anna.mueller@example.com"), "a***@example.com");
    assert_eq!(mask_email("Anna <anna@example.com>"), "a***@example.com");
    assert_eq!(mask_email("nonsense"), "***");
    assert_eq!(mask_email("@example.com"), "***");
}

#[test]
fn settings_deserialize_by_backend() {
    let smtp: EmailSettings = serde_json::from_value(serde_json::json!({
        "backend": "smtp", "host": "smtp.example.com", "tls": "tls", "username": "u",
        "password": "hunter2", "from": "Praxis <noreply@example.com>"
    }))
    .unwrap();
    let EmailBackend::Smtp(s) = &smtp.backend else {
        panic!("smtp expected: {smtp:?}")
    };
    assert_eq!((s.tls, s.port, s.timeout_ms), (SmtpTls::Tls, None, 10_000));
    assert_eq!(smtp.from, "Praxis <noreply@example.com>");
    assert!(!format!("{smtp:?}").contains("hunter2"));
    let file: EmailSettings =
        serde_json::from_value(serde_json::json!({"backend": "file", "dir": "/tmp/m"})).unwrap();
    assert!(matches!(file.backend, EmailBackend::File { .. }));
    assert_eq!(file.from, default_from());
    let memory: EmailSettings =
        serde_json::from_value(serde_json::json!({"backend": "memory"})).unwrap();
    assert!(matches!(memory.backend, EmailBackend::Memory));
    let default_tls: EmailSettings =
        serde_json::from_value(serde_json::json!({"backend": "smtp", "host": "h"})).unwrap();
    assert!(matches!(&default_tls.backend, EmailBackend::Smtp(s) if s.tls == SmtpTls::Starttls));
    assert!(
        serde_json::from_value::<EmailSettings>(serde_json::json!({"backend": "pigeon"})).is_err()
    );
    assert!(matches!(
        EmailSettings::default().backend,
        EmailBackend::File { .. }
    ));
    Mailer::new(&smtp).unwrap();
    Mailer::new(&EmailSettings::default()).unwrap();
    let bad_from = EmailSettings {
        from: "not an address".into(),
        ..EmailSettings::default()
    };
    assert!(matches!(
        Mailer::new(&bad_from),
        Err(EmailError::Permanent(_))
    ));
}

#[tokio::test]
async fn memory_backend_builds_the_message() {
    let mailer = Mailer::memory();
    mailer.deliver(&email("k1")).await.unwrap();
    mailer.deliver(&email("k1")).await.unwrap();
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "one message per key");
    let raw = String::from_utf8(sent[0].raw.clone()).unwrap();
    assert!(
        raw.contains(&format!("Message-ID: {}", message_id("k1"))),
        "{raw}"
    );
    assert!(
        raw.contains("Subject: Your appointment on Tuesday, November 24"),
        "{raw}"
    );
    assert!(raw.contains("anna.mueller@example.com"), "{raw}");
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert_eq!(sent[0].text, "See you at 9:00.\nDemo Dental Practice");
}

#[tokio::test]
async fn invalid_recipients_are_permanent() {
    let mailer = Mailer::memory();
    let mut e = email("k2");
    e.to = "not-an-address".into();
    let err = mailer.deliver(&e).await.unwrap_err();
    assert!(matches!(err, EmailError::Permanent(_)), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn file_backend_writes_one_eml_per_key() {
    let dir = std::env::temp_dir().join(format!("callsaga-mail-{}", Uuid::new_v4().simple()));
    let mailer = Mailer::new(&EmailSettings {
        from: default_from(),
        backend: EmailBackend::File { dir: dir.clone() },
    })
    .unwrap();
    mailer.deliver(&email("k3")).await.unwrap();
    mailer.deliver(&email("k3")).await.unwrap();
    mailer.deliver(&email("k4")).await.unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".eml") && n.len() == 64 + 4)
    );
    // A folder removed while running is created again.
    std::fs::remove_dir_all(&dir).unwrap();
    mailer.deliver(&email("k5")).await.unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn smtp_down_is_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = Mailer::new(&EmailSettings {
        from: default_from(),
        backend: EmailBackend::Smtp(SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_ms: 2_000,
        }),
    })
    .unwrap();
    let err = mailer.deliver(&email("k5")).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
