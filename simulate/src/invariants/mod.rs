//! The invariant report: each line pass/fail with what was checked, and for a failure the call
//! and its workflow id, so the history can be opened in the Temporal UI.

pub mod db;
pub(crate) mod heard;
pub(crate) mod temporal;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub name: String,
    pub pass: bool,
    /// How many things were checked (calls, users, appointments, …).
    pub checked: usize,
    /// The first violations (each names the call and workflow when there is one).
    pub violations: Vec<String>,
    /// All violations, however many.
    pub violation_count: usize,
}

const SHOWN: usize = 10;

impl Line {
    pub(crate) fn new(name: &str, checked: usize, violations: Vec<String>) -> Self {
        Self {
            name: name.to_owned(),
            pass: violations.is_empty(),
            checked,
            violation_count: violations.len(),
            violations: violations.into_iter().take(SHOWN).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.pass)
    }

    pub fn print(&self) {
        println!("\ninvariants");
        for l in &self.lines {
            println!(
                "  {}  {} ({} checked{})",
                if l.pass { "pass" } else { "FAIL" },
                l.name,
                l.checked,
                if l.pass {
                    String::new()
                } else {
                    format!(", {} violation(s)", l.violation_count)
                }
            );
            for v in &l.violations {
                println!("        {v}");
            }
        }
        println!(
            "  {}",
            if self.passed() {
                "all invariants pass"
            } else {
                "SOME INVARIANTS FAIL"
            }
        );
    }
}

/// `call <id> (workflow call-<id>)`: how a violation names a call.
pub(crate) fn call_ref(vapi_call_id: &str) -> String {
    format!(
        "call {vapi_call_id} (workflow {})",
        callsaga_workflows::call_workflow_id(vapi_call_id)
    )
}
