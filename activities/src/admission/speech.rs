//! What a caller hears when the door stays shut, in the agent's language. The refusals never
//! say why (a caller need not learn that the business is out of credits or deactivated).

use super::rules::Refusal;
use crate::availability::Language;

/// The `error` answer of a refused assistant-request (Vapi speaks it and ends the call).
pub fn refusal(refusal: Refusal, lang: Language) -> &'static str {
    match (refusal, lang) {
        (Refusal::Busy, Language::En) => {
            "All our lines are busy right now. Please call again in a few minutes."
        }
        (Refusal::Busy, Language::De) => {
            "Alle unsere Leitungen sind gerade belegt. Bitte rufen Sie in ein paar Minuten wieder an."
        }
        (Refusal::Credits | Refusal::Inactive, Language::En) => {
            "Sorry, we cannot take your call at the moment. Please try again later."
        }
        (Refusal::Credits | Refusal::Inactive, Language::De) => {
            "Leider können wir Ihren Anruf im Moment nicht annehmen. Bitte versuchen Sie es später noch einmal."
        }
    }
}

/// Said before a refused call is forwarded to the tenant's fallback number.
pub fn forwarding(lang: Language) -> &'static str {
    match lang {
        Language::En => "One moment please, I am connecting you.",
        Language::De => "Einen Moment bitte, ich verbinde Sie.",
    }
}

/// A tool call of a deactivated tenant's call: nothing is done.
pub fn tool_refused(lang: Language) -> &'static str {
    match lang {
        Language::En => {
            "Sorry, I cannot do that on this line. Please contact the business directly."
        }
        Language::De => {
            "Das kann ich auf dieser Leitung leider nicht erledigen. Bitte wenden Sie sich direkt an das Unternehmen."
        }
    }
}
