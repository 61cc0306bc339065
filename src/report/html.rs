//! A report as one printable HTML file (A4, self-contained: its style is inside, nothing
//! is fetched), in the report's language, every value escaped by the template.

use askama::Template;

use super::figures::{AlarmLine, Spread, count_by};
use super::{Report, ReportError};

/// A row of label and value.
pub struct Pair {
    label: String,
    value: String,
}

/// The page's words and the report's rows, ready to print.
#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    lang: &'static str,
    r: &'a Report,
    title: String,
    period: String,
    summary: Vec<Pair>,
    by_category: Vec<(String, usize)>,
    by_area: Vec<(String, usize)>,
    busiest_zones: Vec<(String, usize)>,
    by_resolution: Vec<(String, usize)>,
    times: Vec<(String, Spread)>,
    incidents: Vec<Vec<String>>,
    alarms: Vec<Vec<String>>,
}

impl ReportPage<'_> {
    fn say<'b>(&self, vi: &'b str, en: &'b str) -> &'b str {
        self.r.say(vi, en)
    }

    /// A duration, for the template (which passes references).
    fn d(&self, ms: &i64) -> String {
        Report::duration(*ms)
    }

    /// A time in the site's zone, for the template.
    fn t(&self, ms: &i64) -> String {
        self.r.time(*ms)
    }
}

fn alarm_row(r: &Report, a: &AlarmLine) -> Vec<String> {
    vec![
        a.id.to_string(),
        r.time(a.raised_at_ms),
        format!("{} ({})", a.category, a.code),
        format!("{}, {}", r.name(&a.zone), r.name(&a.area)),
        if a.confirmed {
            r.say("có", "yes")
        } else {
            r.say("không", "no")
        }
        .to_string(),
        a.acknowledged
            .as_ref()
            .map(|(w, t)| format!("{w}, {}", Report::duration(t - a.raised_at_ms)))
            .unwrap_or_default(),
        a.resolved
            .as_ref()
            .map(|(w, t)| format!("{w}, {}", Report::duration(t - a.raised_at_ms)))
            .unwrap_or_default(),
        a.resolution.clone(),
    ]
}

/// The report as HTML.
pub fn render(r: &Report) -> Result<String, ReportError> {
    let f = &r.figures;
    let confirmed = f.alarms.iter().filter(|a| a.confirmed).count();
    let pair = |label: &str, value: String| Pair {
        label: label.to_string(),
        value,
    };
    let summary = vec![
        pair(r.say("Người lập", "Made by"), r.made_by.clone()),
        pair(
            r.say("Số liệu tính đến", "Figures as of"),
            format!(
                "{} #{} ({})",
                r.say("sự kiện", "event"),
                f.chain.last_seq,
                r.time(f.chain.last_at_ms)
            ),
        ),
        pair(
            r.say("Mã băm sự kiện cuối", "Last event hash"),
            f.chain.last_hash.clone(),
        ),
        pair(
            r.say("Chuỗi băm của nhật ký", "Journal hash chain"),
            r.chain_text(),
        ),
        pair(r.say("Tệp bằng chứng", "Evidence files"), r.evidence_text()),
        pair(
            r.say("Tổng số báo động", "Alarms"),
            f.alarms.len().to_string(),
        ),
        pair(
            r.say("Đã xác minh / chưa xác minh", "Confirmed / unconfirmed"),
            format!("{confirmed} / {}", f.alarms.len() - confirmed),
        ),
        pair(
            r.say("Tỉ lệ báo nhầm", "False-alarm rate"),
            format!("{:.1}%", f.false_alarm_rate() * 100.0),
        ),
    ];
    let mut times = vec![
        (
            r.say("Từ báo động đến xác nhận", "Raised to acknowledged")
                .to_string(),
            f.to_acknowledge,
        ),
        (
            r.say("Từ báo động đến xử lý xong", "Raised to resolved")
                .to_string(),
            f.to_resolve,
        ),
    ];
    for c in &f.channels {
        times.push((
            format!("{}: {}", r.say("Gửi tới", "Delivered to"), c.channel),
            c.time,
        ));
    }
    let mut busiest_zones = count_by(&f.alarms, |a| r.name(&a.zone));
    busiest_zones.truncate(5);
    let page = ReportPage {
        lang: if r.vi { "vi" } else { "en" },
        r,
        title: format!(
            "{} — {}",
            r.say("Báo cáo an ninh", "Security report"),
            r.site_name
        ),
        period: if r.vi {
            r.period.label_vi.clone()
        } else {
            r.period.label_en.clone()
        },
        summary,
        by_category: count_by(&f.alarms, |a| a.category.clone()),
        by_area: count_by(&f.alarms, |a| r.name(&a.area)),
        busiest_zones,
        by_resolution: count_by(&f.alarms, |a| a.resolution.clone()),
        times,
        incidents: f
            .incidents()
            .into_iter()
            .map(|a| {
                let mut row = alarm_row(r, a);
                row.push(a.note.clone());
                row
            })
            .collect(),
        alarms: f.alarms.iter().map(|a| alarm_row(r, a)).collect(),
    };
    page.render()
        .map_err(|e| ReportError::Output(e.to_string()))
}
