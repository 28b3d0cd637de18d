//! One simulated call, from `queued` to the end-of-call report, with the message faults its
//! plan draws (duplicates, reordering, dropped status updates, no report).

use crate::answers::{Heard, Outcome, classify, spoken};
use crate::clock::Clock;
use crate::plan::CallPlan;
use crate::sender::Sender;
use crate::vapi::CallBody;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

const USER_LINES: &[&str] = &[
    "Hi, I'd like to see the dentist.",
    "Do you have something next week?",
    "That sounds fine.",
    "Could you check again, please?",
    "My number is the one I'm calling from.",
    "Thank you.",
];
const BOT_LINES: &[&str] = &[
    "Hello, Demo Dental Practice, how can I help you?",
    "Let me check that for you.",
    "Of course.",
    "Is there anything else I can do for you?",
];

/// What happened to one call.
#[derive(Debug, Clone)]
pub(crate) struct CallResult {
    pub(crate) vapi_call_id: String,
    /// Every delivery was answered (none ran out of retries).
    pub(crate) delivered: bool,
    pub(crate) poison: bool,
    pub(crate) report_sent: bool,
}

pub(crate) struct CallRun<'a> {
    plan: &'a CallPlan,
    clock: Clock,
    sender: &'a Sender,
    heard: &'a Mutex<Vec<Heard>>,
    rng: ChaCha8Rng,
    body: CallBody<'a>,
    held: Vec<(&'static str, Vec<u8>)>,
    duplicates: Vec<tokio::task::JoinHandle<bool>>,
    delivered: bool,
    turn: usize,
}

impl<'a> CallRun<'a> {
    pub(crate) fn new(
        plan: &'a CallPlan,
        clock: Clock,
        sender: &'a Sender,
        heard: &'a Mutex<Vec<Heard>>,
    ) -> Self {
        Self {
            plan,
            clock,
            sender,
            heard,
            rng: ChaCha8Rng::seed_from_u64(plan.rng_seed),
            body: CallBody::new(plan, clock.now()),
            held: Vec::new(),
            duplicates: Vec::new(),
            delivered: true,
            turn: 0,
        }
    }

    pub(crate) async fn run(mut self) -> CallResult {
        let f = self.plan.faults.clone();
        self.status("queued").await;
        self.clock.sleep(0.5).await;
        self.status("ringing").await;
        self.clock.sleep(self.plan.ring_secs).await;
        self.status("in-progress").await;
        let now = self.clock.now();
        self.body.say("bot", BOT_LINES[0], now, 3.0);
        self.conversation().await;
        for step in self.plan.tools.clone() {
            self.talk(step.talk_before).await;
            let outcome = self.tool(&step.id, step.name, &step.args).await;
            if outcome == Outcome::Transfer {
                let now = self.clock.now();
                let body = self.body.transfer_update("+4930987654321", now);
                self.deliver("transfer-update", body).await;
            }
        }
        self.talk(self.plan.tail_secs).await;
        let ended_at = self.clock.now();
        let reason = if self.heard_transfer() {
            "assistant-forwarded-call"
        } else {
            self.plan.ended_reason
        };
        let ended = self
            .body
            .status("ended", ended_at, Some((reason, ended_at)));
        if f.reorder {
            // The report before the `ended` status update, as for a short call.
            self.held.push(("status-update", ended));
        } else {
            self.deliver_status(ended).await;
        }
        self.clock.sleep(self.plan.report_delay).await;
        let report_sent = !f.missing_report;
        if report_sent {
            let body = self
                .body
                .end_of_call_report(reason, ended_at, self.clock.now());
            self.deliver("end-of-call-report", body).await;
        }
        self.flush().await;
        for d in std::mem::take(&mut self.duplicates) {
            if !d.await.unwrap_or(false) {
                self.delivered = false;
            }
        }
        CallResult {
            vapi_call_id: self.plan.call_id.clone(),
            delivered: self.delivered,
            poison: self.plan.faults.poison,
            report_sent,
        }
    }

    fn heard_transfer(&self) -> bool {
        self.heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|h| h.vapi_call_id == self.plan.call_id && h.outcome == Outcome::Transfer)
    }

    async fn status(&mut self, status: &str) {
        let now = self.clock.now();
        let body = self.body.status(status, now, None);
        if self.plan.faults.reorder && status == "in-progress" {
            // Arrives after the first conversation update.
            self.held.push(("status-update", body));
            return;
        }
        self.deliver_status(body).await;
    }

    async fn deliver_status(&mut self, body: Vec<u8>) {
        if self.plan.faults.drop_status && self.rng.random_bool(0.5) {
            return;
        }
        self.deliver("status-update", body).await;
    }

    /// Conversation for `secs` simulated seconds: a turn and a conversation-update every 1–2 s.
    async fn talk(&mut self, secs: f64) {
        let mut left = secs;
        while left > 0.0 {
            let gap = self.rng.random_range(1.0..2.0_f64).min(left.max(0.1));
            self.clock.sleep(gap).await;
            left -= gap;
            self.turn += 1;
            let (role, line) = if self.turn.is_multiple_of(2) {
                ("bot", BOT_LINES[self.turn % BOT_LINES.len()])
            } else {
                ("user", USER_LINES[self.turn % USER_LINES.len()])
            };
            let now = self.clock.now();
            self.body.say(role, line, now, gap);
            self.conversation().await;
        }
    }

    async fn conversation(&mut self) {
        let body = self.body.conversation_update(self.clock.now());
        self.deliver("conversation-update", body).await;
    }

    /// Sends an asynchronous event (with duplicates when planned), then any held back.
    async fn deliver(&mut self, kind: &'static str, body: Vec<u8>) {
        if self.plan.faults.duplicates && self.rng.random_bool(0.5) {
            let copies = self.rng.random_range(1..=3);
            for _ in 0..copies {
                let delay = self.rng.random_range(0.0..2.0);
                let (sender, clock, body) = (self.sender.clone(), self.clock, body.clone());
                self.duplicates.push(tokio::spawn(async move {
                    clock.sleep(delay).await;
                    sender.send(kind, &body).await.is_some()
                }));
            }
        }
        if self.sender.send(kind, &body).await.is_none() {
            self.delivered = false;
        }
        self.flush().await;
    }

    async fn flush(&mut self) {
        for (kind, body) in std::mem::take(&mut self.held) {
            if self.sender.send(kind, &body).await.is_none() {
                self.delivered = false;
            }
        }
    }

    /// A tool call (sent 1–3 more times at once when duplicates are planned), its answer
    /// remembered and spoken.
    async fn tool(&mut self, id: &str, name: &'static str, args: &serde_json::Value) -> Outcome {
        let now = self.clock.now();
        let body = self.body.tool_call(id, name, args, now);
        let kind = format!("tool-calls:{name}");
        let copies = if self.plan.faults.duplicates && self.rng.random_bool(0.5) {
            self.rng.random_range(1..=3)
        } else {
            0
        };
        let sends = (0..=copies).map(|_| self.sender.send(&kind, &body));
        let answers = futures::future::join_all(sends).await;
        let mut first = Outcome::NoAnswer;
        for (i, answer) in answers.into_iter().enumerate() {
            let text = answer.as_ref().and_then(|a| spoken(&a.body, id));
            let outcome = match &text {
                Some(t) => classify(name, t),
                None => Outcome::NoAnswer,
            };
            if outcome == Outcome::NoAnswer {
                self.delivered = false;
            }
            if i == 0 {
                first = outcome;
                self.sender.stats.outcome(name, outcome);
            }
            self.heard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Heard {
                    vapi_call_id: self.plan.call_id.clone(),
                    tool_call_id: id.to_owned(),
                    tool: name.to_owned(),
                    outcome,
                    text: text.clone().unwrap_or_default(),
                });
            if i == 0 {
                let now = self.clock.now();
                let said = text.unwrap_or_default();
                self.body.tool_result(id, name, &said, now);
                self.body.say("bot", &said, now, 3.0);
            }
        }
        first
    }
}
