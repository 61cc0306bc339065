//! A report as CSV, one file per table, UTF-8 with a byte-order mark so that Excel shows
//! the Vietnamese diacritics; headers in the report's language, times in the site's zone,
//! durations in seconds (for a spreadsheet to compute with).

use super::Report;
use super::figures::{AlarmLine, Spread, count_by};
use crate::text::csv_field;

/// The byte-order mark Excel needs to read UTF-8.
const BOM: &str = "\u{feff}";

/// One table: its header and rows.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn text(&self) -> String {
        let mut out = String::from(BOM);
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

fn seconds(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

fn spread_row(name: &str, s: &Spread) -> Vec<String> {
    vec![
        name.to_string(),
        s.count.to_string(),
        seconds(s.median_ms),
        seconds(s.p90_ms),
        seconds(s.max_ms),
    ]
}

/// The report's CSV files: (file name, contents).
pub fn files(r: &Report) -> Vec<(String, String)> {
    let f = &r.figures;
    let stem = r.file_stem();
    let mut out = Vec::new();
    let mut add = |name: &str, table: Table| out.push((format!("{stem}-{name}.csv"), table.text()));

    let mut summary = Table::new(&[r.say("Mục", "Item"), r.say("Giá trị", "Value")]);
    let confirmed = f.alarms.iter().filter(|a| a.confirmed).count();
    for (k, v) in [
        (r.say("Cơ sở", "Site"), r.site_name.clone()),
        (
            r.say("Kỳ báo cáo", "Period"),
            if r.vi {
                r.period.label_vi.clone()
            } else {
                r.period.label_en.clone()
            },
        ),
        (r.say("Từ", "From"), r.time(r.period.from_ms)),
        (r.say("Đến trước", "Until"), r.time(r.period.to_ms)),
        (r.say("Người lập", "Made by"), r.made_by.clone()),
        (r.say("Báo động", "Alarms"), f.alarms.len().to_string()),
        (r.say("Đã xác minh", "Confirmed"), confirmed.to_string()),
        (
            r.say("Chưa xác minh", "Unconfirmed"),
            (f.alarms.len() - confirmed).to_string(),
        ),
        (
            r.say("Tỉ lệ báo nhầm", "False-alarm rate"),
            format!("{:.1}%", f.false_alarm_rate() * 100.0),
        ),
        (
            r.say("Sự kiện cuối của nhật ký", "Journal's last event"),
            f.chain.last_seq.to_string(),
        ),
        (
            r.say("Thời điểm sự kiện cuối", "Last event at"),
            if f.chain.last_seq == 0 {
                String::new()
            } else {
                r.time(f.chain.last_at_ms)
            },
        ),
        (
            r.say("Mã băm sự kiện cuối", "Last event hash"),
            f.chain.last_hash.clone(),
        ),
        (r.say("Chuỗi băm", "Hash chain"), r.chain_text()),
        (r.say("Tệp bằng chứng", "Evidence files"), r.evidence_text()),
    ] {
        summary.push(vec![k.to_string(), v]);
    }
    add("summary", summary);

    let mut alarms = Table::new(&[
        r.say("Sự kiện", "Event"),
        r.say("Báo động", "Alarm"),
        r.say("Thời điểm", "Raised at"),
        r.say("Loại", "Category"),
        "Contact ID",
        r.say("Khu vực", "Area"),
        r.say("Vùng", "Zone"),
        r.say("Đã xác minh", "Confirmed"),
        r.say("Đã hủy", "Cancelled"),
        r.say("Người xác nhận", "Acknowledged by"),
        r.say("Xác nhận sau (s)", "To acknowledge (s)"),
        r.say("Người xử lý", "Resolved by"),
        r.say("Xử lý sau (s)", "To resolve (s)"),
        r.say("Kết luận", "Resolution"),
        r.say("Ghi chú", "Note"),
    ]);
    for a in &f.alarms {
        let yes = |b: bool| {
            if b {
                r.say("có", "yes")
            } else {
                r.say("không", "no")
            }
            .to_string()
        };
        alarms.push(vec![
            a.seq.to_string(),
            a.id.to_string(),
            r.time(a.raised_at_ms),
            a.category.clone(),
            a.code.to_string(),
            r.name(&a.area),
            r.name(&a.zone),
            yes(a.confirmed),
            yes(a.cancelled),
            a.acknowledged
                .as_ref()
                .map(|(w, _)| w.clone())
                .unwrap_or_default(),
            a.acknowledged
                .as_ref()
                .map(|(_, t)| seconds(t - a.raised_at_ms))
                .unwrap_or_default(),
            a.resolved
                .as_ref()
                .map(|(w, _)| w.clone())
                .unwrap_or_default(),
            a.resolved
                .as_ref()
                .map(|(_, t)| seconds(t - a.raised_at_ms))
                .unwrap_or_default(),
            a.resolution.clone(),
            a.note.clone(),
        ]);
    }
    add("alarms", alarms);

    let by = |vi: &str, en: &str, key: &dyn Fn(&AlarmLine) -> String| {
        let mut t = Table::new(&[r.say(vi, en), r.say("Số báo động", "Alarms")]);
        for (k, n) in count_by(&f.alarms, key) {
            t.push(vec![k, n.to_string()]);
        }
        t
    };
    add(
        "by-category",
        by("Loại", "Category", &|a| a.category.clone()),
    );
    add("by-area", by("Khu vực", "Area", &|a| r.name(&a.area)));
    add("by-zone", by("Vùng", "Zone", &|a| r.name(&a.zone)));
    add(
        "by-resolution",
        by("Kết luận", "Resolution", &|a| a.resolution.clone()),
    );

    let mut times = Table::new(&[
        r.say("Thời gian", "Time"),
        r.say("Số lượng", "Count"),
        r.say("Trung vị (s)", "Median (s)"),
        "p90 (s)",
        r.say("Lớn nhất (s)", "Max (s)"),
    ]);
    times.push(spread_row(
        r.say("Từ báo động đến xác nhận", "Raised to acknowledged"),
        &f.to_acknowledge,
    ));
    times.push(spread_row(
        r.say("Từ báo động đến xử lý xong", "Raised to resolved"),
        &f.to_resolve,
    ));
    for t in &f.by_tier {
        let tier = r.setup.tier_name(t.tier, r.vi);
        times.push(spread_row(
            &format!(
                "{} {tier}: {}",
                r.say("Cấp", "Tier"),
                r.say("xác nhận", "acknowledged")
            ),
            &t.to_acknowledge,
        ));
        times.push(spread_row(
            &format!(
                "{} {tier}: {}",
                r.say("Cấp", "Tier"),
                r.say("xử lý xong", "resolved")
            ),
            &t.to_resolve,
        ));
    }
    for c in f.channels.iter().chain(&f.recipients) {
        times.push(spread_row(
            &format!("{}: {}", r.say("Gửi tới", "Delivered to"), c.channel),
            &c.time,
        ));
    }
    add("response-times", times);

    let mut channels = Table::new(&[
        r.say("Kênh", "Channel"),
        r.say("Người nhận", "Recipient"),
        r.say("Phải gửi", "Owed"),
        r.say("Đã gửi", "Delivered"),
        r.say("Thất bại", "Failed"),
        r.say("Bỏ qua", "Skipped"),
        r.say("Đang chờ", "Pending"),
        r.say("Trễ", "Late"),
    ]);
    for c in &f.channels {
        channels.push(vec![
            c.channel.clone(),
            c.recipient
                .map(|p| p.name(r.vi))
                .unwrap_or_default()
                .to_string(),
            c.owed.to_string(),
            c.delivered.to_string(),
            c.failed.to_string(),
            c.skipped.to_string(),
            c.pending.to_string(),
            c.late.to_string(),
        ]);
    }
    add("deliveries", channels);

    let mut late = Table::new(&[
        r.say("Báo động", "Alarm"),
        r.say("Kênh", "Channel"),
        r.say("Cấp", "Tier"),
        r.say("Đến hạn", "Due"),
        r.say("Trễ (s)", "Late by (s)"),
    ]);
    for l in &f.late {
        late.push(vec![
            l.alarm.to_string(),
            l.channel.clone(),
            r.setup.tier_name(l.tier, r.vi),
            r.time(l.due_ms),
            seconds(l.after_ms),
        ]);
    }
    add("late-deliveries", late);

    let eq = &f.equipment;
    let name = |n: &(String, String)| if r.vi { n.0.clone() } else { n.1.clone() };
    let mut availability = Table::new(&[
        r.say("Thiết bị", "Device"),
        r.say("Loại", "Kind"),
        r.say("Hoạt động (%)", "Up (%)"),
        r.say("Số lần mất", "Outages"),
        r.say("Lâu nhất (s)", "Longest (s)"),
    ]);
    for d in &eq.devices {
        availability.push(vec![
            name(&d.device.names),
            d.device.kind.name(r.vi).to_string(),
            format!("{:.2}", d.share() * 100.0),
            d.outages.to_string(),
            seconds(d.longest_ms),
        ]);
    }
    add("availability", availability);
    let mut outages = Table::new(&[
        r.say("Sự kiện", "Event"),
        r.say("Thiết bị", "Device"),
        "Contact ID",
        r.say("Từ", "From"),
        r.say("Đến", "Until"),
        r.say("Trong kỳ (s)", "Within the period (s)"),
    ]);
    for o in &eq.longest {
        outages.push(vec![
            o.seq.to_string(),
            name(&o.names),
            o.code.to_string(),
            r.time(o.from_ms),
            o.until_ms.map(|t| r.time(t)).unwrap_or_default(),
            seconds(o.within_ms),
        ]);
    }
    add("longest-outages", outages);
    let mut batteries = Table::new(&[
        r.say("Sự kiện", "Event"),
        r.say("Cảm biến", "Sensor"),
        r.say("Báo lúc", "Reported"),
        r.say("Đã thay", "Replaced"),
    ]);
    for b in &eq.batteries {
        batteries.push(vec![
            b.seq.to_string(),
            r.name(&b.sensor),
            r.time(b.at_ms),
            b.replaced_at_ms.map(|t| r.time(t)).unwrap_or_default(),
        ]);
    }
    add("low-batteries", batteries);

    let mut failed = Table::new(&[
        r.say("Báo động", "Alarm"),
        r.say("Kênh", "Channel"),
        r.say("Cấp", "Tier"),
        r.say("Trạng thái", "State"),
        r.say("Số lần thử", "Attempts"),
        r.say("Lỗi cuối", "Last error"),
    ]);
    for d in &f.failed {
        failed.push(vec![
            d.alarm.to_string(),
            d.channel.clone(),
            d.tier.to_string(),
            d.state.clone(),
            d.attempts.to_string(),
            d.last_error.clone(),
        ]);
    }
    add("failed-deliveries", failed);

    let mut troubles = Table::new(&[
        "Contact ID",
        r.say("Sự cố", "Trouble"),
        r.say("Số lần", "Raised"),
        r.say("Đã khôi phục", "Restored"),
        r.say("Sự kiện", "Events"),
    ]);
    for t in &f.troubles {
        let seqs: Vec<String> = t.seqs.iter().map(|s| s.to_string()).collect();
        troubles.push(vec![
            t.code.to_string(),
            t.text.clone(),
            t.raised.to_string(),
            t.restored.to_string(),
            seqs.join(" "),
        ]);
    }
    add("troubles", troubles);

    let mut people = Table::new(&[
        r.say("Người", "Person"),
        r.say("Thao tác", "Action"),
        r.say("Số lần", "Count"),
    ]);
    for p in &f.people {
        for (kind, n) in &p.actions {
            people.push(vec![p.user.clone(), kind.clone(), n.to_string()]);
        }
    }
    add("people", people);

    let mut arming = Table::new(&[
        r.say("Khu vực", "Area"),
        r.say("Thời gian bật (giờ)", "Armed (hours)"),
        r.say("Tỉ lệ thời gian bật", "Share armed"),
        r.say("Số lần bật", "Closings"),
        r.say("Số lần tắt", "Openings"),
    ]);
    for a in &f.arming {
        arming.push(vec![
            r.name(&a.area),
            format!("{:.2}", a.armed_ms as f64 / 3_600_000.0),
            format!("{:.1}%", a.share() * 100.0),
            a.closings.to_string(),
            a.openings.to_string(),
        ]);
    }
    add("arming", arming);

    let mut schedule = Table::new(&[
        r.say("Khu vực", "Area"),
        r.say("Lịch bật", "Schedule"),
        r.say("Ngày", "Day"),
        r.say("Hạn bật", "Due by"),
        r.say("Bật lúc", "Armed at"),
        r.say("Người bật", "Armed by"),
        r.say("Kết quả", "Result"),
    ]);
    for l in &f.schedules {
        for e in &l.exceptions {
            let (at, by, result) = match &e.armed {
                Some((at, who)) => (r.time(*at), who.clone(), r.say("trễ", "late")),
                None => (String::new(), String::new(), r.say("bỏ sót", "missed")),
            };
            schedule.push(vec![
                r.name(&l.area),
                l.window.clone(),
                e.day.to_string(),
                r.time(e.due_ms),
                at,
                by,
                result.to_string(),
            ]);
        }
    }
    add("arming-schedule", schedule);

    let mut notes = Table::new(&[
        r.say("Sự kiện", "Event"),
        r.say("Thời điểm", "At"),
        r.say("Người viết", "Written by"),
        r.say("Nội dung", "Note"),
    ]);
    for n in &f.notes {
        notes.push(vec![
            n.seq.to_string(),
            r.time(n.at_ms),
            n.user.clone(),
            n.text.clone(),
        ]);
    }
    add("handover-notes", notes);

    let mut incidents = Table::new(&[
        r.say("Báo động", "Alarm"),
        r.say("Thời điểm", "When"),
        r.say("Vùng", "Zone"),
        r.say("Khu vực", "Area"),
        r.say("Loại", "Category"),
        r.say("Người xử lý", "Handled by"),
        r.say("Thời gian xử lý", "Took"),
        r.say("Đã làm gì", "What was done"),
    ]);
    for a in f.incidents() {
        incidents.push(vec![
            a.id.to_string(),
            r.time(a.raised_at_ms),
            r.name(&a.zone),
            r.name(&a.area),
            a.category.clone(),
            a.resolved
                .as_ref()
                .map(|(w, _)| w.clone())
                .unwrap_or_default(),
            a.resolved
                .as_ref()
                .map(|(_, t)| Report::duration(t - a.raised_at_ms))
                .unwrap_or_default(),
            a.note.clone(),
        ]);
    }
    add("incidents", incidents);
    out
}
