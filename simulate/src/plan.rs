//! The seeded call mix: what each simulated call does and when, and which message faults hit it.
//! Every call draws from its own generator (seed + index), so a call's plan does not depend on
//! the concurrency or on the other calls.

use crate::options::FaultKind;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scenario {
    /// Availability, then a booking.
    Book,
    /// A booking, then moving it.
    BookAndReschedule,
    /// A booking, then cancelling it.
    BookAndCancel,
    /// Only asks for free times.
    Browse,
    /// Asks for a human (a transfer or a callback, as the agent's configuration decides).
    Escalate,
    /// The model calls a tool that does not exist.
    UnknownTool,
}

#[derive(Debug, Clone)]
pub(crate) struct ToolStep {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) args: Value,
    /// Simulated seconds of conversation before the tool call.
    pub(crate) talk_before: f64,
}

/// Picks one fault flag of a call.
type FaultFlag = fn(&mut CallFaults) -> &mut bool;

#[derive(Debug, Clone, Default)]
pub(crate) struct CallFaults {
    /// Extra copies of each asynchronous delivery (0 = none); per message, drawn 1–3.
    pub(crate) duplicates: bool,
    pub(crate) reorder: bool,
    pub(crate) drop_status: bool,
    pub(crate) missing_report: bool,
    pub(crate) poison: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CallPlan {
    pub(crate) call_id: String,
    pub(crate) caller_number: String,
    pub(crate) caller_name: String,
    pub(crate) scenario: Scenario,
    pub(crate) tools: Vec<ToolStep>,
    /// Simulated seconds between ringing and in-progress.
    pub(crate) ring_secs: f64,
    /// Simulated seconds of talk after the last tool call.
    pub(crate) tail_secs: f64,
    pub(crate) ended_reason: &'static str,
    /// Simulated seconds between the end and the end-of-call report (5–15 s).
    pub(crate) report_delay: f64,
    /// Simulated seconds after the run's start at which the call comes in.
    pub(crate) arrives_at: f64,
    pub(crate) faults: CallFaults,
    pub(crate) rng_seed: u64,
}

const FIRST: &[&str] = &[
    "Anna", "Jonas", "Mia", "Leon", "Emma", "Paul", "Lea", "Finn", "Sofia", "Noah",
];
const LAST: &[&str] = &[
    "Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch",
];
const ENDED: &[&str] = &[
    "customer-ended-call",
    "assistant-ended-call",
    "silence-timed-out",
    "customer-ended-call",
];

/// When the calls come in (simulated seconds).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arrivals {
    /// A Poisson stream of this many calls per second, the realistic call mix.
    Poisson(f64),
    /// Every call within `window` seconds (uniformly), each booking within its first `first`
    /// seconds, as after a radio spot or when a campaign starts.
    Burst { window: f64, first: f64 },
}

/// The plans of `calls` calls from `seed`. `today` is the agent's local date (bookings go into
/// the next two weeks' weekdays).
pub(crate) fn plans(
    seed: u64,
    calls: usize,
    faults: &[FaultKind],
    arrivals_of: Arrivals,
    today: NaiveDate,
) -> Vec<CallPlan> {
    let mut arrivals = ChaCha8Rng::seed_from_u64(seed ^ 0xA55A_5AA5);
    let mut t = 0.0;
    let poison_index = faults
        .contains(&FaultKind::Poison)
        .then(|| arrivals.random_range(0..calls.max(1)));
    let mut out: Vec<CallPlan> = (0..calls)
        .map(|index| {
            let call_seed = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(index as u64);
            let poison = poison_index == Some(index);
            match arrivals_of {
                Arrivals::Poisson(rate) => {
                    // Exponential gaps.
                    let u: f64 = arrivals.random_range(f64::EPSILON..1.0);
                    t += -u.ln() / rate.max(0.001);
                    plan_one(index, call_seed, t, faults, poison, today)
                }
                Arrivals::Burst { window, first } => {
                    let at = arrivals.random_range(0.0..window.max(0.001));
                    let mut p = plan_one(index, call_seed, at, faults, poison, today);
                    book_first(&mut p, first, today);
                    p
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.arrives_at.total_cmp(&b.arrives_at));
    collide(&mut out, &mut arrivals);
    // Every message fault asked for hits at least one (non-poison) call, even in a small run.
    let normal: Vec<usize> = (0..out.len()).filter(|i| !out[*i].faults.poison).collect();
    if !normal.is_empty() {
        let kinds: [(FaultKind, FaultFlag); 4] = [
            (FaultKind::Duplicates, |f| &mut f.duplicates),
            (FaultKind::Reorder, |f| &mut f.reorder),
            (FaultKind::DropStatus, |f| &mut f.drop_status),
            (FaultKind::MissingReport, |f| &mut f.missing_report),
        ];
        for (kind, flag) in kinds {
            if faults.contains(&kind) && !out.iter_mut().any(|c| *flag(&mut c.faults)) {
                let i = normal[arrivals.random_range(0..normal.len())];
                *flag(&mut out[i].faults) = true;
            }
        }
    }
    out
}

fn plan_one(
    index: usize,
    seed: u64,
    arrives_at: f64,
    faults: &[FaultKind],
    poison: bool,
    today: NaiveDate,
) -> CallPlan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scenario = match rng.random_range(0..100) {
        0..35 => Scenario::Book,
        35..50 => Scenario::BookAndReschedule,
        50..62 => Scenario::BookAndCancel,
        62..78 => Scenario::Browse,
        78..93 => Scenario::Escalate,
        _ => Scenario::UnknownTool,
    };
    let name = format!(
        "{} {}",
        FIRST[rng.random_range(0..FIRST.len())],
        LAST[rng.random_range(0..LAST.len())]
    );
    let number = format!("+49151{:08}", rng.random_range(0..100_000_000u32));
    let email = rng
        .random_bool(0.5)
        .then(|| format!("sim{index}.{:04}@example.com", rng.random_range(0..10_000)));
    let mut uuid_bytes = [0u8; 16];
    rng.fill(&mut uuid_bytes);
    let uuid = uuid::Builder::from_random_bytes(uuid_bytes).into_uuid();
    // The poison call's id passes the webhook's check (at most 128 characters) but its workflow
    // id is longer than the spawned Temporal server accepts (see stack.rs): every delivery is
    // rejected as invalid.
    let call_id = if poison {
        format!("poison-{}-{}", uuid.simple(), "x".repeat(60))
    } else {
        uuid.to_string()
    };
    let mut n = 0;
    let mut tool_id = |rng: &mut ChaCha8Rng| {
        n += 1;
        let mut b = [0u8; 9];
        rng.fill(&mut b);
        format!("call_{}{n}", hex_lower(&b))
    };
    let date = booking_date(&mut rng, today);
    let slot = |rng: &mut ChaCha8Rng| {
        format!(
            "{:02}:{:02}",
            rng.random_range(9..17),
            [0, 30][rng.random_range(0..2)]
        )
    };
    let start = slot(&mut rng);
    let talk = |rng: &mut ChaCha8Rng| rng.random_range(8.0..30.0);
    let mut tools = Vec::new();
    let mut step = |rng: &mut ChaCha8Rng, name: &'static str, args: Value| {
        let talk_before = talk(rng);
        tools.push(ToolStep {
            id: tool_id(rng),
            name,
            args,
            talk_before,
        });
    };
    let book_args = json!({
        "date": date.to_string(), "startTime": start, "customerName": name,
        "customerPhone": number, "durationMinutes": 30,
    });
    let mut book_args = book_args;
    if let Some(e) = &email {
        book_args["customerEmail"] = json!(e);
    }
    let availability = json!({ "date": date.to_string(), "timeOfDay": if start.as_str() < "12:00" { "morning" } else { "afternoon" } });
    match scenario {
        Scenario::Book => {
            step(&mut rng, "check_availability", availability);
            step(&mut rng, "book_appointment", book_args);
        }
        Scenario::BookAndReschedule => {
            step(&mut rng, "book_appointment", book_args);
            let new_date = booking_date(&mut rng, today);
            let new_start = slot(&mut rng);
            step(
                &mut rng,
                "reschedule_appointment",
                json!({
                    "newDate": new_date.to_string(), "newStartTime": new_start,
                    "customerName": name, "originalDate": date.to_string(),
                }),
            );
        }
        Scenario::BookAndCancel => {
            step(&mut rng, "book_appointment", book_args);
            step(
                &mut rng,
                "cancel_appointment",
                json!({ "customerName": name, "date": date.to_string(), "reason": "plans changed" }),
            );
        }
        Scenario::Browse => {
            step(&mut rng, "check_availability", availability);
            step(
                &mut rng,
                "find_next_available",
                json!({ "afterDate": date.to_string() }),
            );
        }
        Scenario::Escalate => {
            step(&mut rng, "check_operator_availability", json!({}));
            let urgency = ["low", "normal", "high"][rng.random_range(0..3)];
            step(
                &mut rng,
                "escalate_to_human",
                json!({ "reason": "billing question", "urgency": urgency, "summary": "caller asks about an invoice" }),
            );
        }
        Scenario::UnknownTool => {
            step(&mut rng, "check_availability", availability);
            step(&mut rng, "order_pizza", json!({ "size": "large" }));
        }
    }
    let has = |k: FaultKind| faults.contains(&k);
    let call_faults = CallFaults {
        duplicates: has(FaultKind::Duplicates) && rng.random_bool(0.3),
        reorder: has(FaultKind::Reorder) && rng.random_bool(0.2),
        drop_status: has(FaultKind::DropStatus) && rng.random_bool(0.2),
        missing_report: has(FaultKind::MissingReport) && rng.random_bool(0.1),
        poison,
    };
    CallPlan {
        call_id,
        caller_number: number,
        caller_name: name,
        scenario,
        tools,
        ring_secs: rng.random_range(2.0..8.0),
        tail_secs: rng.random_range(5.0..40.0),
        ended_reason: ENDED[rng.random_range(0..ENDED.len())],
        report_delay: rng.random_range(5.0..15.0),
        arrives_at,
        faults: call_faults,
        rng_seed: rng.random(),
    }
}

/// A burst call: rings briefly, and books within its first `first` seconds (then talks on,
/// ends and reports like any call).
fn book_first(p: &mut CallPlan, first: f64, today: NaiveDate) {
    let mut rng = ChaCha8Rng::seed_from_u64(p.rng_seed ^ 0xB0057);
    let book = p
        .tools
        .iter()
        .find(|t| t.name == "book_appointment")
        .cloned();
    let args = book.map(|t| t.args).unwrap_or_else(|| {
        json!({
            "date": booking_date(&mut rng, today).to_string(),
            "startTime": format!("{:02}:{:02}", rng.random_range(9..17), [0, 30][rng.random_range(0..2)]),
            "customerName": p.caller_name, "customerPhone": p.caller_number,
            "durationMinutes": 30,
        })
    });
    p.scenario = Scenario::Book;
    p.ring_secs = rng.random_range(0.1..0.3) * first;
    p.tools = vec![ToolStep {
        id: format!("call_burst{:016x}", rng.random::<u64>()),
        name: "book_appointment",
        args,
        talk_before: rng.random_range(0.3..0.7) * first,
    }];
}

/// Some callers ask for the slot an earlier caller asked for (a popular time), so the run has
/// bookings that collide: one of the two hears that the slot is taken, and the report checks
/// that a "not booked" answer booked nothing. The first caller after a booking one always does,
/// then one in three. One booking caller in eight asks for an evening time, after the demo agent's
/// hours (09:00–17:00): refused whenever it comes.
fn collide(calls: &mut [CallPlan], rng: &mut ChaCha8Rng) {
    let mut last: Option<(Value, Value)> = None;
    let mut collided = false;
    for call in calls.iter_mut().filter(|c| !c.faults.poison) {
        let Some(i) = call.tools.iter().position(|t| t.name == "book_appointment") else {
            continue;
        };
        if rng.random_bool(0.125) {
            call.tools[i].args["startTime"] = json!("19:30");
            continue;
        }
        if let Some((date, start)) = &last
            && (!collided || rng.random_bool(1.0 / 3.0))
        {
            collided = true;
            call.tools[i].args["date"] = date.clone();
            call.tools[i].args["startTime"] = start.clone();
            // The caller's later reschedule or cancel names the date they booked.
            for t in &mut call.tools[i + 1..] {
                for key in ["originalDate", "date"] {
                    if t.args.get(key).is_some() {
                        t.args[key] = date.clone();
                    }
                }
            }
        }
        let book = &call.tools[i].args;
        last = Some((book["date"].clone(), book["startTime"].clone()));
    }
}

/// A weekday in the next two weeks.
fn booking_date(rng: &mut ChaCha8Rng, today: NaiveDate) -> NaiveDate {
    loop {
        let d = today + Duration::days(rng.random_range(1..15));
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return d;
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Arrivals = Arrivals::Poisson(1.0);

    #[test]
    fn a_burst_starts_every_call_within_the_window_each_booking_first() {
        let p = plans(
            5,
            100,
            &[],
            Arrivals::Burst {
                window: 3.0,
                first: 2.0,
            },
            today(),
        );
        assert_eq!(p.len(), 100);
        for c in &p {
            assert!((0.0..3.0).contains(&c.arrives_at), "{}", c.arrives_at);
            assert_eq!(c.tools.len(), 1);
            assert_eq!(c.tools[0].name, "book_appointment");
            assert!(c.ring_secs + c.tools[0].talk_before < 2.0);
        }
        assert!(p.windows(2).all(|w| w[0].arrives_at <= w[1].arrives_at));
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 4).expect("date")
    }

    #[test]
    fn the_same_seed_gives_the_same_calls_and_another_seed_others() {
        let a = plans(7, 50, &[FaultKind::Duplicates], P, today());
        let b = plans(7, 50, &[FaultKind::Duplicates], P, today());
        let c = plans(8, 50, &[FaultKind::Duplicates], P, today());
        let ids = |p: &[CallPlan]| p.iter().map(|c| c.call_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a[3].tools[0].args, b[3].tools[0].args);
        let scenarios: std::collections::HashSet<_> =
            a.iter().map(|c| format!("{:?}", c.scenario)).collect();
        assert!(scenarios.len() >= 5, "a mix: {scenarios:?}");
    }

    #[test]
    fn some_bookings_ask_for_the_slot_of_an_earlier_one() {
        let slot = |c: &CallPlan| {
            c.tools
                .iter()
                .find(|t| t.name == "book_appointment")
                .map(|t| (t.args["date"].to_string(), t.args["startTime"].to_string()))
        };
        for seed in [11, 12, 13] {
            let p = plans(seed, 30, &[], P, today());
            let slots: Vec<_> = p.iter().filter_map(slot).collect();
            let distinct: std::collections::HashSet<_> = slots.iter().collect();
            assert!(distinct.len() < slots.len(), "seed {seed}: {slots:?}");
        }
        let evening = plans(11, 60, &[], P, today())
            .iter()
            .filter_map(slot)
            .filter(|(_, start)| start == "\"19:30\"")
            .count();
        assert!(evening > 0);
    }

    #[test]
    fn one_poison_call_passes_the_door_and_bookings_fall_on_weekdays() {
        let p = plans(3, 40, &[FaultKind::Poison], P, today());
        let small = plans(
            3,
            3,
            &[FaultKind::MissingReport, FaultKind::Reorder],
            P,
            today(),
        );
        assert!(
            small.iter().any(|c| c.faults.missing_report) && small.iter().any(|c| c.faults.reorder)
        );
        let poison: Vec<_> = p.iter().filter(|c| c.faults.poison).collect();
        assert_eq!(poison.len(), 1);
        let id = &poison[0].call_id;
        assert!(
            id.len() <= 128 && id.len() + "call-".len() > 100,
            "{}",
            id.len()
        );
        for c in &p {
            for t in c.tools.iter().filter(|t| t.name == "book_appointment") {
                let d: NaiveDate = t.args["date"]
                    .as_str()
                    .expect("date")
                    .parse()
                    .expect("date");
                assert!(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
            }
        }
    }
}
