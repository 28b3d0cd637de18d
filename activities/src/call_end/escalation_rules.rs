//! Pure escalation rules: can an operator take the call now, and how should the transfer go.

use crate::availability::{BusinessHours, Tz};
use chrono::{DateTime, Datelike, Timelike, Utc};

/// What the escalation configuration allows right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Transfer to `number`, warm (with an operator briefing) or blind.
    Transfer { number: String, warm: bool },
    /// Nobody can take the call: ask an operator to call back.
    Callback { why: CallbackWhy },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackWhy {
    Disabled,
    NoNumbers,
    AfterHours,
}

pub struct EscalationRules<'a> {
    pub enabled: bool,
    pub forwarding_numbers: &'a [String],
    pub warm: bool,
    pub hours: Option<&'a BusinessHours>,
    pub tz: Tz,
}

impl EscalationRules<'_> {
    /// Whether operators are on duty at `now` (no hours configured: always).
    pub fn on_duty(&self, now: DateTime<Utc>) -> bool {
        let Some(hours) = self.hours else {
            return true;
        };
        let local = now.with_timezone(&self.tz);
        let minute = local.hour() * 60 + local.minute();
        hours
            .intervals(local.weekday())
            .iter()
            .any(|&(open, close)| u32::from(open) <= minute && minute < u32::from(close))
    }

    pub fn route(&self, now: DateTime<Utc>) -> Route {
        if !self.enabled {
            return Route::Callback {
                why: CallbackWhy::Disabled,
            };
        }
        let Some(number) = self.forwarding_numbers.first() else {
            return Route::Callback {
                why: CallbackWhy::NoNumbers,
            };
        };
        if !self.on_duty(now) {
            return Route::Callback {
                why: CallbackWhy::AfterHours,
            };
        }
        Route::Transfer {
            number: number.clone(),
            warm: self.warm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hours() -> BusinessHours {
        BusinessHours::from_json(&serde_json::json!({
            "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [], "thu": [],
            "fri": [], "sat": [], "sun": []
        }))
        .unwrap()
    }

    #[test]
    fn routes_by_configuration_and_local_time() {
        let h = hours();
        let numbers = vec!["+4930987654321".to_owned()];
        let rules = EscalationRules {
            enabled: true,
            forwarding_numbers: &numbers,
            warm: true,
            hours: Some(&h),
            tz: chrono_tz::Europe::Berlin,
        };
        // Monday 2026-11-23 08:30 UTC = 09:30 Berlin: on duty.
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 8, 30, 0).unwrap();
        assert_eq!(
            rules.route(monday),
            Route::Transfer {
                number: numbers[0].clone(),
                warm: true
            }
        );
        // 16:30 UTC = 17:30 Berlin: after hours.
        let evening = Utc.with_ymd_and_hms(2026, 11, 23, 16, 30, 0).unwrap();
        assert_eq!(
            rules.route(evening),
            Route::Callback {
                why: CallbackWhy::AfterHours
            }
        );
        // Summer time: 2026-07-06 (Mon) 07:30 UTC = 09:30 Berlin (CEST).
        let summer = Utc.with_ymd_and_hms(2026, 7, 6, 7, 30, 0).unwrap();
        assert!(rules.on_duty(summer));
        let none: Vec<String> = Vec::new();
        let no_numbers = EscalationRules {
            forwarding_numbers: &none,
            ..rules
        };
        assert_eq!(
            no_numbers.route(monday),
            Route::Callback {
                why: CallbackWhy::NoNumbers
            }
        );
    }
}
