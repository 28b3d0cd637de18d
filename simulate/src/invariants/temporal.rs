//! Every simulated call has one call row and one workflow that completed; the poison calls have
//! neither; calls without a report were closed by the watchdog.

use super::{Line, call_ref};
use crate::temporal_ops::{Closed, WorkflowFacts};
use callsaga_entity::calls;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;

pub(crate) struct Simulated<'a> {
    pub(crate) vapi_call_id: &'a str,
    pub(crate) poison: bool,
    pub(crate) report_sent: bool,
}

pub(crate) async fn check(
    db: &DatabaseConnection,
    simulated: &[Simulated<'_>],
    workflows: &HashMap<String, WorkflowFacts>,
) -> anyhow::Result<Vec<Line>> {
    let ids: Vec<&str> = simulated.iter().map(|s| s.vapi_call_id).collect();
    let mut rows: HashMap<String, Vec<calls::Model>> = HashMap::new();
    for chunk in ids.chunks(200) {
        for c in calls::Entity::find()
            .filter(calls::Column::VapiCallId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            rows.entry(c.vapi_call_id.clone()).or_default().push(c);
        }
    }
    let (mut lost, mut failed, mut watchdog, mut poison) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut normal_n, mut missing_n, mut poison_n) = (0, 0, 0);
    for s in simulated {
        let row = rows.get(s.vapi_call_id).map(Vec::as_slice).unwrap_or(&[]);
        let wf = workflows.get(s.vapi_call_id).map(|w| &w.closed);
        if s.poison {
            poison_n += 1;
            if !row.is_empty() || !matches!(wf, Some(Closed::Missing) | None) {
                poison.push(format!(
                    "poison {}: {} call rows, workflow {wf:?}",
                    call_ref(s.vapi_call_id),
                    row.len()
                ));
            }
            continue;
        }
        normal_n += 1;
        if row.len() != 1 || !matches!(wf, Some(Closed::Completed | Closed::Other(_))) {
            lost.push(format!(
                "{}: {} call rows, workflow {wf:?}",
                call_ref(s.vapi_call_id),
                row.len()
            ));
        }
        if let Some(Closed::Other(how)) = wf {
            failed.push(format!("{}: {how}", call_ref(s.vapi_call_id)));
        }
        if !s.report_sent {
            missing_n += 1;
            match row.first() {
                Some(r) if r.report_missing && r.billing_status.is_some() => {}
                Some(r) => watchdog.push(format!(
                    "{}: report_missing {}, billing {:?}",
                    call_ref(s.vapi_call_id),
                    r.report_missing,
                    r.billing_status
                )),
                None => watchdog.push(format!("{}: no call row", call_ref(s.vapi_call_id))),
            }
        }
    }
    Ok(vec![
        Line::new(
            "every simulated call has one call row and one closed workflow",
            normal_n,
            lost,
        ),
        Line::new("no workflow failed", normal_n, failed),
        Line::new(
            "calls without an end-of-call report were closed by the watchdog and billed",
            missing_n,
            watchdog,
        ),
        Line::new(
            "poison calls have no call row and no workflow",
            poison_n,
            poison,
        ),
    ])
}
