//! Search attributes the call workflow sets, so ops can list calls in the Temporal UI.
//! Registered on the server from `temporal/search-attributes.conf`.

use temporalio_common::search_attributes::SearchAttributeKey;

pub const CALL_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("CallId");
pub const AGENT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("AgentId");
pub const USER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("UserId");
pub const CALL_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("CallStatus");
pub const ESCALATION_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword("EscalationStatus");
pub const BILLED: SearchAttributeKey<bool> = SearchAttributeKey::bool("Billed");
pub const REPORT_MISSING: SearchAttributeKey<bool> = SearchAttributeKey::bool("ReportMissing");
