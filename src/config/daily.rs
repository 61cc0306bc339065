//! Times of day as an installer writes them: `HH:MM`, and daily windows `HH:MM-HH:MM`
//! that may run past midnight (`22:00-06:00`), for arming schedules and scheduled reports.

/// Minutes after midnight, 0–1439.
pub fn time_of_day(text: &str) -> Result<u32, String> {
    let bad = || format!("`{text}` is not a time of day; write HH:MM, e.g. 22:00");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || text.trim().len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The instant `minutes` after midnight of `day` in `tz`, ms.
pub fn instant(day: jiff::civil::Date, minutes: u32, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let h = i8::try_from(minutes / 60).ok()?;
    let m = i8::try_from(minutes % 60).ok()?;
    day.at(h, m, 0, 0)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// A window of each day, from `start` to `end` minutes after midnight; it crosses
/// midnight when `end` is not after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    /// Minutes after midnight it begins.
    pub start_min: u32,
    /// Minutes after midnight it ends (the next day when not after `start_min`).
    pub end_min: u32,
}

impl DailyWindow {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<DailyWindow, String> {
        let (start, end) = text.split_once('-').ok_or_else(|| {
            format!("`{text}` is not a window; write HH:MM-HH:MM, e.g. 22:00-06:00")
        })?;
        let within = |e: String| format!("`{text}`: {e}; the window is HH:MM-HH:MM");
        let (start_min, end_min) = (
            time_of_day(start).map_err(within)?,
            time_of_day(end).map_err(within)?,
        );
        if start_min == end_min {
            return Err(format!("`{text}` starts and ends at the same time"));
        }
        Ok(DailyWindow { start_min, end_min })
    }

    /// How long the window lasts, minutes.
    pub fn length_min(&self) -> u32 {
        if self.end_min > self.start_min {
            self.end_min - self.start_min
        } else {
            24 * 60 - self.start_min + self.end_min
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_may_cross_midnight_and_mistakes_are_named() {
        let night = DailyWindow::parse("22:00-06:00").unwrap();
        assert_eq!(
            (night.start_min, night.end_min, night.length_min()),
            (1320, 360, 480)
        );
        assert_eq!(DailyWindow::parse("08:30-17:00").unwrap().length_min(), 510);
        assert!(
            DailyWindow::parse("22:00")
                .unwrap_err()
                .contains("HH:MM-HH:MM")
        );
        assert!(
            DailyWindow::parse("25:00-06:00")
                .unwrap_err()
                .contains("`25:00`")
        );
        assert!(DailyWindow::parse("6:00-07:00").is_err());
        assert!(DailyWindow::parse("06:00-06:00").is_err());
        assert_eq!(time_of_day("07:00"), Ok(420));
    }
}
