//! Scheduled reports (`[reports] monthly`, `quarterly`): on the first day of each month
//! (or quarter), at the configured time of day in the site's zone, last month's (or
//! quarter's) report is made from the journal and its PDF queued in the outbox for each
//! named email channel, where the channel's worker delivers it like any notice: in order,
//! with retries, across restarts.
//!
//! Each row's message id names the site, the schedule, the period and the channel, so a
//! report is queued once however often the daemon restarts; a daemon that was off when a
//! report fell due queues it when it comes back. A period that ended before the journal's
//! first event (a gateway installed since) gets no report. The wait is recomputed at least hourly,
//! so a clock set late at boot (a Pi has no RTC) does not leave a report a month late.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Shutdown;
use crate::config::{Config, Locale, ScheduledReport};
use crate::engine::{Clock, Site};
use crate::escalation::notice::{Attachment, EventInfo, NOTICE_VERSION, Notice, rfc3339};
use crate::escalation::{NoticeKind, SiteInfo};
use crate::journal::{Journal, NewDelivery};
use crate::report::{Report, Setup, pdf, period};

/// The longest the schedule sleeps before looking at the clock again.
const RECHECK: Duration = Duration::from_secs(3600);

/// Which periods a schedule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
}

impl Every {
    fn name(self) -> &'static str {
        match self {
            Every::Month => "monthly",
            Every::Quarter => "quarterly",
        }
    }

    /// The first day of the period `day` is in.
    fn start_of(self, day: Date) -> Date {
        let month = match self {
            Every::Month => day.month(),
            Every::Quarter => (day.month() - 1) / 3 * 3 + 1,
        };
        Date::new(day.year(), month, 1).unwrap_or(day)
    }

    /// The first day of the period after the one starting on `start`.
    fn next_start(self, start: Date) -> Date {
        let months = match self {
            Every::Month => 1,
            Every::Quarter => 3,
        };
        start
            .checked_add(jiff::Span::new().months(months))
            .unwrap_or(start)
    }

    /// How `picket report` names the period that ends the day before `start`:
    /// `2026-11`, `2026-Q4`.
    fn name_of_period_before(self, start: Date) -> String {
        let last = start.yesterday().unwrap_or(start);
        match self {
            Every::Month => format!("{:04}-{:02}", last.year(), last.month()),
            Every::Quarter => format!("{:04}-Q{}", last.year(), (last.month() - 1) / 3 + 1),
        }
    }
}

/// The latest report due by `now_ms` (its period's name) and when the next one falls due.
pub fn due(every: Every, at_min: u32, now_ms: i64, tz: &TimeZone) -> Option<(String, i64)> {
    let now = jiff::Timestamp::from_millisecond(now_ms)
        .ok()?
        .to_zoned(tz.clone());
    let send_at = |day: Date| crate::config::daily::instant(day, at_min, tz);
    let this = every.start_of(now.date());
    let this_send = send_at(this)?;
    if now_ms >= this_send {
        Some((
            every.name_of_period_before(this),
            send_at(every.next_start(this))?,
        ))
    } else {
        let previous = every.start_of(this.yesterday().ok()?);
        Some((every.name_of_period_before(previous), this_send))
    }
}

/// What the schedule needs, taken from the configuration once.
#[derive(Clone)]
pub struct ReportSchedule {
    journal: Journal,
    site: Arc<Site>,
    site_info: SiteInfo,
    setup: Setup,
    tz: TimeZone,
    vi: bool,
    reports: crate::config::Reports,
    schedules: Vec<(Every, u32, Vec<String>)>,
    outbox: tokio::sync::watch::Sender<u64>,
}

impl ReportSchedule {
    /// The schedules `config` asks for; `None` when it asks for none.
    pub fn new(
        config: &Config,
        journal: Journal,
        outbox: tokio::sync::watch::Sender<u64>,
    ) -> Option<ReportSchedule> {
        let entry = |every, s: &Option<ScheduledReport>| {
            s.as_ref().map(|s| {
                let at = crate::config::daily::time_of_day(&s.at).unwrap_or(7 * 60);
                (every, at, s.channels.clone())
            })
        };
        let schedules: Vec<_> = [
            entry(Every::Month, &config.reports.monthly),
            entry(Every::Quarter, &config.reports.quarterly),
        ]
        .into_iter()
        .flatten()
        .collect();
        if schedules.is_empty() {
            return None;
        }
        Some(ReportSchedule {
            journal,
            site: Arc::new(Site::from_config(config)),
            site_info: SiteInfo::from_config(config),
            setup: Setup::from_config(config),
            tz: TimeZone::get(&config.site.timezone).unwrap_or(TimeZone::UTC),
            vi: config.site.locale == Locale::Vi,
            reports: config.reports.clone(),
            schedules,
            outbox,
        })
    }

    fn message_id(&self, every: Every, period: &str, channel: &str) -> String {
        format!(
            "{}:report:{}:{period}:{channel}",
            self.site_info.id,
            every.name()
        )
    }

    /// Queues every report due by `now_ms` and not yet queued; returns the message ids
    /// queued now and when the next report falls due.
    pub async fn queue_due(&self, now_ms: i64) -> Result<(Vec<String>, i64), String> {
        let mut queued = Vec::new();
        let mut next = i64::MAX;
        for (every, at_min, channels) in &self.schedules {
            let Some((period_name, next_due)) = due(*every, *at_min, now_ms, &self.tz) else {
                continue;
            };
            next = next.min(next_due);
            let mut owed = Vec::new();
            for channel in channels {
                let id = self.message_id(*every, &period_name, channel);
                if !self
                    .journal
                    .has_delivery(&id)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    owed.push((channel.clone(), id));
                }
            }
            if owed.is_empty() || !self.journal_reaches_back_to(*every, &period_name).await? {
                continue;
            }
            let (payload, seq) = self.notice(*every, &period_name).await?;
            for (channel, id) in owed {
                let row = NewDelivery {
                    message_id: id.clone(),
                    channel,
                    alarm_id: None,
                    event_seq: seq,
                    tier: 0,
                    due_at_ms: now_ms,
                    payload_json: payload.clone(),
                };
                if self
                    .journal
                    .enqueue_once(&row, now_ms)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    queued.push(id);
                }
            }
        }
        if !queued.is_empty() {
            self.outbox.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok((queued, next))
    }

    /// Whether the journal holds anything from before the end of the period: a gateway
    /// installed after it has nothing to report for it (and sends no empty report).
    async fn journal_reaches_back_to(
        &self,
        every: Every,
        period_name: &str,
    ) -> Result<bool, String> {
        let period = self.period(every, period_name)?;
        let first: Option<i64> = sqlx::query_scalar("SELECT min(at_ms) FROM events")
            .fetch_one(self.journal.pool())
            .await
            .map_err(|e| e.to_string())?;
        Ok(first.is_some_and(|t| t < period.to_ms))
    }

    fn period(&self, every: Every, period_name: &str) -> Result<period::Period, String> {
        match every {
            Every::Month => period::month(period_name, &self.tz),
            Every::Quarter => period::quarter(period_name, &self.tz),
        }
        .map_err(|e| e.to_string())
    }

    /// The report of `period_name` as a notice with its PDF, and the journal event its
    /// figures run to.
    async fn notice(&self, every: Every, period_name: &str) -> Result<(String, i64), String> {
        let period = self.period(every, period_name)?;
        let report = Report::make(
            &self.journal,
            &self.site,
            self.setup.clone(),
            self.tz.clone(),
            period,
            "picket",
            self.vi,
        )
        .await
        .map_err(|e| e.to_string())?;
        let chain = report.figures.chain.clone();
        let (label_vi, label_en) = (
            report.period.label_vi.clone(),
            report.period.label_en.clone(),
        );
        let name = format!("{}.pdf", report.file_stem());
        let reports = self.reports.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            let fonts = pdf::Fonts::load(&reports)?;
            pdf::render(&report, &fonts)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        use base64::Engine as _;
        let notice = Notice {
            version: NOTICE_VERSION,
            kind: NoticeKind::Report,
            site: self.site_info.clone(),
            tier: None,
            alarm: None,
            event: EventInfo {
                seq: chain.last_seq,
                at: rfc3339(chain.last_at_ms),
                at_ms: chain.last_at_ms,
                kind: "report".into(),
                category: "report".into(),
                code: None,
                qualifier: 6,
                area: None,
                area_number: None,
                zone: None,
                zone_number: None,
                sensor: None,
                user: None,
                message_vi: format!("Báo cáo an ninh {label_vi}"),
                message_en: format!("Security report, {label_en}"),
            },
            evidence: Vec::new(),
            attachments: vec![Attachment {
                name,
                content_type: "application/pdf".into(),
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            }],
        };
        let json = serde_json::to_string(&notice).map_err(|e| e.to_string())?;
        Ok((json, chain.last_seq))
    }

    /// Queues reports as they fall due until `shutdown`.
    pub async fn run(self, clock: Arc<dyn Clock>, mut shutdown: Shutdown) {
        loop {
            let now = clock.now().0;
            let wait = match self.queue_due(now).await {
                Ok((queued, next)) => {
                    for id in queued {
                        tracing::info!(message_id = %id, "scheduled report queued");
                    }
                    Duration::from_millis(u64::try_from(next - now).unwrap_or(0)).min(RECHECK)
                }
                Err(e) => {
                    tracing::error!(error = %crate::text::for_log(&e), "scheduled report not made; trying again in an hour");
                    RECHECK
                }
            };
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hanoi() -> TimeZone {
        TimeZone::get("Asia/Ho_Chi_Minh").unwrap()
    }

    fn at(text: &str) -> i64 {
        let tz = hanoi();
        text.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz)
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn the_report_of_the_month_before_falls_due_on_the_first_at_its_time() {
        let tz = hanoi();
        // 1 Dec 06:59 Hanoi: November's is due at 07:00; October's is the latest due.
        assert_eq!(
            due(Every::Month, 420, at("2026-12-01T06:59:59"), &tz),
            Some(("2026-10".into(), at("2026-12-01T07:00:00")))
        );
        assert_eq!(
            due(Every::Month, 420, at("2026-12-01T07:00:00"), &tz),
            Some(("2026-11".into(), at("2027-01-01T07:00:00")))
        );
        // The year turns.
        assert_eq!(
            due(Every::Month, 0, at("2027-01-15T12:00:00"), &tz),
            Some(("2026-12".into(), at("2027-02-01T00:00:00")))
        );
        // Quarters: Q4 is reported on 1 January.
        assert_eq!(
            due(Every::Quarter, 420, at("2027-01-01T07:00:00"), &tz),
            Some(("2026-Q4".into(), at("2027-04-01T07:00:00")))
        );
        assert_eq!(
            due(Every::Quarter, 420, at("2026-12-31T23:00:00"), &tz),
            Some(("2026-Q3".into(), at("2027-01-01T07:00:00")))
        );
        assert_eq!(
            due(Every::Quarter, 420, at("2027-01-01T06:00:00"), &tz),
            Some(("2026-Q3".into(), at("2027-01-01T07:00:00")))
        );
    }
}
