//! Search attributes the call workflow sets, so ops can list calls in the Temporal UI.
//! Registered on the server from `temporal/search-attributes.conf`.

use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributes};

pub const CALL_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("CallId");
pub const AGENT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("AgentId");
pub const USER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("UserId");
pub const CALL_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("CallStatus");
pub const ESCALATION_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword("EscalationStatus");
pub const BILLED: SearchAttributeKey<bool> = SearchAttributeKey::bool("Billed");
pub const REPORT_MISSING: SearchAttributeKey<bool> = SearchAttributeKey::bool("ReportMissing");

/// The search attributes a call workflow is started with (by the relay's signal-with-start or a
/// tool call's update-with-start): its `CallId`, known before it runs, so the workflow need
/// not upsert it.
pub fn start_search_attributes(vapi_call_id: &str) -> SearchAttributes {
    SearchAttributes::new([CALL_ID.value_set(vapi_call_id.to_owned())])
}
