//! Email configuration: the backend and, for SMTP, server, TLS and credentials.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// Email configuration, e.g. `{"backend": "smtp", "host": "smtp.example.com", "tls":
/// "starttls", "username": "…", "password": "…", "from": "Praxis <noreply@example.com>"}` or
/// `{"backend": "file", "dir": "data/mail"}`.
#[derive(Clone, Debug, Deserialize)]
pub struct EmailSettings {
    /// The sender mailbox.
    #[serde(default = "default_from")]
    pub from: String,
    #[serde(flatten)]
    pub backend: EmailBackend,
}

impl Default for EmailSettings {
    /// `.eml` files in `data/mail` (the `dev` default).
    fn default() -> Self {
        Self {
            from: default_from(),
            backend: EmailBackend::File {
                dir: PathBuf::from("data/mail"),
            },
        }
    }
}

pub(super) fn default_from() -> String {
    "callsaga <noreply@callsaga.localhost>".to_owned()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
pub enum EmailBackend {
    Smtp(SmtpSettings),
    File { dir: PathBuf },
    Memory,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (local test servers only). Default port 25.
    None,
    /// Upgrade with STARTTLS, required. Default port 587.
    #[default]
    Starttls,
    /// Implicit TLS ("SMTPS"). Default port 465.
    Tls,
}

#[derive(Clone, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    /// Defaults by `tls`: 25, 587 or 465.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Timeout of each SMTP command, in milliseconds (default 10 000).
    #[serde(default = "default_smtp_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_smtp_timeout_ms() -> u64 {
    10_000
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}
