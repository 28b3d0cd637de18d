//! Secure by default: a process that listens beyond loopback must authenticate its webhook
//! and guard its admin API with a real token. Checked once at start-up; the only way around it
//! is an explicit opt-out, which is logged loudly at every start.

use crate::settings::Settings;
use crate::vapi::{HmacAlgorithm, WebhookAuth};

/// Shortest admin token accepted on a non-loopback address.
pub const MIN_PUBLIC_ADMIN_TOKEN_BYTES: usize = 32;

/// Refuses a configuration that would expose an unauthenticated webhook or a weakly guarded
/// admin API to the network; warns about weak but allowed choices.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    let public = !settings.listen.ip().is_loopback();
    let auth = &settings.webhook.auth;
    if public && matches!(auth, WebhookAuth::None) {
        if settings.webhook.allow_unauthenticated_public {
            tracing::error!(
                listen = %settings.listen,
                "INSECURE: the webhook accepts unauthenticated requests on a non-loopback address \
                 (webhook.allow_unauthenticated_public = true); anyone who can reach it can post calls"
            );
        } else {
            anyhow::bail!(
                "refusing to listen on {} with webhook.auth mode \"none\": anyone could post calls. \
                 Configure webhook.auth (bearer or hmac, see temporal/PRODUCTION.md), listen on \
                 127.0.0.1, or set webhook.allow_unauthenticated_public = true to accept the risk",
                settings.listen
            );
        }
    }
    // The admin API is on `admin.listen` when set, else beside the webhook.
    let admin_listen = settings.admin.listen.unwrap_or(settings.listen);
    let admin_public = !admin_listen.ip().is_loopback();
    let token_len = settings
        .admin
        .token
        .as_ref()
        .map_or(0, |t| t.expose().len());
    if admin_public && token_len > 0 && token_len < MIN_PUBLIC_ADMIN_TOKEN_BYTES {
        if settings.admin.allow_short_token_public {
            tracing::error!(
                listen = %admin_listen,
                token_bytes = token_len,
                "INSECURE: the admin API is reachable beyond loopback with a token shorter than \
                 {MIN_PUBLIC_ADMIN_TOKEN_BYTES} bytes (admin.allow_short_token_public = true)"
            );
        } else {
            anyhow::bail!(
                "refusing to listen on {} with an admin token of {token_len} bytes: use at least \
                 {MIN_PUBLIC_ADMIN_TOKEN_BYTES} random bytes (e.g. `openssl rand -hex 32`), listen on \
                 127.0.0.1, or set admin.allow_short_token_public = true to accept the risk",
                admin_listen
            );
        }
    }
    if let WebhookAuth::Hmac {
        algorithm,
        payload_format,
        ..
    } = auth
    {
        if *algorithm == HmacAlgorithm::Sha1 {
            tracing::warn!("webhook.auth uses HMAC-SHA1, which is weak; prefer sha256 or sha512");
        }
        if !payload_format.contains("{timestamp}") {
            tracing::warn!(
                "webhook.auth payload_format does not sign {{timestamp}}: a captured request \
                 cannot be told stale; only the replay cache (tolerance_secs) protects against replays"
            );
        }
    }
    Ok(())
}
