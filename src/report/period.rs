//! The period a report covers, in the site's time zone: a calendar month, a quarter, the
//! assessment year of Circular 124/2021/TT-BCA (16 November of the year before to
//! 15 November, both whole days) or any two dates. A period is half-open, `[from, to)`,
//! so an event one millisecond before midnight belongs to the day it happened on.

use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A period: its bounds (ms since the epoch) and how people name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// First instant in the period.
    pub from_ms: i64,
    /// First instant after the period.
    pub to_ms: i64,
    /// The period in Vietnamese: `Tháng 11/2026`, `Quý 4/2026`, `Năm đánh giá 2026`.
    pub label_vi: String,
    /// The period in English: `November 2026`, `2026 Q4`, `Assessment year 2026`.
    pub label_en: String,
    /// The first day (site time), for file names.
    pub first_day: Date,
    /// The last day (site time).
    pub last_day: Date,
}

/// What was wrong with a period as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodError(pub String);

impl std::fmt::Display for PeriodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeriodError {}

/// Midnight at the start of `day` in `tz`, in ms.
fn midnight(day: Date, tz: &TimeZone) -> Result<i64, PeriodError> {
    day.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| PeriodError(format!("{day}: {e}")))
}

/// The days `first..=last` in `tz`.
pub fn days(
    first: Date,
    last: Date,
    tz: &TimeZone,
    label_vi: String,
    label_en: String,
) -> Result<Period, PeriodError> {
    if last < first {
        return Err(PeriodError(format!("{last} is before {first}")));
    }
    let after = last
        .tomorrow()
        .map_err(|e| PeriodError(format!("{last}: {e}")))?;
    Ok(Period {
        from_ms: midnight(first, tz)?,
        to_ms: midnight(after, tz)?,
        label_vi,
        label_en,
        first_day: first,
        last_day: last,
    })
}

fn date(year: i16, month: i8, day: i8) -> Result<Date, PeriodError> {
    Date::new(year, month, day).map_err(|e| PeriodError(format!("{year}-{month:02}-{day:02}: {e}")))
}

/// `YYYY-MM`: that calendar month.
pub fn month(text: &str, tz: &TimeZone) -> Result<Period, PeriodError> {
    let bad = || PeriodError(format!("--month {text:?}: expected YYYY-MM, e.g. 2026-11"));
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let (year, month): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let first = date(year, month, 1).map_err(|_| bad())?;
    days(
        first,
        first.last_of_month(),
        tz,
        format!("Tháng {month:02}/{year}"),
        format!("{} {year}", first.strftime("%B")),
    )
}

/// `YYYY-Qn`: that calendar quarter.
pub fn quarter(text: &str, tz: &TimeZone) -> Result<Period, PeriodError> {
    let bad = || {
        PeriodError(format!(
            "--quarter {text:?}: expected YYYY-Qn, e.g. 2026-Q4"
        ))
    };
    let (y, q) = text.trim().split_once(['-']).ok_or_else(bad)?;
    let year: i16 = y.parse().map_err(|_| bad())?;
    let q: i8 = q
        .strip_prefix(['Q', 'q'])
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=4).contains(n))
        .ok_or_else(bad)?;
    let first = date(year, (q - 1) * 3 + 1, 1)?;
    let last = date(year, q * 3, 1)?.last_of_month();
    days(
        first,
        last,
        tz,
        format!("Quý {q}/{year}"),
        format!("{year} Q{q}"),
    )
}

/// `YYYY`: the assessment year ending in YYYY, 16 November of YYYY-1 to 15 November of
/// YYYY (the dossier is due by 20 November).
pub fn assessment_year(text: &str, tz: &TimeZone) -> Result<Period, PeriodError> {
    let bad = || {
        PeriodError(format!(
            "--assessment-year {text:?}: expected YYYY, e.g. 2026"
        ))
    };
    let year: i16 = text.trim().parse().map_err(|_| bad())?;
    days(
        date(year - 1, 11, 16)?,
        date(year, 11, 15)?,
        tz,
        format!("Năm đánh giá {year} (16/11/{} – 15/11/{year})", year - 1),
        format!(
            "Assessment year {year} (16 Nov {} – 15 Nov {year})",
            year - 1
        ),
    )
}

/// `--from YYYY-MM-DD --to YYYY-MM-DD`, both days whole.
pub fn between(from: &str, to: &str, tz: &TimeZone) -> Result<Period, PeriodError> {
    let parse = |flag: &str, s: &str| {
        s.trim()
            .parse::<Date>()
            .map_err(|_| PeriodError(format!("{flag} {s:?}: expected YYYY-MM-DD")))
    };
    let (first, last) = (parse("--from", from)?, parse("--to", to)?);
    days(
        first,
        last,
        tz,
        format!(
            "{} – {}",
            first.strftime("%d/%m/%Y"),
            last.strftime("%d/%m/%Y")
        ),
        format!("{first} – {last}"),
    )
}

impl Period {
    /// Is `at_ms` inside?
    pub fn contains(&self, at_ms: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&at_ms)
    }

    /// How long the period is, in ms.
    pub fn length_ms(&self) -> i64 {
        self.to_ms - self.from_ms
    }

    /// Its days (site time), first to last.
    pub fn days(&self) -> impl Iterator<Item = Date> + use<> {
        let last = self.last_day;
        std::iter::successors(Some(self.first_day), move |d| {
            d.tomorrow().ok().filter(|next| *next <= last)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hanoi() -> TimeZone {
        TimeZone::get("Asia/Ho_Chi_Minh").unwrap()
    }

    /// ms of a site-time instant.
    fn at(s: &str) -> i64 {
        s.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(hanoi())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn a_month_runs_from_its_first_midnight_to_the_next_months_in_site_time() {
        let p = month("2026-11", &hanoi()).unwrap();
        assert!(!p.contains(at("2026-10-31T23:59:59")));
        assert!(p.contains(at("2026-11-01T00:00:00")));
        assert!(p.contains(at("2026-11-30T23:59:59")));
        assert!(!p.contains(at("2026-12-01T00:00:00")));
        // Midnight in Hanoi is 17:00 UTC the day before.
        assert_eq!(p.from_ms, 1_793_466_000_000);
        assert_eq!(p.label_vi, "Tháng 11/2026");
        assert_eq!(p.label_en, "November 2026");
        let feb = month("2028-02", &hanoi()).unwrap();
        assert_eq!(feb.last_day, Date::constant(2028, 2, 29));
    }

    #[test]
    fn a_quarter_is_three_months() {
        let p = quarter("2026-Q4", &hanoi()).unwrap();
        assert!(!p.contains(at("2026-09-30T23:59:59")));
        assert!(p.contains(at("2026-10-01T00:00:00")));
        assert!(p.contains(at("2026-12-31T23:59:59")));
        assert!(!p.contains(at("2027-01-01T00:00:00")));
        assert_eq!(p.label_vi, "Quý 4/2026");
        assert!(quarter("2026-Q5", &hanoi()).is_err());
    }

    #[test]
    fn the_assessment_year_runs_from_16_november_to_15_november() {
        let p = assessment_year("2026", &hanoi()).unwrap();
        assert!(!p.contains(at("2025-11-15T23:59:59")));
        assert!(p.contains(at("2025-11-16T00:00:00")));
        assert!(p.contains(at("2026-11-15T23:59:59")));
        assert!(!p.contains(at("2026-11-16T00:00:00")));
        assert_eq!(p.length_ms(), 365 * 86_400_000);
    }

    #[test]
    fn two_dates_include_both_days_and_mistakes_are_named() {
        let p = between("2026-11-03", "2026-11-04", &hanoi()).unwrap();
        assert!(p.contains(at("2026-11-04T23:59:59")));
        assert!(!p.contains(at("2026-11-05T00:00:00")));
        assert_eq!(
            between("2026-11-05", "2026-11-04", &hanoi()).unwrap_err().0,
            "2026-11-04 is before 2026-11-05"
        );
        assert!(
            month("11/2026", &hanoi())
                .unwrap_err()
                .0
                .contains("YYYY-MM")
        );
        assert!(
            between("x", "2026-11-04", &hanoi())
                .unwrap_err()
                .0
                .contains("--from")
        );
    }
}
