//! After the last call: waiting until the stack has settled (every call billed, the inbox
//! drained) and every workflow has closed.

use crate::call::CallResult;
use crate::temporal_ops;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Waits until every simulated call's row is billed (its end-of-call work done) and the inbox
/// has nothing left to deliver (the poison calls aside), or `limit`. From the database only: the
/// simulator's own Temporal reads would count as the service's RPCs.
pub(crate) async fn settle(
    db: &DatabaseConnection,
    results: &[CallResult],
    poison: &HashSet<String>,
    limit: Duration,
) {
    use callsaga_entity::{calls, webhook_inbox};
    let deadline = Instant::now() + limit;
    let ids: Vec<&str> = results
        .iter()
        .filter(|r| !r.poison)
        .map(|r| r.vapi_call_id.as_str())
        .collect();
    while Instant::now() < deadline {
        let mut settled = 0;
        for chunk in ids.chunks(200) {
            settled += calls::Entity::find()
                .filter(calls::Column::VapiCallId.is_in(chunk.iter().copied()))
                .filter(calls::Column::BillingStatus.is_not_null())
                .count(db)
                .await
                .unwrap_or(0);
        }
        let pending = webhook_inbox::Entity::find()
            .filter(webhook_inbox::Column::Status.is_in(["pending", "retry"]))
            .count(db)
            .await
            .unwrap_or(u64::MAX);
        let poison_left = if poison.is_empty() {
            0
        } else {
            webhook_inbox::Entity::find()
                .filter(webhook_inbox::Column::VapiCallId.is_in(poison.iter().map(String::as_str)))
                .filter(webhook_inbox::Column::Status.ne("dead"))
                .count(db)
                .await
                .unwrap_or(1)
        };
        if settled as usize == ids.len() && pending == 0 && poison_left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The workflows' facts, waiting up to `limit` for those still running to complete (a call
/// closed by the watchdog waits out the late-report window first).
pub(crate) async fn workflow_facts(
    temporal: &temporalio_client::Client,
    results: &[CallResult],
    limit: Duration,
) -> HashMap<String, temporal_ops::WorkflowFacts> {
    let deadline = Instant::now() + limit;
    let mut facts = HashMap::new();
    loop {
        for r in results {
            let done = facts
                .get(&r.vapi_call_id)
                .is_some_and(|f: &temporal_ops::WorkflowFacts| {
                    !matches!(f.closed, temporal_ops::Closed::Running)
                });
            if !done {
                facts.insert(
                    r.vapi_call_id.clone(),
                    temporal_ops::facts(temporal, &r.vapi_call_id).await,
                );
            }
        }
        let running = facts
            .values()
            .any(|f| matches!(f.closed, temporal_ops::Closed::Running));
        if !running || Instant::now() >= deadline {
            return facts;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
