//! The `call`, `customer` and `phoneNumber` objects every Vapi message carries, and lenient
//! timestamp handling.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;

use super::ended_reason::EndedReason;

open_enum! {
    /// `call.type`.
    pub enum CallType {
        /// A caller dialled one of our numbers.
        InboundPhoneCall => "inboundPhoneCall",
        /// Vapi dialled out.
        OutboundPhoneCall => "outboundPhoneCall",
        /// A browser / SDK call.
        WebCall => "webCall",
    }
}

/// Direction of a call, derived from [`CallType`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `inboundPhoneCall`.
    Inbound,
    /// `outboundPhoneCall`.
    Outbound,
    /// `webCall`.
    Web,
    /// A call type this version does not know.
    Unknown,
}

impl Direction {
    /// A short lowercase label (`inbound`, `outbound`, `web`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Web => "web",
            Self::Unknown => "unknown",
        }
    }
}

impl CallType {
    /// The call's direction.
    pub fn direction(&self) -> Direction {
        match self {
            Self::InboundPhoneCall => Direction::Inbound,
            Self::OutboundPhoneCall => Direction::Outbound,
            Self::WebCall => Direction::Web,
            Self::Other(_) => Direction::Unknown,
        }
    }
}

open_enum! {
    /// `status` of a status-update and `call.status`.
    pub enum CallStatus {
        /// Scheduled for later.
        Scheduled => "scheduled",
        /// Waiting to be placed.
        Queued => "queued",
        /// Ringing.
        Ringing => "ringing",
        /// Connected, the conversation runs.
        InProgress => "in-progress",
        /// Being forwarded / transferred.
        Forwarding => "forwarding",
        /// Over.
        Ended => "ended",
    }
}

/// `call.customer` / `message.customer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// E.164 number of the caller / callee (PII: log only through `mask_phone`).
    pub number: Option<String>,
    /// Name, when Vapi knows one.
    pub name: Option<String>,
    /// SIP URI for SIP calls.
    pub sip_uri: Option<String>,
}

/// `message.phoneNumber`: the Vapi number the call came in on / went out from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// Vapi phone number id (often absent here; `call.phoneNumberId` has it).
    pub id: Option<String>,
    /// The number itself.
    pub number: Option<String>,
    /// Display name configured in Vapi.
    pub name: Option<String>,
    /// `twilio`, `vonage`, `vapi`, ...
    pub provider: Option<String>,
    /// Assistant configured on the number, if any.
    pub assistant_id: Option<String>,
    /// Squad configured on the number, if any.
    pub squad_id: Option<String>,
}

/// The common view of `message.call`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// Vapi call id. Always non-empty except (leniently) in an assistant-request.
    #[serde(default)]
    pub id: String,
    /// Vapi org id.
    pub org_id: Option<String>,
    /// Assistant id; absent when the number has none (then Vapi sends an assistant-request).
    pub assistant_id: Option<String>,
    /// Squad id, if a squad runs the call.
    pub squad_id: Option<String>,
    /// Vapi phone number id.
    pub phone_number_id: Option<String>,
    /// The other party.
    pub customer: Option<Customer>,
    /// `inboundPhoneCall`, `outboundPhoneCall`, `webCall`, ...
    #[serde(rename = "type")]
    pub call_type: Option<CallType>,
    /// Status at the time the message was sent.
    pub status: Option<CallStatus>,
    /// `twilio`, `vonage`, ...
    pub phone_call_provider: Option<String>,
    /// The provider's call id (e.g. Twilio call SID).
    pub phone_call_provider_id: Option<String>,
    /// When Vapi created the call.
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update of the call object.
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the call connected.
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the call ended.
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended (only once it has).
    pub ended_reason: Option<EndedReason>,
    /// Total cost in USD, once known.
    pub cost: Option<f64>,
}

impl Call {
    /// The caller's / callee's number.
    pub fn customer_number(&self) -> Option<&str> {
        self.customer.as_ref()?.number.as_deref()
    }

    /// Direction derived from `type` ([`Direction::Unknown`] when absent).
    pub fn direction(&self) -> Direction {
        self.call_type
            .as_ref()
            .map_or(Direction::Unknown, CallType::direction)
    }
}

/// Converts an epoch number to a time: values of 1e12 and above are milliseconds, smaller ones
/// seconds (Vapi sends milliseconds; seconds are accepted for robustness).
pub(crate) fn from_epoch(value: f64) -> Option<DateTime<Utc>> {
    if !value.is_finite() {
        return None;
    }
    let micros = if value.abs() >= 1e12 {
        value * 1e3
    } else {
        value * 1e6
    };
    if micros.abs() >= 9.0e18 {
        return None;
    }
    DateTime::from_timestamp_micros(micros.round() as i64)
}

/// Deserializes an optional timestamp given as RFC 3339 text, epoch milliseconds (or seconds) as a
/// number, or a numeric string. `null` and absence are `None`; anything else is an error.
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let parsed = match &value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().and_then(from_epoch),
        Some(Value::String(s)) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(from_epoch))
        }
        Some(_) => None,
    };
    parsed.map(Some).ok_or_else(|| {
        D::Error::custom("invalid timestamp: expected RFC 3339 text or epoch milliseconds")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "opt_timestamp")]
        at: Option<DateTime<Utc>>,
    }

    fn at(json: &str) -> Result<Option<DateTime<Utc>>, serde_json::Error> {
        serde_json::from_str::<T>(json).map(|t| t.at)
    }

    #[test]
    fn timestamps_accept_rfc3339_millis_seconds_and_null() {
        let expected = DateTime::parse_from_rfc3339("2025-11-21T09:14:02.118Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            at(r#"{"at":"2025-11-21T09:14:02.118Z"}"#).expect("iso"),
            Some(expected)
        );
        assert_eq!(at(r#"{"at":1763716442118}"#).expect("ms"), Some(expected));
        assert_eq!(at(r#"{"at":1763716442.118}"#).expect("s"), Some(expected));
        assert_eq!(
            at(r#"{"at":"1763716442118"}"#).expect("ms text"),
            Some(expected)
        );
        assert_eq!(at(r#"{"at":null}"#).expect("null"), None);
        assert_eq!(at("{}").expect("absent"), None);
    }

    #[test]
    fn timestamps_reject_garbage() {
        let err = at(r#"{"at":"yesterday"}"#).expect_err("garbage");
        assert!(err.to_string().contains("invalid timestamp"), "{err}");
        assert!(at(r#"{"at":true}"#).is_err());
        assert!(at(r#"{"at":1e300}"#).is_err());
    }

    #[test]
    fn call_types_and_statuses_are_open() {
        assert_eq!(CallType::from("webCall").direction(), Direction::Web);
        assert_eq!(
            CallType::from("inboundPhoneCall").direction().as_str(),
            "inbound"
        );
        let other = CallType::from("vapi.websocketCall");
        assert_eq!(other.direction(), Direction::Unknown);
        assert_eq!(other.as_str(), "vapi.websocketCall");
        assert_eq!(CallStatus::from("in-progress"), CallStatus::InProgress);
        assert_eq!(
            CallStatus::from("not-found"),
            CallStatus::Other("not-found".into())
        );
        let s: CallStatus = serde_json::from_str("\"forwarding\"").expect("status");
        assert_eq!(s.to_string(), "forwarding");
        assert_eq!(
            serde_json::to_string(&CallStatus::Ended).expect("ser"),
            "\"ended\""
        );
    }
}
