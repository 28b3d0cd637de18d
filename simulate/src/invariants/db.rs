//! The database invariants (`callsaga check` runs these alone): books, charges, appointments,
//! escalations, the email outbox, the inbox and the callback requests.

use super::{Line, call_ref};
use callsaga_entity::{
    appointments, calls, credit_ledger, email_outbox, escalation_logs, tool_call_claims, users,
    webhook_inbox,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// What the database part knows beyond the database.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Each user's balance before the run minus the sum of its entries then (the simulator
    /// measures it); `None`: the balance before each user's first entry (`check`).
    pub starting_balances: Option<HashMap<Uuid, i64>>,
    /// Calls whose dead inbox events are expected (the poison calls).
    pub expect_dead: HashSet<String>,
}

/// Each user's `balance − Σ entries`: the starting balance the books must keep.
pub async fn starting_balances(db: &DatabaseConnection) -> anyhow::Result<HashMap<Uuid, i64>> {
    let entries = credit_ledger::Entity::find().all(db).await?;
    let mut sums: HashMap<Uuid, i64> = HashMap::new();
    for e in entries {
        *sums.entry(e.user_id).or_default() += e.amount;
    }
    Ok(users::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| {
            (
                u.id,
                u.credit_balance - sums.get(&u.id).copied().unwrap_or(0),
            )
        })
        .collect())
}

pub async fn check(db: &DatabaseConnection, scope: &Scope) -> anyhow::Result<Vec<Line>> {
    let calls = calls::Entity::find().all(db).await?;
    let by_id: HashMap<Uuid, &calls::Model> = calls.iter().map(|c| (c.id, c)).collect();
    let name_of = |id: Option<Uuid>| {
        id.and_then(|i| by_id.get(&i))
            .map(|c| call_ref(&c.vapi_call_id))
            .unwrap_or_else(|| format!("call row {id:?}"))
    };
    let ledger = credit_ledger::Entity::find().all(db).await?;
    let users = users::Entity::find().all(db).await?;
    let mut lines = Vec::new();

    // Books: balance = starting balance + Σ entries, and the entries chain.
    let mut v = Vec::new();
    for u in &users {
        let mut mine: Vec<_> = ledger.iter().filter(|e| e.user_id == u.id).collect();
        mine.sort_by_key(|e| (e.created_at, e.id));
        let start = match &scope.starting_balances {
            Some(m) => match m.get(&u.id) {
                Some(s) => *s,
                None => mine
                    .first()
                    .map(|e| e.balance_after - e.amount)
                    .unwrap_or(0),
            },
            None => match mine.first() {
                Some(e) => e.balance_after - e.amount,
                None => continue,
            },
        };
        let sum: i64 = mine.iter().map(|e| e.amount).sum();
        if start + sum != u.credit_balance {
            v.push(format!(
                "user {}: balance {} != starting balance {start} + Σ {} entries ({sum})",
                u.id,
                u.credit_balance,
                mine.len()
            ));
            continue;
        }
        let mut running = start;
        for e in &mine {
            if running + e.amount != e.balance_after {
                v.push(format!(
                    "user {}: entry {} ({}) balance_after {} but {running} + {}",
                    u.id, e.id, e.idempotency_key, e.balance_after, e.amount
                ));
                break;
            }
            running = e.balance_after;
        }
    }
    lines.push(Line::new(
        "balance = starting balance + Σ ledger entries, for every user",
        users.len(),
        v,
    ));

    // Charges: at most one usage entry per call, exactly one per billed call.
    let mut usage: HashMap<Uuid, usize> = HashMap::new();
    for e in ledger.iter().filter(|e| e.kind == "usage") {
        if let Some(c) = e.call_id {
            *usage.entry(c).or_default() += 1;
        }
    }
    let mut v: Vec<String> = usage
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(c, n)| format!("{}: {n} usage charges", name_of(Some(*c))))
        .collect();
    for c in calls.iter().filter(|c| {
        c.billing_status.as_deref() == Some("billed") && c.charged_credits.unwrap_or(0) > 0
    }) {
        let n = usage.get(&c.id).copied().unwrap_or(0);
        if n != 1 {
            v.push(format!(
                "{}: billed ({} credits) with {n} usage charges",
                call_ref(&c.vapi_call_id),
                c.charged_credits.unwrap_or(0)
            ));
        }
    }
    lines.push(Line::new(
        "at most one usage charge per call, exactly one per billed call",
        calls.len(),
        v,
    ));

    // Appointments: no agent double-booked; every live one has its calendar event.
    let appts = appointments::Entity::find()
        .filter(appointments::Column::Status.eq("booked"))
        .all(db)
        .await?;
    let mut per_agent: BTreeMap<Uuid, Vec<&appointments::Model>> = BTreeMap::new();
    for a in &appts {
        per_agent.entry(a.agent_id).or_default().push(a);
    }
    let mut v = Vec::new();
    for (agent, mut list) in per_agent {
        list.sort_by_key(|a| a.starts_at);
        for w in list.windows(2) {
            if w[1].starts_at < w[0].ends_at {
                v.push(format!(
                    "agent {agent}: {} ({}, {}) overlaps {} ({}, {})",
                    w[0].id,
                    w[0].starts_at,
                    name_of(w[0].call_id),
                    w[1].id,
                    w[1].starts_at,
                    name_of(w[1].call_id)
                ));
            }
        }
    }
    lines.push(Line::new(
        "no agent has overlapping appointments",
        appts.len(),
        v,
    ));
    let v = appts
        .iter()
        .filter(|a| a.calendar_event_id.as_deref().is_none_or(str::is_empty))
        .map(|a| {
            format!(
                "appointment {} of {} has no calendar event",
                a.id,
                name_of(a.call_id)
            )
        })
        .collect();
    lines.push(Line::new(
        "every live appointment has its calendar event",
        appts.len(),
        v,
    ));

    // Escalations end: COMPLETED, FAILED or CALLBACK_REQUESTED.
    let logs = escalation_logs::Entity::find().all(db).await?;
    let v = logs
        .iter()
        .filter(|l| {
            !matches!(
                l.status.as_str(),
                "COMPLETED" | "FAILED" | "CALLBACK_REQUESTED"
            )
        })
        .map(|l| {
            format!(
                "escalation {} of {} is {}",
                l.id,
                name_of(Some(l.call_id)),
                l.status
            )
        })
        .collect();
    lines.push(Line::new("every escalation log is terminal", logs.len(), v));

    // Emails owed are sent.
    let outbox = email_outbox::Entity::find().all(db).await?;
    let v = outbox
        .iter()
        .filter(|e| e.status != "sent")
        .map(|e| {
            format!(
                "email {} ({}) is {}: {}",
                e.id,
                e.idempotency_key,
                e.status,
                e.last_error.clone().unwrap_or_default()
            )
        })
        .collect();
    lines.push(Line::new(
        "no email pending or failed in the outbox",
        outbox.len(),
        v,
    ));

    // The inbox drained; only the expected poison calls are dead.
    let inbox = webhook_inbox::Entity::find()
        .filter(webhook_inbox::Column::Status.is_in(["pending", "retry", "dead"]))
        .all(db)
        .await?;
    let mut stuck: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in inbox
        .iter()
        .filter(|e| !(e.status == "dead" && scope.expect_dead.contains(&e.vapi_call_id)))
    {
        *stuck
            .entry((e.vapi_call_id.clone(), e.status.clone()))
            .or_default() += 1;
    }
    let total = webhook_inbox::Entity::find().all(db).await?.len();
    let v = stuck
        .into_iter()
        .map(|((call, status), n)| format!("{}: {n} event(s) {status}", call_ref(&call)))
        .collect();
    lines.push(Line::new("the inbox has nothing pending or dead", total, v));
    if !scope.expect_dead.is_empty() {
        let mut v = Vec::new();
        for call in &scope.expect_dead {
            let rows = webhook_inbox::Entity::find()
                .filter(webhook_inbox::Column::VapiCallId.eq(call.as_str()))
                .all(db)
                .await?;
            let dead = rows.iter().filter(|r| r.status == "dead").count();
            if dead == 0 || dead != rows.len() {
                v.push(format!(
                    "poison {}: {dead} of {} events dead",
                    call_ref(call),
                    rows.len()
                ));
            }
            if calls.iter().any(|c| &c.vapi_call_id == call) {
                v.push(format!("poison {} has a call row", call_ref(call)));
            }
        }
        lines.push(Line::new(
            "poison calls end up dead, and only they",
            scope.expect_dead.len(),
            v,
        ));
    }

    // A callback request (the API refused the tool call) took no effect.
    let claims = tool_call_claims::Entity::find()
        .filter(tool_call_claims::Column::Status.eq(tool_call_claims::CALLBACK_REQUESTED))
        .all(db)
        .await?;
    let all_appts = appointments::Entity::find().all(db).await?;
    let keys: HashSet<&str> = all_appts
        .iter()
        .map(|a| a.idempotency_key.as_str())
        .collect();
    let v = claims
        .iter()
        .filter(|c| {
            let key = callsaga_workflows::tool_payloads::booking_key(
                &callsaga_workflows::call_workflow_id(&c.vapi_call_id),
                &c.tool_call_id,
            );
            keys.contains(key.as_str())
        })
        .map(|c| {
            format!(
                "{}: tool call {} was refused (callback requested) but booked",
                call_ref(&c.vapi_call_id),
                c.tool_call_id
            )
        })
        .collect();
    lines.push(Line::new(
        "a refused tool call (callback requested) took no effect",
        claims.len(),
        v,
    ));
    Ok(lines)
}
