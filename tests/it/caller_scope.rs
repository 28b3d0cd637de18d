//! Issue 23: a caller acts only on their own appointments. Anna books from her number; Bernd,
//! calling from his, tries each way in (a fragment of her name, her number as an argument, her
//! date, her appointment's id) and a withheld number tries without one. Each answer must
//! reveal nothing of hers and leave her appointment as it was, while Anna herself still lists,
//! moves and cancels it. Through the webhook, on SQLite and PostgreSQL.

use crate::helpers::{Engine, TestApp, engines, mail_dir, new_call_id, spawn_app_with};
use crate::tools::{call_tool_from, future_weekday, text};
use callsaga_entity::appointments;
use chrono::NaiveDate;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const ANNA: &str = "+4915112345678";
const BERND: &str = "+4917611112222";
const ANNA_NAME: &str = "Anna Schmidt";
const ANNA_EMAIL: &str = "anna.schmidt@example.de";
const ANNA_NOTES: &str = "Penicillin allergy";

async fn app(engine: Engine) -> TestApp {
    let mail = mail_dir();
    spawn_app_with(
        engine,
        json!({ "email": { "backend": "file", "dir": mail } }),
    )
    .await
}

/// One tool call on `call` from `number` (`None`: withheld); what the caller hears.
async fn say_as(
    app: &TestApp,
    call: &str,
    number: Option<&str>,
    tool: &str,
    args: Value,
) -> String {
    let answer = call_tool_from(app, call, number, tool, args).await;
    text(&answer).to_owned()
}

/// Anna's appointment on `day` at 10:00, booked from her number.
async fn anna_books(app: &TestApp, day: NaiveDate) -> appointments::Model {
    let said = say_as(
        app,
        &new_call_id(),
        Some(ANNA),
        "book_appointment",
        json!({ "date": day.to_string(), "startTime": "10:00", "customerName": ANNA_NAME,
                "customerPhone": ANNA, "customerEmail": ANNA_EMAIL, "notes": ANNA_NOTES }),
    )
    .await;
    assert!(said.contains("is booked"), "{said}");
    let rows = appointments::Entity::find()
        .all(&app.app.state.db)
        .await
        .unwrap();
    let row = rows
        .into_iter()
        .find(|r| r.customer_name == ANNA_NAME)
        .expect("Anna's row");
    assert_eq!(
        row.caller_number.as_deref(),
        Some(ANNA),
        "the verified number"
    );
    row
}

async fn reload(app: &TestApp, row: &appointments::Model) -> appointments::Model {
    appointments::Entity::find_by_id(row.id)
        .one(&app.app.state.db)
        .await
        .unwrap()
        .expect("the row")
}

/// Nothing of Anna's in what someone else heard: not her name (nor a part of it), number,
/// email, notes, appointment id or time.
fn reveals_nothing(said: &str, anna: &appointments::Model) {
    let lower = said.to_lowercase();
    for secret in [
        "anna",
        "schmidt",
        "15112345678",
        ANNA_EMAIL,
        "penicillin",
        &anna.id.to_string(),
        "10:00",
    ] {
        assert!(!lower.contains(secret), "{secret:?} leaked: {said}");
    }
}

async fn unchanged(app: &TestApp, anna: &appointments::Model) {
    let now = reload(app, anna).await;
    assert_eq!(
        (now.status.as_str(), now.starts_at),
        ("booked", anna.starts_at),
        "Anna's appointment is untouched"
    );
}

fn move_to(day: NaiveDate, time: &str) -> Value {
    json!({ "newDate": day.to_string(), "newStartTime": time })
}

fn with(mut args: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_of_a_name_finds_nothing() {
    for engine in engines().await {
        let app = app(engine).await;
        let day = future_weekday(0);
        let anna = anna_books(&app, day).await;
        let bernd = new_call_id();
        let fragment = json!({ "customerName": "an" });

        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "list_appointments",
            fragment.clone(),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "cancel_appointment",
            fragment.clone(),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        let args = with(move_to(day, "14:00"), fragment.clone());
        let said = say_as(&app, &bernd, Some(BERND), "reschedule_appointment", args).await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        unchanged(&app, &anna).await;

        // Anna's own fragment is no more her name than Bernd's; her name, in any case, is.
        let call = new_call_id();
        let said = say_as(&app, &call, Some(ANNA), "list_appointments", fragment).await;
        assert!(said.contains("couldn't find"), "{said}");
        let said = say_as(
            &app,
            &call,
            Some(ANNA),
            "list_appointments",
            json!({ "customerName": "  ANNA schmidt " }),
        )
        .await;
        assert!(said.contains("10:00"), "{said}");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_number_as_an_argument_is_no_key() {
    for engine in engines().await {
        let app = app(engine).await;
        let day = future_weekday(0);
        let anna = anna_books(&app, day).await;
        // Bernd has an appointment of his own, so his answers do list something.
        let bernd = new_call_id();
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "book_appointment",
            json!({ "date": day.to_string(), "startTime": "15:00", "customerName": "Bernd",
                    "customerPhone": ANNA }),
        )
        .await;
        assert!(said.contains("is booked"), "{said}");
        let hers = json!({ "customerPhone": ANNA });

        let said = say_as(&app, &bernd, Some(BERND), "list_appointments", hers.clone()).await;
        assert!(
            said.contains("3:00 PM") && said.contains("You have 1"),
            "{said}"
        );
        reveals_nothing(&said, &anna);
        // Only his own is there to cancel or move, whatever number he gives.
        let args = with(move_to(day, "10:00"), hers.clone());
        let said = say_as(&app, &bernd, Some(BERND), "reschedule_appointment", args).await;
        assert!(said.contains("not available"), "{said}");
        assert!(!said.to_lowercase().contains("anna"), "{said}");
        let said = say_as(&app, &bernd, Some(BERND), "cancel_appointment", hers).await;
        assert!(
            said.contains("cancelled") && said.contains("3:00 PM"),
            "{said}"
        );
        reveals_nothing(&said, &anna);
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "cancel_appointment",
            json!({ "customerPhone": ANNA, "customerName": ANNA_NAME }),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        unchanged(&app, &anna).await;

        // Anna lists hers from her number, whatever contact number the model passes along.
        let said = say_as(
            &app,
            &new_call_id(),
            Some(ANNA),
            "list_appointments",
            json!({ "customerPhone": BERND }),
        )
        .await;
        assert!(
            said.contains("10:00") && said.contains("You have 1"),
            "{said}"
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessed_date_finds_nothing() {
    for engine in engines().await {
        let app = app(engine).await;
        let day = future_weekday(0);
        let anna = anna_books(&app, day).await;
        let bernd = new_call_id();
        // The date and her whole name: what a substring match used to need.
        let guess = json!({ "date": day.to_string(), "customerName": ANNA_NAME });

        let said = say_as(&app, &bernd, Some(BERND), "cancel_appointment", guess).await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        let args = with(
            move_to(day, "14:00"),
            json!({ "originalDate": day.to_string(), "customerName": ANNA_NAME }),
        );
        let said = say_as(&app, &bernd, Some(BERND), "reschedule_appointment", args).await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "list_appointments",
            json!({ "fromDate": day.to_string(), "customerName": ANNA_NAME }),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        reveals_nothing(&said, &anna);
        unchanged(&app, &anna).await;

        // Anna cancels hers by its date.
        let said = say_as(
            &app,
            &new_call_id(),
            Some(ANNA),
            "cancel_appointment",
            json!({ "date": day.to_string() }),
        )
        .await;
        assert!(
            said.contains("cancelled") && said.contains("10:00"),
            "{said}"
        );
        assert_eq!(reload(&app, &anna).await.status, "cancelled");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessed_id_is_answered_like_an_unknown_one() {
    for engine in engines().await {
        let app = app(engine).await;
        let day = future_weekday(0);
        let anna = anna_books(&app, day).await;
        let bernd = new_call_id();
        let id_of = |id: String| json!({ "appointmentId": id, "customerName": ANNA_NAME });
        let (hers, nobodys) = (
            id_of(anna.id.to_string()),
            id_of(uuid::Uuid::now_v7().to_string()),
        );

        let unknown = say_as(
            &app,
            &bernd,
            Some(BERND),
            "cancel_appointment",
            nobodys.clone(),
        )
        .await;
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "cancel_appointment",
            hers.clone(),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        assert_eq!(
            said, unknown,
            "her id is answered exactly like an unknown one"
        );
        reveals_nothing(&said, &anna);
        let unknown = say_as(
            &app,
            &bernd,
            Some(BERND),
            "reschedule_appointment",
            with(move_to(day, "14:00"), nobodys),
        )
        .await;
        let said = say_as(
            &app,
            &bernd,
            Some(BERND),
            "reschedule_appointment",
            with(move_to(day, "14:00"), hers),
        )
        .await;
        assert_eq!(
            said, unknown,
            "her id is answered exactly like an unknown one"
        );
        reveals_nothing(&said, &anna);
        unchanged(&app, &anna).await;

        // Anna moves hers by its id.
        let said = say_as(
            &app,
            &new_call_id(),
            Some(ANNA),
            "reschedule_appointment",
            with(
                move_to(day, "14:00"),
                json!({ "appointmentId": anna.id.to_string() }),
            ),
        )
        .await;
        assert!(said.contains("moved"), "{said}");
        assert_ne!(reload(&app, &anna).await.starts_at, anna.starts_at);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_number_needs_the_id_and_the_exact_name() {
    for engine in engines().await {
        let app = app(engine).await;
        let day = future_weekday(0);
        let anna = anna_books(&app, day).await;
        let withheld = new_call_id();

        let said = say_as(&app, &withheld, None, "list_appointments", json!({})).await;
        assert!(said.contains("withheld"), "{said}");
        reveals_nothing(&said, &anna);
        let said = say_as(
            &app,
            &withheld,
            None,
            "list_appointments",
            json!({ "customerPhone": ANNA, "customerName": ANNA_NAME }),
        )
        .await;
        assert!(said.contains("withheld"), "never lists: {said}");
        reveals_nothing(&said, &anna);
        // Name and date without the id; the id without the name.
        for args in [
            json!({ "customerName": ANNA_NAME, "date": day.to_string(), "customerPhone": ANNA }),
            json!({ "appointmentId": anna.id.to_string() }),
        ] {
            let said = say_as(&app, &withheld, None, "cancel_appointment", args).await;
            assert!(said.contains("reference and the name"), "{said}");
            reveals_nothing(&said, &anna);
        }
        let unknown = say_as(
            &app,
            &withheld,
            None,
            "cancel_appointment",
            json!({ "appointmentId": uuid::Uuid::now_v7().to_string(), "customerName": "Anna" }),
        )
        .await;
        let said = say_as(
            &app,
            &withheld,
            None,
            "cancel_appointment",
            json!({ "appointmentId": anna.id.to_string(), "customerName": "Anna" }),
        )
        .await;
        assert!(said.contains("couldn't find"), "{said}");
        assert_eq!(said, unknown, "a wrong name is answered like an unknown id");
        reveals_nothing(&said, &anna);
        unchanged(&app, &anna).await;

        // With the id and her exact name (case and accents aside) it is hers to change.
        let by_id_and_name =
            json!({ "appointmentId": anna.id.to_string(), "customerName": "anna SCHMIDT" });
        let said = say_as(
            &app,
            &withheld,
            None,
            "reschedule_appointment",
            with(move_to(day, "14:00"), by_id_and_name.clone()),
        )
        .await;
        assert!(said.contains("moved"), "{said}");
        let said = say_as(&app, &withheld, None, "cancel_appointment", by_id_and_name).await;
        assert!(said.contains("cancelled"), "{said}");
        assert_eq!(reload(&app, &anna).await.status, "cancelled");
        app.shutdown().await;
    }
}
