//! The SMTP backend: the `lettre` transport from the settings, and how SMTP errors classify.

use super::{EmailError, SmtpSettings, SmtpTls, mask_email};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;

pub(super) fn smtp_transport(
    s: &SmtpSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    let bad = |e: lettre::transport::smtp::Error| {
        EmailError::Permanent(format!("SMTP settings for {}: {e}", s.host))
    };
    let (builder, default_port) = match s.tls {
        SmtpTls::None => (
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.as_str()),
            25,
        ),
        SmtpTls::Starttls => (
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(bad)?,
            587,
        ),
        SmtpTls::Tls => (
            AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(bad)?,
            465,
        ),
    };
    let mut builder = builder
        .port(s.port.unwrap_or(default_port))
        .timeout(Some(Duration::from_millis(s.timeout_ms)));
    if let Some(user) = s.username.as_ref().filter(|u| !u.is_empty()) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            s.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// SMTP 5xx is permanent; 4xx, connection and I/O errors and timeouts are transient.
pub(super) fn classify_smtp(err: &lettre::transport::smtp::Error, to: &str) -> EmailError {
    // The error text may quote the recipient; mask it.
    let text = err.to_string().replace(to.trim(), &mask_email(to));
    let mut message = text;
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_permanent() {
        EmailError::Permanent(format!("SMTP server refused the message: {message}"))
    } else {
        EmailError::Transient(format!("SMTP: {message}"))
    }
}
