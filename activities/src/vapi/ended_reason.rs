//! `endedReason`: an open set of several hundred strings, kept verbatim and classified into a few
//! categories the back office cares about.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Vapi's `endedReason`, verbatim. Any string is accepted (Vapi adds values over time);
/// [`EndedReason::category`] gives a coarse classification.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndedReason(String);

/// Coarse classification of an [`EndedReason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndedCategory {
    /// The caller hung up (including during / around a transfer) or the line closed normally.
    CustomerEnded,
    /// The assistant ended the call (end-call phrase, end-call tool, hook).
    AssistantEnded,
    /// The call was forwarded / transferred away.
    Forwarded,
    /// A transfer was attempted and did not succeed.
    TransferFailed,
    /// Outbound call not answered.
    NoAnswer,
    /// Outbound call got a busy signal.
    Busy,
    /// Voicemail detected.
    Voicemail,
    /// Silence timeout or maximum duration reached.
    TimedOut,
    /// Canceled or deleted before / while running.
    Canceled,
    /// A Vapi, provider or configuration error.
    Error,
    /// Anything else, including values this version does not know.
    Other,
}

impl EndedCategory {
    /// A snake_case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerEnded => "customer_ended",
            Self::AssistantEnded => "assistant_ended",
            Self::Forwarded => "forwarded",
            Self::TransferFailed => "transfer_failed",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Voicemail => "voicemail",
            Self::TimedOut => "timed_out",
            Self::Canceled => "canceled",
            Self::Error => "error",
            Self::Other => "other",
        }
    }
}

impl EndedReason {
    /// `customer-ended-call`.
    pub const CUSTOMER_ENDED_CALL: &'static str = "customer-ended-call";
    /// `assistant-ended-call`.
    pub const ASSISTANT_ENDED_CALL: &'static str = "assistant-ended-call";
    /// `assistant-forwarded-call`.
    pub const ASSISTANT_FORWARDED_CALL: &'static str = "assistant-forwarded-call";
    /// `call.in-progress.error-transfer-failed`.
    pub const TRANSFER_FAILED: &'static str = "call.in-progress.error-transfer-failed";

    /// Wraps a reason string.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }

    /// The reason as Vapi sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this reason is an error of Vapi, a provider or the configuration.
    pub fn is_error(&self) -> bool {
        self.category() == EndedCategory::Error
    }

    /// Coarse classification; unknown values are [`EndedCategory::Other`] unless they look like
    /// errors (`error`, `failed` or `fault` in the name).
    pub fn category(&self) -> EndedCategory {
        use EndedCategory as C;
        let r = self.0.as_str();
        match r {
            "customer-ended-call"
            | "customer-ended-call-before-warm-transfer"
            | "customer-ended-call-after-warm-transfer-attempt"
            | "customer-ended-call-during-transfer"
            | "call.ringing.sip-inbound-caller-hungup-before-call-connect"
            | "call.in-progress.twilio-completed-call"
            | "call.in-progress.sip-completed-call"
            | "vonage-completed" => C::CustomerEnded,
            "assistant-ended-call"
            | "assistant-said-end-call-phrase"
            | "assistant-ended-call-with-hangup-task"
            | "assistant-ended-call-after-message-spoken"
            | "call.ringing.hook-executed-say"
            | "call.ending.hook-executed-say" => C::AssistantEnded,
            "assistant-forwarded-call"
            | "assistant-request-returned-forwarding-phone-number"
            | "call.ringing.hook-executed-transfer"
            | "call.ending.hook-executed-transfer" => C::Forwarded,
            "call.in-progress.error-transfer-failed"
            | "call.forwarding.operator-busy"
            | "call.forwarding.no-answer" => C::TransferFailed,
            _ if r.starts_with("call.in-progress.error-warm-transfer-") => C::TransferFailed,
            "customer-did-not-answer" => C::NoAnswer,
            "customer-busy" => C::Busy,
            "voicemail" => C::Voicemail,
            "silence-timed-out" | "exceeded-max-duration" => C::TimedOut,
            "manually-canceled" | "scheduled-call-deleted" | "call-deleted" => C::Canceled,
            "assistant-request-returned-invalid-assistant"
            | "assistant-request-returned-no-assistant"
            | "assistant-not-valid"
            | "assistant-not-found"
            | "assistant-join-timed-out"
            | "worker-shutdown"
            | "phone-call-provider-bypass-enabled-but-no-call-received"
            | "phone-call-provider-closed-websocket"
            | "customer-did-not-give-microphone-permission"
            | "sip-outbound-unallocated-number"
            | "sip-outbound-carrier-released-call"
            | "twilio-reported-customer-misdialed"
            | "vonage-rejected" => C::Error,
            _ if r.contains("error") || r.contains("failed") || r.contains("fault") => C::Error,
            _ => C::Other,
        }
    }
}

impl fmt::Display for EndedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EndedReason {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for EndedReason {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl PartialEq<str> for EndedReason {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EndedReason {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &str = include_str!("../../../../shared/vapi/endedReason.txt");

    #[test]
    fn every_known_reason_round_trips() {
        let mut n = 0;
        for line in ALL.lines().filter(|l| !l.trim().is_empty()) {
            let json = serde_json::to_string(line).expect("string");
            let reason: EndedReason = serde_json::from_str(&json).expect("parses");
            assert_eq!(reason.as_str(), line);
            assert_eq!(reason, line);
            assert_eq!(reason.to_string(), line);
            assert_eq!(serde_json::to_string(&reason).expect("serializes"), json);
            let _ = reason.category().as_str();
            n += 1;
        }
        assert_eq!(n, 604);
    }

    #[test]
    fn every_listed_reason_but_one_ambiguous_is_classified() {
        let unclassified: Vec<&str> = ALL
            .lines()
            .filter(|l| EndedReason::from(*l).category() == EndedCategory::Other)
            .collect();
        assert_eq!(unclassified, ["vonage-disconnected"]);
    }

    #[test]
    fn categories() {
        let cases = [
            ("customer-ended-call", EndedCategory::CustomerEnded),
            (
                "customer-ended-call-during-transfer",
                EndedCategory::CustomerEnded,
            ),
            (
                "assistant-said-end-call-phrase",
                EndedCategory::AssistantEnded,
            ),
            ("assistant-forwarded-call", EndedCategory::Forwarded),
            (
                "call.in-progress.error-transfer-failed",
                EndedCategory::TransferFailed,
            ),
            (
                "call.in-progress.error-warm-transfer-max-duration",
                EndedCategory::TransferFailed,
            ),
            (
                "call.forwarding.operator-busy",
                EndedCategory::TransferFailed,
            ),
            ("customer-did-not-answer", EndedCategory::NoAnswer),
            ("customer-busy", EndedCategory::Busy),
            ("voicemail", EndedCategory::Voicemail),
            ("silence-timed-out", EndedCategory::TimedOut),
            ("manually-canceled", EndedCategory::Canceled),
            ("pipeline-error-openai-llm-failed", EndedCategory::Error),
            ("call.start.error-get-assistant", EndedCategory::Error),
            ("brand-new-reason", EndedCategory::Other),
            ("brand-new-provider-failed", EndedCategory::Error),
        ];
        for (reason, expected) in cases {
            assert_eq!(EndedReason::new(reason).category(), expected, "{reason}");
        }
        assert!(EndedReason::from("pipeline-error-openai-llm-failed").is_error());
        assert!(!EndedReason::from(String::from(EndedReason::CUSTOMER_ENDED_CALL)).is_error());
        assert_eq!(EndedCategory::TransferFailed.as_str(), "transfer_failed");
    }

    #[test]
    fn unknown_reason_parses() {
        let r: EndedReason =
            serde_json::from_str("\"something-vapi-invents-next-year\"").expect("any");
        assert_eq!(r.category(), EndedCategory::Other);
    }
}
