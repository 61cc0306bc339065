//! Reports for the periodic security reviews that Vietnam's industrial-zone enterprises
//! hold (monthly, quarterly, and the assessment year of Circular 124/2021/TT-BCA): what
//! happened at the gate, how fast it was handled, who did what, and whether the journal
//! still holds, whether the equipment worked, computed only from the journal and written
//! as PDF, as printable HTML and as CSV (one file per table). The same journal and period
//! give byte-identical HTML and CSV: a report
//! is dated by the journal's last event (its sequence number, time and hash), not by the
//! clock, so a printed copy can be checked against the journal later.

pub mod chart;
pub mod csv;
pub mod document;
pub mod equipment;
pub mod figures;
pub mod html;
pub mod pdf;
pub mod period;
pub mod schedule;
pub mod setup;

use jiff::tz::TimeZone;

pub use figures::Figures;
pub use period::Period;
pub use setup::Setup;

/// What went wrong making a report.
#[derive(Debug)]
pub enum ReportError {
    /// The period asked for.
    Period(period::PeriodError),
    /// Reading the journal.
    Journal(String),
    /// Rendering or writing a file.
    Output(String),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Period(e) => write!(f, "{e}"),
            ReportError::Journal(e) => write!(f, "reading the journal: {e}"),
            ReportError::Output(e) => write!(f, "writing the report: {e}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<period::PeriodError> for ReportError {
    fn from(e: period::PeriodError) -> Self {
        ReportError::Period(e)
    }
}

/// A report: whose, for when, by whom, and its figures.
pub struct Report {
    /// The site's name.
    pub site_name: String,
    /// The period.
    pub period: Period,
    /// Who made it.
    pub made_by: String,
    /// Vietnamese (`true`) or English.
    pub vi: bool,
    /// The site's time zone, for every time shown.
    pub tz: TimeZone,
    /// Area id → name, zone id → name, in the report's language.
    pub names: std::collections::BTreeMap<String, String>,
    /// The figures.
    pub figures: Figures,
    /// What the configuration told it (tier names, schedules).
    pub setup: Setup,
}

impl Report {
    /// Makes the report of `period` from `journal`.
    pub async fn make(
        journal: &crate::journal::Journal,
        site: &crate::engine::Site,
        setup: Setup,
        tz: TimeZone,
        period: Period,
        made_by: &str,
        vi: bool,
    ) -> Result<Report, ReportError> {
        let areas: Vec<String> = site.areas.keys().cloned().collect();
        let figures = figures::compute(journal, &period, &areas, &setup, &tz, vi).await?;
        let pick = |n: &crate::engine::site::Names| if vi { n.vi.clone() } else { n.en.clone() };
        let mut names = std::collections::BTreeMap::new();
        for a in site.areas.values() {
            names.insert(a.id.clone(), pick(&a.names));
        }
        for z in site.zones.values() {
            names.insert(z.id.clone(), pick(&z.names));
        }
        for s in site.sensors.values() {
            names.entry(s.id.clone()).or_insert_with(|| pick(&s.names));
        }
        Ok(Report {
            site_name: site.name.clone(),
            period,
            made_by: made_by.to_string(),
            vi,
            tz,
            names,
            figures,
            setup,
        })
    }

    /// The Vietnamese or the English.
    pub fn say<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        if self.vi { vi } else { en }
    }

    /// An area's or zone's name (its id when the site no longer has it).
    pub fn name(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// `2026-11-03 02:14:05` in the site's zone.
    pub fn time(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// A duration as people read it: `45.0 s`, `12 min 05 s`, `3 h 20 min`.
    pub fn duration(ms: i64) -> String {
        let s = ms.max(0) / 1000;
        if ms < 120_000 {
            format!("{:.1} s", ms.max(0) as f64 / 1000.0)
        } else if s < 7200 {
            format!("{} min {:02} s", s / 60, s % 60)
        } else {
            format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
        }
    }

    /// The hash chain's verdict: `nguyên vẹn (N sự kiện)` or `BỊ PHÁ VỠ tại sự kiện #N: why`.
    pub fn chain_text(&self) -> String {
        let chain = &self.figures.chain;
        match &chain.broken {
            None => format!(
                "{} ({} {})",
                self.say("nguyên vẹn", "intact"),
                chain.checked,
                self.say("sự kiện đã kiểm tra", "events checked")
            ),
            Some((seq, why)) => format!(
                "{} #{seq}: {why}",
                self.say("BỊ PHÁ VỠ tại sự kiện", "BROKEN at event")
            ),
        }
    }

    /// The evidence check: `3 tệp ghi trong kỳ, tất cả khớp chuỗi băm` or the problems.
    pub fn evidence_text(&self) -> String {
        let e = &self.figures.evidence;
        if e.problems.is_empty() {
            format!(
                "{} {}",
                e.recorded,
                self.say(
                    "tệp ghi trong kỳ, tất cả khớp chuỗi băm",
                    "files recorded in the period, all matching the chain"
                )
            )
        } else {
            let list: Vec<String> = e
                .problems
                .iter()
                .map(|(alarm, file, why)| format!("#{alarm} {file}: {why}"))
                .collect();
            format!(
                "{} {}: {}",
                e.problems.len(),
                self.say("tệp KHÔNG KHỚP chuỗi băm", "files DO NOT MATCH the chain"),
                list.join("; ")
            )
        }
    }

    /// The base of the report's file names: `picket-report-2026-11-01-2026-11-30`.
    pub fn file_stem(&self) -> String {
        format!(
            "picket-report-{}-{}",
            self.period.first_day, self.period.last_day
        )
    }
}
