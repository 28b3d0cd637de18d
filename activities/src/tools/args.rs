//! Reading tool arguments: strings (or numbers) by name, parsed leniently, with speakable
//! clarifications when something cannot be understood.

use super::context::AgentContext;
use crate::availability::{
    ArgError, TimeOfDay, argument_text, parse_date, parse_duration_minutes, parse_time,
    parse_time_of_day,
};
use chrono::{NaiveDate, NaiveTime};
use serde_json::Value;

pub(crate) struct Args<'a> {
    args: &'a Value,
    ctx: &'a AgentContext,
    today: NaiveDate,
}

/// A speakable reason the tool cannot proceed (as an `error` answer).
pub(crate) type Clarify = String;

impl<'a> Args<'a> {
    pub(crate) fn new(args: &'a Value, ctx: &'a AgentContext, today: NaiveDate) -> Self {
        Self { args, ctx, today }
    }

    pub(crate) fn text(&self, key: &str) -> Option<String> {
        argument_text(self.args, key)
    }

    fn clarify(&self, e: &ArgError) -> Clarify {
        e.clarification(self.ctx.lang)
    }

    pub(crate) fn date(&self, key: &'static str) -> Result<NaiveDate, Clarify> {
        let raw = self
            .text(key)
            .ok_or_else(|| self.clarify(&ArgError::Missing(key)))?;
        parse_date(&raw, self.today).map_err(|e| self.clarify(&e))
    }

    pub(crate) fn opt_date(&self, key: &'static str) -> Result<Option<NaiveDate>, Clarify> {
        self.text(key)
            .map(|raw| parse_date(&raw, self.today).map_err(|e| self.clarify(&e)))
            .transpose()
    }

    pub(crate) fn time(&self, key: &'static str) -> Result<NaiveTime, Clarify> {
        let raw = self
            .text(key)
            .ok_or_else(|| self.clarify(&ArgError::Missing(key)))?;
        parse_time(&raw).map_err(|e| self.clarify(&e))
    }

    pub(crate) fn time_of_day(&self) -> Result<Option<TimeOfDay>, Clarify> {
        self.text("timeOfDay")
            .map(|raw| parse_time_of_day(&raw).map_err(|e| self.clarify(&e)))
            .transpose()
    }

    pub(crate) fn duration(&self) -> Result<u32, Clarify> {
        match self.text("durationMinutes") {
            Some(raw) => parse_duration_minutes(&raw).map_err(|e| self.clarify(&e)),
            None => Ok(self.ctx.duration_minutes()),
        }
    }
}
