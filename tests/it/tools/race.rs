//! Two callers racing for one slot: exactly one booking each round.

use crate::helpers::{engines, mail_dir, new_call_id};

use super::{app, booked, booking_args, call_tool, future_weekday, text};

/// Two callers book the same slot at the same moment: exactly one wins, the other hears
/// alternatives. 100 rounds on every engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callers_racing_for_one_slot_book_it_once() {
    let rounds: usize = std::env::var("CALLSAGA_RACE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    for engine in engines().await {
        let mail = mail_dir();
        let app = app(engine, &mail).await;
        let mut wins_total = 0;
        for round in 0..rounds {
            // A distinct slot per round: 16 slots a day over future weekdays.
            let day = future_weekday(1 + (round / 16) as i64);
            let slot = round % 16;
            let time = format!(
                "{:02}:{}",
                9 + slot / 2,
                if slot % 2 == 0 { "00" } else { "30" }
            );
            let (call_a, call_b) = (new_call_id(), new_call_id());
            let (a, b) = tokio::join!(
                call_tool(
                    &app,
                    &call_a,
                    "book_appointment",
                    booking_args(day, &time, "Racer A")
                ),
                call_tool(
                    &app,
                    &call_b,
                    "book_appointment",
                    booking_args(day, &time, "Racer B")
                ),
            );
            let wins = [&a, &b]
                .iter()
                .filter(|x| text(x).contains("is booked"))
                .count();
            assert_eq!(wins, 1, "round {round} ({engine:?}): {a} / {b}");
            let loser = if text(&a).contains("is booked") {
                &b
            } else {
                &a
            };
            assert!(
                text(loser).contains("taken") || text(loser).contains("not available"),
                "the loser hears alternatives: {loser}"
            );
            // The earlier rounds booked the rest of the day: when the loser lost at the insert
            // (it planned while the slot was still free), the alternatives are the next day's.
            if text(loser).contains("just taken") {
                assert_eq!(
                    text(loser).contains("fully booked"),
                    slot == 15,
                    "round {round}: {loser}"
                );
            }
            wins_total += wins;
        }
        assert_eq!(booked(&app).await.len(), wins_total, "{engine:?}");
        eprintln!("race: {rounds} rounds on {engine:?}, one booking each");
        app.shutdown().await;
    }
}
