//! Arming against each area's schedule (`[[areas]] arm_schedule`): for every day of the
//! period whose window has begun (and whose grace has passed), whether the area was armed
//! on time (armed when the grace ran out), late (armed later within the window: when and
//! by whom), or missed (not armed at all in the window).

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::period::Period;
use super::setup::Schedule;

/// One day's window that was not armed on time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateArming {
    /// The day the window began (site time).
    pub day: Date,
    /// When it should have been armed, ms.
    pub due_ms: i64,
    /// When it was armed, and by whom; `None` when it was missed.
    pub armed: Option<(i64, String)>,
}

/// An area's arming against its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleLine {
    /// Area id.
    pub area: String,
    /// The schedule, as written.
    pub window: String,
    /// Windows counted.
    pub windows: usize,
    /// Armed on time.
    pub on_time: usize,
    /// Armed late, and missed, each with its day.
    pub exceptions: Vec<LateArming>,
}

impl ScheduleLine {
    /// How many were late (armed after the grace).
    pub fn late(&self) -> usize {
        self.exceptions.iter().filter(|e| e.armed.is_some()).count()
    }

    /// How many were missed.
    pub fn missed(&self) -> usize {
        self.exceptions.iter().filter(|e| e.armed.is_none()).count()
    }
}

/// The schedule's figures for `area` over `period`, counting windows whose grace ended
/// before `until` (the end of the period or of the journal).
pub fn compute(
    changes: &super::figures::ArmingChanges,
    area: &str,
    schedule: &Schedule,
    period: &Period,
    tz: &TimeZone,
    until: i64,
) -> ScheduleLine {
    let changes: Vec<(&str, i64, Option<&str>)> = changes
        .iter()
        .filter(|c| c.0 == area)
        .map(|c| (c.1.as_str(), c.2, c.3.as_deref()))
        .collect();
    let w = schedule.window;
    let mut line = ScheduleLine {
        area: area.to_string(),
        window: format!(
            "{:02}:{:02}-{:02}:{:02}",
            w.start_min / 60,
            w.start_min % 60,
            w.end_min / 60,
            w.end_min % 60
        ),
        windows: 0,
        on_time: 0,
        exceptions: Vec::new(),
    };
    // The changes are in journal order, which is time order: search, do not scan.
    let after = |t: i64| changes.partition_point(|(_, at, _)| *at <= t);
    let armed_at = |t: i64| -> bool {
        after(t)
            .checked_sub(1)
            .and_then(|i| changes.get(i))
            .is_some_and(|(kind, ..)| *kind == "armed")
    };
    for day in period.days() {
        let Some(start) = crate::config::daily::instant(day, w.start_min, tz) else {
            break;
        };
        let end = start + i64::from(w.length_min()) * 60_000;
        let due = start + i64::from(schedule.grace_min) * 60_000;
        if due >= until {
            break;
        }
        if start >= period.from_ms {
            line.windows += 1;
            if armed_at(due) {
                line.on_time += 1;
            } else {
                let armed = changes
                    .get(after(due)..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|(_, at, _)| *at < end)
                    .find(|(kind, ..)| *kind == "armed")
                    .map(|(_, at, who)| (*at, who.unwrap_or_default().to_string()));
                line.exceptions.push(LateArming {
                    day,
                    due_ms: due,
                    armed,
                });
            }
        }
    }
    line
}
