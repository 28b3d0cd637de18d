//! Provider selection, and the embedded calendar (the appointments table) on SQLite and
//! PostgreSQL.

use crate::helpers::{Engine, engines, fresh_database_url};
use callsaga_activities::availability::{self, BusinessHours, parse_timezone};
use callsaga_activities::calendar::{
    BusyInterval, CalDavPolicy, CalendarError, EmbeddedCalendar, busy_ranges, calendar_for,
};
use callsaga_entity::{agents, appointments};
use callsaga_migration::{Migrator, MigratorTrait};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

use super::{PASSWORD, USER, WIDE_FROM, WIDE_TO, date, event, long_ago, mkcalendar, radicale, utc};

async fn migrated_db(engine: Engine) -> DatabaseConnection {
    let db = sea_orm::Database::connect(fresh_database_url(engine).await)
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
}

async fn demo_agent(db: &DatabaseConnection) -> agents::Model {
    let tenant = callsaga_api::seed::demo_tenant(db).await.expect("seed");
    agents::Entity::find_by_id(tenant.agent_id)
        .one(db)
        .await
        .expect("query")
        .expect("agent")
}

async fn book(
    db: &DatabaseConnection,
    agent: &agents::Model,
    start: &str,
    end: &str,
    status: &str,
    event_id: Option<&str>,
) -> appointments::Model {
    let now = Utc::now();
    appointments::ActiveModel {
        id: Set(Uuid::now_v7()),
        agent_id: Set(agent.id),
        call_id: Set(None),
        calendar_event_id: Set(event_id.map(str::to_owned)),
        starts_at: Set(utc(start)),
        ends_at: Set(utc(end)),
        timezone: Set(agent.timezone.clone()),
        status: Set(status.to_owned()),
        customer_name: Set("Anna".into()),
        customer_phone: Set(None),
        customer_email: Set(None),
        notes: Set(None),
        idempotency_key: Set(format!("key-{}", Uuid::new_v4().simple())),
        created_at: Set(now),
        updated_at: Set(now),
        email_failed_at: Set(None),
        email_error: Set(None),
        caller_number: Set(None),
    }
    .insert(db)
    .await
    .expect("insert appointment")
}

#[tokio::test]
async fn embedded_calendar_is_the_appointments_table() {
    for engine in engines().await {
        let db = migrated_db(engine).await;
        let agent = demo_agent(&db).await;
        let cal = calendar_for(
            &agent,
            db.clone(),
            reqwest::Client::new(),
            &CalDavPolicy::permissive(),
        )
        .expect("embedded");

        let a = book(
            &db,
            &agent,
            "2026-11-24T08:00:00Z",
            "2026-11-24T08:30:00Z",
            "booked",
            Some("embedded:call-9-book"),
        )
        .await;
        let b = book(
            &db,
            &agent,
            "2026-11-24T10:00:00Z",
            "2026-11-24T11:00:00Z",
            "booked",
            None,
        )
        .await;
        book(
            &db,
            &agent,
            "2026-11-24T09:00:00Z",
            "2026-11-24T09:30:00Z",
            "cancelled",
            None,
        )
        .await;
        book(
            &db,
            &agent,
            "2026-11-26T09:00:00Z",
            "2026-11-26T09:30:00Z",
            "booked",
            None,
        )
        .await;

        let busy = cal
            .busy(utc("2026-11-24T08:15:00Z"), utc("2026-11-25T00:00:00Z"))
            .await
            .expect("busy");
        assert_eq!(
            busy,
            [
                BusyInterval {
                    start: a.starts_at,
                    end: a.ends_at,
                    event_uid: Some("call-9-book".into()),
                },
                BusyInterval {
                    start: b.starts_at,
                    end: b.ends_at,
                    event_uid: Some(b.idempotency_key.clone()),
                },
            ],
            "{engine:?}"
        );
        // Half-open: an interval ending when the range starts is not busy.
        let busy = cal
            .busy(utc("2026-11-24T08:30:00Z"), utc("2026-11-24T10:00:00Z"))
            .await
            .expect("busy");
        assert!(busy.is_empty(), "{engine:?}: {busy:?}");

        // Slots of the demo agent (Mon-Fri 09:00-17:00 Berlin) around its appointments.
        let hours = BusinessHours::from_json(&agent.business_hours).expect("hours");
        let tz = parse_timezone(&agent.timezone).expect("zone");
        let day = date("2026-11-24");
        let (from, to) = availability::search_range(tz, day, 1);
        let busy = cal.busy(from, to).await.expect("busy");
        let slots = availability::free_slots(
            &hours,
            tz,
            day,
            30,
            &busy_ranges(&busy, None),
            None,
            long_ago(),
        );
        assert_eq!(slots.len(), 16 - 1 - 2, "{engine:?}");
        assert_eq!(slots[0].local_start.format("%H:%M").to_string(), "09:30");

        let ev = event(
            "call-9-book",
            "2026-11-25T08:00:00Z",
            "2026-11-25T08:30:00Z",
        );
        assert_eq!(
            cal.create_event(&ev).await.expect("create"),
            EmbeddedCalendar::event_id("call-9-book")
        );
        cal.move_event(
            "embedded:call-9-book",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T09:30:00Z"),
        )
        .await
        .expect("move");
        assert!(matches!(
            cal.move_event("other:1", ev.start, ev.end).await,
            Err(CalendarError::NotFound(_))
        ));
        cal.delete_event("embedded:call-9-book")
            .await
            .expect("delete");
        let _ = db.close().await;
    }
}

#[tokio::test]
async fn calendar_for_picks_the_provider() {
    let db = migrated_db(Engine::Sqlite).await;
    let mut agent = demo_agent(&db).await;
    let http = reqwest::Client::new();

    agent.calendar_provider = "caldav".into();
    agent.calendar_config = None;
    let err = calendar_for(
        &agent,
        db.clone(),
        http.clone(),
        &CalDavPolicy::permissive(),
    )
    .err();
    assert!(matches!(err, Some(CalendarError::Permanent(_))), "{err:?}");

    let url = mkcalendar(&radicale().await.base).await;
    agent.calendar_config = Some(json!({ "url": url, "username": USER, "password": PASSWORD }));
    let cal = calendar_for(
        &agent,
        db.clone(),
        http.clone(),
        &CalDavPolicy::permissive(),
    )
    .expect("caldav");
    let id = cal
        .create_event(&event(
            "via-trait",
            "2026-11-24T08:00:00Z",
            "2026-11-24T08:30:00Z",
        ))
        .await
        .expect("create through the trait object");
    assert_eq!(id, "via-trait.ics");
    assert_eq!(
        cal.busy(utc(WIDE_FROM), utc(WIDE_TO))
            .await
            .expect("busy")
            .len(),
        1
    );

    agent.calendar_provider = "none".into();
    assert!(matches!(
        calendar_for(
            &agent,
            db.clone(),
            http.clone(),
            &CalDavPolicy::permissive()
        )
        .err(),
        Some(CalendarError::Permanent(_))
    ));
    agent.calendar_provider = "outlook".into();
    let err = calendar_for(
        &agent,
        db.clone(),
        http.clone(),
        &CalDavPolicy::permissive(),
    )
    .err();
    assert!(
        matches!(&err, Some(CalendarError::Permanent(m)) if m.contains("outlook")),
        "{err:?}"
    );
    let _ = db.close().await;
}
