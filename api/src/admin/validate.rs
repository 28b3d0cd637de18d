//! Validation of tenant configuration at the edge. Each function checks one kind of value,
//! returns it normalised (trimmed, canonical time-zone name, lower-case email), and on failure
//! an [`AdminError::Invalid`] that names the field.

use super::error::AdminError;
use callsaga_activities::availability::{BusinessHours, parse_timezone};
use callsaga_activities::calendar::CalDavPolicy;
use serde_json::{Map, Value};

/// Shown instead of a stored secret (the CalDAV password). Sending it back in an update keeps
/// the stored secret.
pub(crate) const MASK: &str = "********";

/// Calendar providers an agent can use (`agents.calendar_provider`).
pub(crate) const CALENDAR_PROVIDERS: &[&str] = &["embedded", "caldav", "none"];

/// How a transfer to a human is done (`escalation_configs.transfer_mode`).
pub(crate) const TRANSFER_MODES: &[&str] = &["warm", "blind"];

type Result<T> = std::result::Result<T, AdminError>;

fn invalid<T>(field: &str, message: impl Into<String>) -> Result<T> {
    Err(AdminError::invalid(field, message))
}

/// A non-empty single-line or multi-line text of at most `max` characters, trimmed.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return invalid(field, "must not be empty");
    }
    if value.chars().count() > max {
        return invalid(field, format!("must be at most {max} characters"));
    }
    Ok(value.to_owned())
}

/// An external identifier (Vapi assistant or phone-number id): 1–200 printable characters
/// without whitespace.
pub(crate) fn identifier(field: &str, value: &str) -> Result<String> {
    let value = text(field, value, 200)?;
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(field, "must not contain whitespace");
    }
    Ok(value)
}

/// An email address: `local@domain.tld`, stored lower-case.
pub(crate) fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_ascii_lowercase();
    let ok = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && !local.starts_with('.')
                && !local.ends_with('.')
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
                && domain.contains('.')
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        });
    if !ok {
        return invalid(
            field,
            format!("{value:?} is not an email address (expected name@example.com)"),
        );
    }
    Ok(value)
}

/// A phone number in E.164: `+` then 8 to 15 digits, nothing else.
pub(crate) fn e164(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let digits = value.strip_prefix('+').unwrap_or_default();
    if !value.starts_with('+')
        || !(8..=15).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return invalid(
            field,
            format!("{value:?} is not an E.164 number (`+` then 8 to 15 digits, e.g. +4930123456)"),
        );
    }
    Ok(value.to_owned())
}

/// An IANA time zone such as `Europe/Berlin`; returns its canonical spelling.
pub(crate) fn timezone(field: &str, value: &str) -> Result<String> {
    parse_timezone(value)
        .map(|tz| tz.name().to_owned())
        .map_err(|e| AdminError::invalid(field, e.to_string()))
}

/// A language tag like `en`, `de` or `de-DE`: a 2–3 letter language, then subtags of 2–8
/// letters or digits.
pub(crate) fn language(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !ok {
        return invalid(
            field,
            format!("{value:?} is not a language tag (e.g. en, de, de-DE)"),
        );
    }
    Ok(value.to_owned())
}

/// Weekly opening hours, `{"mon":[["09:00","17:00"]], ..., "sun":[]}`.
pub(crate) fn business_hours(field: &str, value: &Value) -> Result<Value> {
    BusinessHours::from_json(value).map_err(|e| AdminError::invalid(field, e.to_string()))?;
    Ok(value.clone())
}

/// An appointment length in minutes, 5 to 480.
pub(crate) fn appointment_duration(field: &str, minutes: i32) -> Result<i32> {
    if !(5..=480).contains(&minutes) {
        return invalid(
            field,
            format!("must be between 5 and 480 minutes, got {minutes}"),
        );
    }
    Ok(minutes)
}

/// A credit amount that may be zero but not negative.
pub(crate) fn non_negative(field: &str, value: i64) -> Result<i64> {
    if value < 0 {
        return invalid(field, format!("must not be negative, got {value}"));
    }
    Ok(value)
}

/// A JSON object (or nothing).
pub(crate) fn object(field: &str, value: Option<Value>) -> Result<Option<Value>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => invalid(field, format!("must be a JSON object, got {other}")),
    }
}

/// One of `allowed`.
pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String> {
    let value = value.trim();
    if !allowed.contains(&value) {
        return invalid(
            field,
            format!("{value:?} is not one of {}", allowed.join(", ")),
        );
    }
    Ok(value.to_owned())
}

/// The calendar of an agent: `embedded` and `none` take no configuration (`null` or `{}`);
/// `caldav` needs `{url, username?, password?, timeout_ms?}` with an http(s) URL.
/// The URL must also pass `policy` (https, no private destinations unless allowed).
pub(crate) fn calendar(
    provider: &str,
    config: Option<Value>,
    policy: &CalDavPolicy,
) -> Result<(String, Option<Value>)> {
    let provider = one_of("calendar_provider", provider, CALENDAR_PROVIDERS)?;
    let config =
        object("calendar_config", config)?.filter(|c| c.as_object().is_some_and(|m| !m.is_empty()));
    if provider != "caldav" {
        if config.is_some() {
            return invalid(
                "calendar_config",
                format!("must be empty for calendar_provider {provider}"),
            );
        }
        return Ok((provider, None));
    }
    let Some(Value::Object(map)) = config else {
        return invalid(
            "calendar_config",
            "is required for calendar_provider caldav: {\"url\": \"https://…\", \"username\": …, \"password\": …}",
        );
    };
    Ok((provider, Some(Value::Object(caldav(map, policy)?))))
}

fn caldav(map: Map<String, Value>, policy: &CalDavPolicy) -> Result<Map<String, Value>> {
    for key in map.keys() {
        if !["url", "username", "password", "timeout_ms"].contains(&key.as_str()) {
            return invalid(
                &format!("calendar_config.{key}"),
                "unknown field (expected url, username, password, timeout_ms)",
            );
        }
    }
    let Some(Value::String(raw)) = map.get("url") else {
        return invalid("calendar_config.url", "is required and must be a string");
    };
    let url = url::Url::parse(raw.trim())
        .map_err(|e| AdminError::invalid("calendar_config.url", format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return invalid("calendar_config.url", "must be an http(s) URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid(
            "calendar_config.url",
            "must not contain credentials; use `username` and `password`",
        );
    }
    policy
        .check_url(&url)
        .map_err(|why| AdminError::invalid("calendar_config.url", why))?;
    for key in ["username", "password"] {
        if !matches!(map.get(key), None | Some(Value::Null | Value::String(_))) {
            return invalid(&format!("calendar_config.{key}"), "must be a string");
        }
    }
    if let Some(t) = map.get("timeout_ms").filter(|t| !t.is_null())
        && !t.as_u64().is_some_and(|t| (1..=60_000).contains(&t))
    {
        return invalid(
            "calendar_config.timeout_ms",
            "must be a number of milliseconds between 1 and 60000",
        );
    }
    let mut out = map;
    out.insert("url".into(), Value::String(url.to_string()));
    Ok(out)
}

/// The calendar configuration as shown to operators: the password replaced by [`MASK`].
pub(crate) fn mask_calendar_config(config: Option<&Value>) -> Option<Value> {
    let mut config = config?.clone();
    if let Some(p) = config.get_mut("password")
        && !p.is_null()
    {
        *p = Value::String(MASK.into());
    }
    Some(config)
}

/// Puts the stored password back where an update sent the [`MASK`] it was shown.
pub(crate) fn unmask_calendar_config(new: &mut Option<Value>, old: Option<&Value>) {
    if let Some(p) = new.as_mut().and_then(|c| c.get_mut("password"))
        && p.as_str() == Some(MASK)
    {
        *p = old
            .and_then(|o| o.get("password"))
            .cloned()
            .unwrap_or(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("invalid").to_string()
    }

    #[test]
    fn e164_numbers() {
        assert_eq!(e164("n", " +4930123456 ").unwrap(), "+4930123456");
        assert!(e164("n", "+12345678").is_ok());
        assert!(e164("n", "+123456789012345").is_ok());
        for bad in [
            "4930123456",
            "+1234567",
            "+1234567890123456",
            "+49 30 123456",
            "+49a0123456",
        ] {
            assert!(
                message(e164("number", bad)).starts_with("number: "),
                "{bad}"
            );
        }
    }

    #[test]
    fn emails_languages_time_zones() {
        assert_eq!(email("e", " Ops@Example.COM ").unwrap(), "ops@example.com");
        for bad in [
            "ops",
            "ops@",
            "@x.de",
            "ops@localhost",
            "a b@x.de",
            "ops@-x.de",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        for good in ["en", "de", "de-DE", "zh-Hant-TW"] {
            assert!(language("l", good).is_ok(), "{good}");
        }
        for bad in ["", "e", "english", "de_DE", "de-", "de-D"] {
            assert!(language("l", bad).is_err(), "{bad}");
        }
        assert_eq!(timezone("tz", " Europe/Berlin").unwrap(), "Europe/Berlin");
        assert!(message(timezone("tz", "Mars/Base")).contains("Mars/Base"));
    }

    fn cal(provider: &str, config: Option<Value>) -> Result<(String, Option<Value>)> {
        calendar(provider, config, &CalDavPolicy::default())
    }

    #[test]
    fn caldav_urls_follow_the_destination_policy() {
        let err = message(cal(
            "caldav",
            Some(json!({"url": "http://dav.example.com/"})),
        ));
        assert!(err.contains("https"), "{err}");
        let err = message(cal(
            "caldav",
            Some(json!({"url": "https://169.254.169.254/cal/"})),
        ));
        assert!(err.starts_with("calendar_config.url: "), "{err}");
        assert!(err.contains("caldav_allow_private"), "{err}");
        let local = Some(json!({"url": "http://127.0.0.1:5232/cal/"}));
        assert!(calendar("caldav", local, &CalDavPolicy::permissive()).is_ok());
    }

    #[test]
    fn calendars() {
        assert_eq!(cal("embedded", None).unwrap(), ("embedded".into(), None));
        assert_eq!(cal("none", Some(json!({}))).unwrap(), ("none".into(), None));
        assert!(message(cal("google", None)).starts_with("calendar_provider: "));
        assert!(message(cal("embedded", Some(json!({"url": "x"})))).contains("empty"));
        assert!(message(cal("caldav", None)).starts_with("calendar_config: "));
        assert!(message(cal("caldav", Some(json!({"url": "ftp://x/"})))).contains("http"));
        assert!(message(cal("caldav", Some(json!({"url": "not a url"})))).contains("URL"));
        assert!(
            message(cal("caldav", Some(json!({"url": "https://u:p@x/"})))).contains("credentials")
        );
        assert!(message(cal("caldav", Some(json!({"url": "https://x/", "pw": 1})))).contains("pw"));
        let (_, config) = cal(
            "caldav",
            Some(json!({"url": "https://dav.example.com/cal/", "username": "u", "password": "p"})),
        )
        .unwrap();
        let masked = mask_calendar_config(config.as_ref()).unwrap();
        assert_eq!(masked["password"], MASK);
        let mut back = Some(masked);
        unmask_calendar_config(&mut back, config.as_ref());
        assert_eq!(back, config);
    }

    #[test]
    fn numbers() {
        assert!(appointment_duration("d", 4).is_err());
        assert!(appointment_duration("d", 481).is_err());
        assert_eq!(appointment_duration("d", 30).unwrap(), 30);
        assert!(non_negative("g", -1).is_err());
        assert!(
            message(business_hours(
                "business_hours",
                &json!({"mon": [["17:00", "09:00"]]})
            ))
            .starts_with("business_hours: ")
        );
    }
}
