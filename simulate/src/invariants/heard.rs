//! What the simulator heard against what the database holds: every "booked" has exactly one
//! live appointment, every "not booked" none; "confirming" is in the workflow's hands; a
//! callback is on the callback list with the caller's number; duplicate deliveries of a tool
//! call got the same answer.

use super::{Line, call_ref};
use crate::answers::{Heard, Outcome};
use callsaga_entity::{appointments, escalation_logs, tool_call_claims};
use callsaga_workflows::call_workflow_id;
use callsaga_workflows::tool_payloads::booking_key;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::collections::{BTreeMap, HashMap};

pub(crate) async fn check(
    db: &DatabaseConnection,
    heard: &[Heard],
    caller_numbers: &HashMap<String, String>,
) -> anyhow::Result<Vec<Line>> {
    let appts = appointments::Entity::find().all(db).await?;
    let by_key: HashMap<&str, Vec<&appointments::Model>> =
        appts.iter().fold(HashMap::new(), |mut m, a| {
            m.entry(a.idempotency_key.as_str()).or_default().push(a);
            m
        });
    let claims = tool_call_claims::Entity::find().all(db).await?;
    let claim: HashMap<&str, &tool_call_claims::Model> = claims
        .iter()
        .map(|c| (c.tool_call_id.as_str(), c))
        .collect();
    // The first answer of each tool call (duplicates are checked separately).
    let mut first: BTreeMap<(String, String), &Heard> = BTreeMap::new();
    let mut all: BTreeMap<(String, String), Vec<&Heard>> = BTreeMap::new();
    for h in heard {
        let k = (h.vapi_call_id.clone(), h.tool_call_id.clone());
        first.entry(k.clone()).or_insert(h);
        all.entry(k).or_default().push(h);
    }
    let outcome_of = |call: &str, tool: &str| {
        first
            .values()
            .find(|h| h.vapi_call_id == call && h.tool == tool)
            .map(|h| h.outcome)
    };
    let mut lines = Vec::new();
    let (mut booked_v, mut booked_n) = (Vec::new(), 0);
    let (mut not_v, mut not_n) = (Vec::new(), 0);
    let (mut conf_v, mut conf_n) = (Vec::new(), 0);
    let (mut cb_v, mut cb_n) = (Vec::new(), 0);
    for h in first.values() {
        let at = format!(
            "{} tool call {} ({})",
            call_ref(&h.vapi_call_id),
            h.tool_call_id,
            h.tool
        );
        let rows: &[&appointments::Model] = if h.tool == "book_appointment" {
            let key = booking_key(&call_workflow_id(&h.vapi_call_id), &h.tool_call_id);
            by_key.get(key.as_str()).map(Vec::as_slice).unwrap_or(&[])
        } else {
            &[]
        };
        let live = rows.iter().filter(|a| a.status == "booked").count();
        let c = claim.get(h.tool_call_id.as_str());
        match (h.tool.as_str(), h.outcome) {
            ("book_appointment", Outcome::Booked) => {
                booked_n += 1;
                // Live, unless this call then cancelled it (or may have: confirming, callback).
                let cancel = outcome_of(&h.vapi_call_id, "cancel_appointment");
                let expect_live = match cancel {
                    Some(Outcome::Cancelled) => Some(false),
                    Some(
                        Outcome::Confirming
                        | Outcome::Callback
                        | Outcome::TryLater
                        | Outcome::NoAnswer,
                    ) => None,
                    _ => Some(true),
                };
                if rows.len() != 1 {
                    booked_v.push(format!(
                        "{at}: heard \"booked\", {} appointment rows",
                        rows.len()
                    ));
                } else if let Some(e) = expect_live
                    && e != (live == 1)
                {
                    booked_v.push(format!(
                        "{at}: heard \"booked\" (then cancel: {cancel:?}), appointment is {}",
                        rows[0].status
                    ));
                }
            }
            ("book_appointment", Outcome::NotBooked) => {
                not_n += 1;
                if live != 0 {
                    not_v.push(format!(
                        "{at}: heard \"not booked\" ({}), {live} live appointment(s)",
                        h.text
                    ));
                }
            }
            (_, Outcome::Confirming) => {
                conf_n += 1;
                match c {
                    Some(c) if c.status == tool_call_claims::TAKEN_BY_WORKFLOW => {}
                    other => conf_v.push(format!(
                        "{at}: heard \"confirming\", claim {:?}",
                        other.map(|c| &c.status)
                    )),
                }
                if live > 1 {
                    conf_v.push(format!(
                        "{at}: heard \"confirming\", {live} live appointments"
                    ));
                }
            }
            // Effectful tools only: a read-only tool's "try again later" promised nothing.
            (
                "book_appointment" | "reschedule_appointment" | "cancel_appointment",
                Outcome::Callback | Outcome::TryLater,
            ) => {
                cb_n += 1;
                let number = caller_numbers.get(&h.vapi_call_id);
                match c {
                    Some(c) if c.status == tool_call_claims::CALLBACK_REQUESTED => {
                        if live != 0 {
                            cb_v.push(format!("{at}: refused (callback requested) but booked"));
                        }
                        if h.outcome == Outcome::Callback && c.customer_number.as_ref() != number {
                            cb_v.push(format!("{at}: callback promised, but the request has no (or another) number"));
                        }
                    }
                    Some(c) if c.status == tool_call_claims::TAKEN_UNCONFIRMED => {
                        if live > 1 {
                            cb_v.push(format!("{at}: {live} live appointments"));
                        }
                        if h.outcome == Outcome::Callback && c.customer_number.as_ref() != number {
                            cb_v.push(format!("{at}: callback promised, but the claim has no (or another) number"));
                        }
                    }
                    other => cb_v.push(format!("{at}: heard \"{}\", claim {:?}: the business has nothing to call back about", h.text, other.map(|c| &c.status))),
                }
            }
            _ => {}
        }
    }
    lines.push(Line::new(
        "every \"booked\" answer has exactly one live appointment (with its event)",
        booked_n,
        booked_v,
    ));
    lines.push(Line::new(
        "every \"not booked\" answer has no live appointment",
        not_n,
        not_v,
    ));
    lines.push(Line::new(
        "every \"confirming\" answer was taken by its workflow",
        conf_n,
        conf_v,
    ));
    lines.push(Line::new(
        "every callback answer is on the callback list (and refused ones did nothing)",
        cb_n,
        cb_v,
    ));

    // Escalations the caller heard have their log.
    let logs = escalation_logs::Entity::find().all(db).await?;
    let calls = callsaga_entity::calls::Entity::find().all(db).await?;
    let call_of: HashMap<uuid::Uuid, &str> = calls
        .iter()
        .map(|c| (c.id, c.vapi_call_id.as_str()))
        .collect();
    let mut logs_per_call: HashMap<&str, usize> = HashMap::new();
    for l in &logs {
        if let Some(v) = call_of.get(&l.call_id) {
            *logs_per_call.entry(v).or_default() += 1;
        }
    }
    let esc: Vec<_> = first
        .values()
        .filter(|h| {
            h.tool == "escalate_to_human"
                && matches!(h.outcome, Outcome::Transfer | Outcome::Callback)
        })
        .collect();
    let v = esc
        .iter()
        .filter(|h| {
            // A callback heard from the API's fallback (Temporal slow) has a claim instead.
            let fallback = claim
                .get(h.tool_call_id.as_str())
                .is_some_and(|c| c.status != tool_call_claims::TAKEN_BY_WORKFLOW);
            !fallback
                && logs_per_call
                    .get(h.vapi_call_id.as_str())
                    .copied()
                    .unwrap_or(0)
                    != 1
        })
        .map(|h| {
            format!(
                "{}: heard {:?}, {} escalation logs",
                call_ref(&h.vapi_call_id),
                h.outcome,
                logs_per_call
                    .get(h.vapi_call_id.as_str())
                    .copied()
                    .unwrap_or(0)
            )
        })
        .collect();
    lines.push(Line::new(
        "every escalation the caller heard has exactly one log",
        esc.len(),
        v,
    ));

    // Duplicate deliveries of one tool call are answered alike.
    let compatible = |a: Outcome, b: Outcome| {
        a == b
            || matches!(
                (a, b),
                (
                    Outcome::Confirming,
                    Outcome::Booked
                        | Outcome::Moved
                        | Outcome::Cancelled
                        | Outcome::Transfer
                        | Outcome::Callback
                ) | (
                    Outcome::Booked
                        | Outcome::Moved
                        | Outcome::Cancelled
                        | Outcome::Transfer
                        | Outcome::Callback,
                    Outcome::Confirming
                )
            )
    };
    let dups: Vec<_> = all.iter().filter(|(_, v)| v.len() > 1).collect();
    let v = dups
        .iter()
        .filter(|(_, v)| v.iter().any(|h| !compatible(h.outcome, v[0].outcome)))
        .map(|((call, id), v)| {
            format!(
                "{} tool call {id}: answers {:?}",
                call_ref(call),
                v.iter().map(|h| h.outcome).collect::<Vec<_>>()
            )
        })
        .collect();
    lines.push(Line::new(
        "duplicate deliveries of a tool call got the same answer",
        dups.len(),
        v,
    ));
    Ok(lines)
}
