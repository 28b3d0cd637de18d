//! Who is calling, as far as appointments are concerned: the number Vapi reports for the call
//! (`call.customer.number`), never what the model passed as `customerPhone` (whatever the
//! caller talked it into). Phones and names compare by equality after normalising, never by a
//! tail or a substring: "an" is not "Anna", and `…45678` is not `+49 151 1234 5678`.

use callsaga_entity::appointments;
use callsaga_workflows::tool_payloads::ToolCallRequest;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// E.164 allows at most 15 digits; fewer than 6 is no number anyone calls from.
const DIGITS: std::ops::RangeInclusive<usize> = 6..=15;

/// A phone number in the form numbers are compared in: `+` and its digits for an international
/// number (`+49 151 1234 5678`, `+49 (0)151 …`, `0049 151 …` all give `+4915112345678`), the
/// digits alone for a national one (`0151 …`, which equals no international number: which
/// country it belongs to is unknown). `None` for anything that is not a phone number
/// (`anonymous`, a SIP address, too few or too many digits).
pub(crate) fn canonical_phone(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (international, rest) = match raw.strip_prefix('+') {
        // The German habit of writing the trunk prefix after the country code.
        Some(rest) => (true, rest.replacen("(0)", "", 1)),
        None => (false, raw.to_owned()),
    };
    let separator = |c: char| matches!(c, ' ' | '-' | '.' | '/' | '(' | ')');
    if !rest.chars().all(|c| c.is_ascii_digit() || separator(c)) {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let (international, digits) = match digits.strip_prefix("00") {
        Some(after) if !international => (true, after.to_owned()),
        _ => (international, digits),
    };
    if !DIGITS.contains(&digits.len()) {
        return None;
    }
    Some(if international {
        format!("+{digits}")
    } else {
        digits
    })
}

/// A name in the form names are compared in: case-folded, accents stripped (`Größer`,
/// `GROESSER` aside, equals `grosser`), whitespace collapsed to single spaces.
pub(crate) fn name_key(raw: &str) -> String {
    let folded: String = raw
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace('ß', "ss");
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `asked` names `stored`: equal after [`name_key`], and not empty.
pub(crate) fn same_name(stored: &str, asked: &str) -> bool {
    let asked = name_key(asked);
    !asked.is_empty() && name_key(stored) == asked
}

/// The caller of a tool call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The verified number, in [`canonical_phone`] form.
    Verified(String),
    /// No usable number: withheld, or not a phone number.
    Withheld,
}

impl Caller {
    pub(crate) fn of(request: &ToolCallRequest) -> Self {
        request
            .customer_number
            .as_deref()
            .and_then(canonical_phone)
            .map_or(Self::Withheld, Self::Verified)
    }

    /// The number to record on a booking (`appointments.caller_number`).
    pub(crate) fn number(&self) -> Option<&str> {
        match self {
            Self::Verified(n) => Some(n),
            Self::Withheld => None,
        }
    }

    /// Whether the appointment was booked from this caller's number. A row without a
    /// `caller_number` (booked before the column, by no linked call, or from a withheld
    /// number) belongs to the contact number it was booked under, if that equals this
    /// caller's number exactly.
    pub(crate) fn owns(&self, row: &appointments::Model) -> bool {
        let Self::Verified(me) = self else {
            return false;
        };
        let booked_from = match &row.caller_number {
            Some(n) => canonical_phone(n),
            None => row.customer_phone.as_deref().and_then(canonical_phone),
        };
        booked_from.as_deref() == Some(me.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_equal_only_as_whole_numbers() {
        let canonical = |s| canonical_phone(s).unwrap_or_default();
        assert_eq!(canonical("+49 151 1234 5678"), "+4915112345678");
        assert_eq!(canonical("0049-151-1234-5678"), "+4915112345678");
        assert_eq!(canonical("+49 (0)151 12345678"), "+4915112345678");
        assert_eq!(canonical("0151 12345678"), "015112345678");
        assert_ne!(canonical("+4915112345678"), canonical("+4915112345679"));
        assert_ne!(canonical("+4915112345678"), canonical("5112345678"));
        assert_ne!(canonical("+4915112345678"), canonical("015112345678"));
        for not_a_number in [
            "anonymous",
            "sip:anna@example.com",
            "12345",
            "",
            "+1234567890123456",
        ] {
            assert_eq!(canonical_phone(not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn names_are_equal_after_case_accents_and_whitespace_only() {
        assert!(same_name("Jürgen Größer", "jurgen  GROSSER"));
        assert!(same_name("Jürgen Größer", " Jürgen Größer "));
        assert!(same_name("Anna", "ANNA"));
        assert!(!same_name("Anna", "an"), "a fragment is not the name");
        assert!(!same_name("Jürgen Größer", "Jürgen"));
        assert!(!same_name("Jürgen Größer", "Größer Jürgen"));
        assert!(!same_name("Anna", " "));
    }

    fn request(number: Option<&str>) -> ToolCallRequest {
        ToolCallRequest {
            tool_call_id: "tc".into(),
            name: "cancel_appointment".into(),
            arguments: serde_json::json!({}),
            arguments_error: None,
            customer_number: number.map(str::to_owned),
            assistant_id: None,
            phone_number_id: None,
            not_after_ms: None,
        }
    }

    fn row(caller_number: Option<&str>, customer_phone: Option<&str>) -> appointments::Model {
        let now = chrono::Utc::now();
        appointments::Model {
            id: uuid::Uuid::nil(),
            agent_id: uuid::Uuid::nil(),
            call_id: None,
            calendar_event_id: None,
            starts_at: now,
            ends_at: now,
            timezone: "Europe/Berlin".into(),
            status: "booked".into(),
            customer_name: "Anna".into(),
            customer_phone: customer_phone.map(str::to_owned),
            customer_email: None,
            notes: None,
            idempotency_key: "k".into(),
            created_at: now,
            updated_at: now,
            email_failed_at: None,
            email_error: None,
            caller_number: caller_number.map(str::to_owned),
        }
    }

    #[test]
    fn a_caller_owns_what_was_booked_from_their_number() {
        let anna = Caller::of(&request(Some("+4915112345678")));
        assert_eq!(anna.number(), Some("+4915112345678"));
        assert!(anna.owns(&row(Some("+4915112345678"), Some("+4917000000000"))));
        assert!(
            !anna.owns(&row(Some("+4917000000000"), Some("+4915112345678"))),
            "the contact number given is not who booked it"
        );
        assert!(
            anna.owns(&row(None, Some("+49 151 1234 5678"))),
            "a row without a caller number: its contact number, exactly"
        );
        assert!(!anna.owns(&row(None, Some("12345678"))));
        assert!(!anna.owns(&row(None, None)));
        let withheld = Caller::of(&request(None));
        assert_eq!(withheld, Caller::of(&request(Some("anonymous"))));
        assert!(!withheld.owns(&row(None, None)));
        assert!(!withheld.owns(&row(Some("+4915112345678"), None)));
    }
}
