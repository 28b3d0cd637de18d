//! Activities on their own, in the SDK's activity test environment (no worker, no server):
//! applying the same event twice gives the same row; billing twice charges once; bad input is a
//! permanent (non-retryable) failure.

use crate::helpers::{Engine, engines, fresh_database_url, new_call_id, sample};
use callsaga_activities::email::Mailer;
use callsaga_activities::faults::FaultPlan;
use callsaga_activities::pricing::{Pricing, PricingMode};
use callsaga_activities::{Activities, CallEndActivitiesImpl, CallRecordActivitiesImpl};
use callsaga_workflows::payloads::{ApplyEventInput, BillCallInput};
use std::sync::Arc;
use temporalio_sdk::testing::{ActivityEnvironment, ActivityEnvironmentError};

pub(crate) async fn deps(engine: Engine) -> Activities {
    let settings = callsaga_api::Settings::from_overrides(serde_json::json!({
        "database_url": fresh_database_url(engine).await,
    }))
    .unwrap();
    let db = callsaga_api::db::connect_and_migrate(&settings)
        .await
        .unwrap();
    callsaga_api::seed::demo_tenant(&db).await.unwrap();
    Activities::new(
        db,
        Arc::new(Mailer::memory()),
        FaultPlan::default(),
        Pricing::new(PricingMode::PerStartedMinute, 10).unwrap(),
    )
}

pub(crate) async fn inbox(deps: &Activities, call: &str, name: &str) -> i64 {
    let body = sample(name, call);
    callsaga_api::inbox::accept(
        &deps.db,
        callsaga_api::inbox::NewEvent {
            vapi_call_id: call,
            message_type: "x",
            body: &body,
            received_at: chrono::Utc::now(),
            event_at: None,
        },
    )
    .await
    .unwrap();
    callsaga_api::inbox::pending(&deps.db, 1000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_are_idempotent_in_the_test_environment() {
    for engine in engines().await {
        let deps = deps(engine).await;
        let env = ActivityEnvironment::builder()
            .register_activities(CallRecordActivitiesImpl::new(deps.clone()))
            .register_activities(CallEndActivitiesImpl::new(deps.clone()))
            .build();
        let call = new_call_id();
        let workflow_id = format!("call-{call}");
        let mut snapshots = Vec::new();
        for name in ["inbound-in-progress.json", "customer-ended-call.json"] {
            let inbox_id = inbox(&deps, &call, name).await;
            let input = ApplyEventInput {
                workflow_id: workflow_id.clone(),
                vapi_call_id: call.clone(),
                inbox_id,
            };
            let first = env
                .run(CallRecordActivitiesImpl::apply_event, input.clone())
                .await
                .unwrap();
            let again = env
                .run(CallRecordActivitiesImpl::apply_event, input)
                .await
                .unwrap();
            assert_eq!(
                first, again,
                "{engine:?}: applying an event twice changes nothing"
            );
            snapshots.push(first);
        }
        assert!(snapshots[1].report_applied && snapshots[1].ended);

        let bill = BillCallInput {
            workflow_id,
            vapi_call_id: call.clone(),
        };
        let first = env
            .run(CallEndActivitiesImpl::charge_call, bill.clone())
            .await
            .unwrap();
        let again = env
            .run(CallEndActivitiesImpl::charge_call, bill)
            .await
            .unwrap();
        assert_eq!((first.charged, first.status.as_str()), (20, "billed"));
        assert_eq!(first.ledger_entry_id, again.ledger_entry_id, "charged once");

        // An inbox id that does not exist: permanent, so Temporal does not retry it.
        let err = env
            .run(
                CallRecordActivitiesImpl::apply_event,
                ApplyEventInput {
                    workflow_id: "call-x".into(),
                    vapi_call_id: "x".into(),
                    inbox_id: 999_999,
                },
            )
            .await
            .unwrap_err();
        match err {
            ActivityEnvironmentError::Activity(e) => {
                assert!(format!("{e:?}").contains("InboxEventMissing"), "{e:?}")
            }
            other => panic!("{other}"),
        }
    }
}
