//! The pure merge of one Vapi event into a call row. Order-independent by construction:
//! - the status only moves forward (queued → ringing → in-progress → forwarding → ended);
//! - the end-of-call report is authoritative for times, duration and ended reason, and once it
//!   has been applied no status-update can change them;
//! - status-update times only fill gaps (earliest start, latest end).
//!
//! So any delivery order of the same events, and any number of re-deliveries, give one row.

use crate::vapi::{CallStatus, Envelope, VapiMessage};
use callsaga_entity::calls;
use chrono::{DateTime, Utc};

/// Position of a status in a call's life; unknown statuses rank lowest and never win.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "scheduled" | "queued" => 1,
        "ringing" => 2,
        "in-progress" => 3,
        "forwarding" => 4,
        "ended" => 5,
        _ => 0,
    }
}

fn advance_status(row: &mut calls::Model, status: &str) {
    if row.status.is_empty() || status_rank(status) > status_rank(&row.status) {
        row.status = status.to_owned();
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Merges `event` (received at `received_at`) into `row`. Returns true when the event was an
/// end-of-call report.
pub fn apply(row: &mut calls::Model, event: &Envelope, received_at: DateTime<Utc>) -> bool {
    let at = event.timestamp.unwrap_or(received_at);
    row.last_event_at = latest(row.last_event_at, Some(at));
    if let Some(call) = event.call() {
        if row.direction.is_none() && call.call_type.is_some() {
            row.direction = Some(call.direction().as_str().to_owned());
        }
        if row.status.is_empty()
            && let Some(status) = &call.status
        {
            advance_status(row, status.as_str());
        }
    }
    if row.customer_number.is_none() {
        row.customer_number = event.customer_number().map(str::to_owned);
    }
    let report_applied = row.report_received_at.is_some();

    match &event.message {
        VapiMessage::StatusUpdate(update) => {
            advance_status(row, update.status.as_str());
            if report_applied {
                return false;
            }
            let call = event.call();
            match update.status {
                CallStatus::InProgress => {
                    let started = call.and_then(|c| c.started_at).unwrap_or(at);
                    row.started_at = earliest(row.started_at, Some(started));
                }
                CallStatus::Ended => {
                    let ended = call.and_then(|c| c.ended_at).unwrap_or(at);
                    row.ended_at = latest(row.ended_at, Some(ended));
                    if let Some(reason) = update
                        .ended_reason
                        .as_ref()
                        .or_else(|| call.and_then(|c| c.ended_reason.as_ref()))
                    {
                        row.ended_reason = Some(reason.as_str().to_owned());
                    }
                    row.duration_ms = span_ms(row.started_at, row.ended_at);
                }
                _ => {}
            }
            false
        }
        VapiMessage::EndOfCallReport(report) => {
            advance_status(row, "ended");
            let call = event.call();
            row.started_at = report
                .started_at
                .or_else(|| call.and_then(|c| c.started_at))
                .or(row.started_at);
            row.ended_at = report
                .ended_at
                .or_else(|| call.and_then(|c| c.ended_at))
                .or(row.ended_at)
                .or(Some(at));
            // Duration: the report's own figure, else ended − started (report, then status
            // updates), see EndOfCallReport::duration_ms.
            row.duration_ms = report
                .duration_ms()
                .and_then(|ms| i64::try_from(ms).ok())
                .or_else(|| span_ms(row.started_at, row.ended_at));
            if let Some(reason) = report
                .ended_reason
                .as_ref()
                .or_else(|| call.and_then(|c| c.ended_reason.as_ref()))
            {
                row.ended_reason = Some(reason.as_str().to_owned());
            }
            row.transcript = report
                .transcript()
                .map(str::to_owned)
                .or(row.transcript.take());
            row.summary = report.summary().map(str::to_owned).or(row.summary.take());
            row.recording_url = report
                .recording_url()
                .map(str::to_owned)
                .or(row.recording_url.take());
            row.vapi_cost = report.cost.or(call.and_then(|c| c.cost)).or(row.vapi_cost);
            row.report_received_at = row.report_received_at.or(Some(received_at));
            true
        }
        _ => false,
    }
}

fn span_ms(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<i64> {
    let ms = (end? - start?).num_milliseconds();
    (ms >= 0).then_some(ms)
}
