//! The report laid out once, as sections of label–value pairs, tables, charts and text,
//! in the report's language: the HTML and the PDF both draw this, so they carry the same
//! figures in the same order. The incidents come first: reviewers read them first.

use super::Report;
use super::chart::{Chart, ChartKind, category_color};
use super::figures::{AlarmLine, Spread, count_by};

/// A table: its header, its rows, and which columns are numbers (right-aligned).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows, as many cells as the header.
    pub rows: Vec<Vec<String>>,
    /// Right-aligned columns.
    pub numeric: Vec<bool>,
}

impl Table {
    /// Whether column `i` holds numbers.
    pub fn is_numeric(&self, i: usize) -> bool {
        self.numeric.get(i).copied().unwrap_or(false)
    }
}

/// A part of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Labels and values.
    Pairs(Vec<(String, String)>),
    /// A table.
    Table(Table),
    /// A chart.
    Chart(Chart),
    /// A sentence (a table with nothing to list says so).
    Text(String),
}

/// A section with its heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// What it holds.
    pub blocks: Vec<Block>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `vi` or `en`.
    pub lang: &'static str,
    /// `Báo cáo an ninh — <site>`.
    pub title: String,
    /// The period's name.
    pub period: String,
    /// Its first and last instants.
    pub range: String,
    /// The header pairs (who made it, the chain, the totals).
    pub summary: Vec<(String, String)>,
    /// The sections.
    pub sections: Vec<Section>,
    /// A line for each page's foot: the site, the period and the last event's hash, so a
    /// printed page can be checked against the journal.
    pub footer: String,
}

fn table(header: &[&str], numeric: &[usize], rows: Vec<Vec<String>>) -> Block {
    Block::Table(Table {
        header: header.iter().map(|h| h.to_string()).collect(),
        numeric: (0..header.len()).map(|i| numeric.contains(&i)).collect(),
        rows,
    })
}

fn or_text(block: Block, empty: String) -> Block {
    match &block {
        Block::Table(t) if t.rows.is_empty() => Block::Text(empty),
        _ => block,
    }
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn alarm_row(r: &Report, a: &AlarmLine) -> Vec<String> {
    vec![
        a.id.to_string(),
        r.time(a.raised_at_ms),
        format!("{} ({})", a.category, a.code),
        format!("{}, {}", r.name(&a.zone), r.name(&a.area)),
        r.say(
            if a.confirmed { "có" } else { "không" },
            if a.confirmed { "yes" } else { "no" },
        )
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

fn spread_cells(name: String, s: &Spread) -> Vec<String> {
    vec![
        name,
        s.count.to_string(),
        Report::duration(s.median_ms),
        Report::duration(s.p90_ms),
        Report::duration(s.max_ms),
    ]
}

/// Alarms per day of the period, by category.
fn per_day_chart(r: &Report) -> Chart {
    let days: Vec<jiff::civil::Date> = r.period.days().collect();
    let day_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned(r.tz.clone()).date())
    };
    let categories: Vec<String> = count_by(&r.figures.alarms, |a| a.category.clone())
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let series = categories
        .iter()
        .map(|c| {
            let mut values = vec![0.0; days.len()];
            for a in r.figures.alarms.iter().filter(|a| &a.category == c) {
                if let Some(i) =
                    day_of(a.raised_at_ms).and_then(|d| days.iter().position(|x| *x == d))
                    && let Some(v) = values.get_mut(i)
                {
                    *v += 1.0;
                }
            }
            (c.clone(), category_color(c), values)
        })
        .collect();
    let long = days.len() > 62;
    Chart {
        title: r
            .say(
                "Báo động mỗi ngày, theo loại",
                "Alarms per day, by category",
            )
            .to_string(),
        kind: ChartKind::Columns {
            labels: days
                .iter()
                .map(|d| {
                    if long {
                        format!("{}/{}", d.day(), d.month())
                    } else {
                        d.day().to_string()
                    }
                })
                .collect(),
            series,
        },
    }
}

/// Builds the document of `r`.
pub fn build(r: &Report) -> Document {
    let f = &r.figures;
    let s = |vi: &str, en: &str| r.say(vi, en).to_string();
    let confirmed = f.alarms.iter().filter(|a| a.confirmed).count();
    let mut summary = vec![
        (s("Cơ sở", "Site"), r.site_name.clone()),
        (s("Người lập", "Made by"), r.made_by.clone()),
        (
            s("Số liệu tính đến", "Figures as of"),
            if f.chain.last_seq == 0 {
                s(
                    "nhật ký chưa có sự kiện nào",
                    "the journal has no events yet",
                )
            } else {
                format!(
                    "{} #{} ({})",
                    r.say("sự kiện", "event"),
                    f.chain.last_seq,
                    r.time(f.chain.last_at_ms)
                )
            },
        ),
        (
            s("Mã băm sự kiện cuối", "Last event hash"),
            f.chain.last_hash.clone(),
        ),
        (
            s("Chuỗi băm của nhật ký", "Journal hash chain"),
            r.chain_text(),
        ),
        (s("Tệp bằng chứng", "Evidence files"), r.evidence_text()),
        (s("Tổng số báo động", "Alarms"), f.alarms.len().to_string()),
        (
            s("Đã xác minh / chưa xác minh", "Confirmed / unconfirmed"),
            format!("{confirmed} / {}", f.alarms.len() - confirmed),
        ),
        (
            s("Tỉ lệ báo nhầm", "False-alarm rate"),
            format!("{:.1}%", f.false_alarm_rate() * 100.0),
        ),
    ];
    if let Some(kept) = f.deliveries_kept_from {
        summary.push((
            s("Lưu ý", "Note"),
            format!(
                "{} {}",
                r.say(
                    "các lần gửi trước thời điểm này đã bị xóa theo thời hạn lưu (escalation.retention_days):",
                    "deliveries before this were deleted by retention (escalation.retention_days):"
                ),
                r.time(kept)
            ),
        ));
    }

    let mut sections = Vec::new();
    let incidents: Vec<Vec<String>> = f
        .incidents()
        .into_iter()
        .map(|a| {
            let mut row = alarm_row(r, a);
            row.push(a.note.clone());
            row
        })
        .collect();
    let alarm_header = [
        "#",
        r.say("Thời điểm", "When"),
        r.say("Loại", "What"),
        r.say("Nơi", "Where"),
        r.say("Xác minh", "Confirmed"),
        r.say("Xác nhận", "Acknowledged"),
        r.say("Xử lý", "Resolved"),
        r.say("Kết luận", "Resolution"),
    ];
    let mut incident_header = alarm_header.to_vec();
    incident_header.push(r.say("Đã làm gì", "What was done"));
    sections.push(Section {
        heading: s("Sự cố thật", "Real incidents"),
        blocks: vec![or_text(
            table(&incident_header, &[0], incidents),
            s(
                "Không có sự cố thật trong kỳ.",
                "No real incident in the period.",
            ),
        )],
    });

    let count_table = |title: &str, rows: Vec<(String, usize)>| {
        table(
            &[title, r.say("Số", "Count")],
            &[1],
            rows.into_iter()
                .map(|(k, n)| vec![k, n.to_string()])
                .collect(),
        )
    };
    let mut busiest = count_by(&f.alarms, |a| r.name(&a.zone));
    busiest.truncate(5);
    let resolutions = count_by(&f.alarms, |a| a.resolution.clone())
        .into_iter()
        .map(|(k, n)| {
            (
                if k.is_empty() {
                    s("chưa xử lý", "open")
                } else {
                    k
                },
                n,
            )
        })
        .collect();
    sections.push(Section {
        heading: s("Báo động", "Alarms"),
        blocks: vec![
            Block::Chart(per_day_chart(r)),
            count_table(
                r.say("Loại", "Category"),
                count_by(&f.alarms, |a| a.category.clone()),
            ),
            count_table(
                r.say("Khu vực", "Area"),
                count_by(&f.alarms, |a| r.name(&a.area)),
            ),
            count_table(r.say("Vùng nhiều báo động nhất", "Busiest zones"), busiest),
            count_table(r.say("Kết luận", "Resolution"), resolutions),
        ],
    });

    let mut times = vec![
        spread_cells(
            s("Từ báo động đến xác nhận", "Raised to acknowledged"),
            &f.to_acknowledge,
        ),
        spread_cells(
            s("Từ báo động đến xử lý xong", "Raised to resolved"),
            &f.to_resolve,
        ),
    ];
    for t in &f.by_tier {
        let tier = r.setup.tier_name(t.tier, r.vi);
        times.push(spread_cells(
            format!(
                "{} {tier} ({}): {}",
                r.say("Cấp", "Tier"),
                t.alarms,
                r.say("xác nhận", "acknowledged")
            ),
            &t.to_acknowledge,
        ));
        times.push(spread_cells(
            format!(
                "{} {tier} ({}): {}",
                r.say("Cấp", "Tier"),
                t.alarms,
                r.say("xử lý xong", "resolved")
            ),
            &t.to_resolve,
        ));
    }
    for c in &f.channels {
        times.push(spread_cells(
            format!("{}: {}", r.say("Gửi tới", "Delivered to"), c.channel),
            &c.time,
        ));
    }
    let mut time_bars = Vec::new();
    for (name, spread) in [
        (r.say("Xác nhận", "Acknowledge"), &f.to_acknowledge),
        (r.say("Xử lý xong", "Resolve"), &f.to_resolve),
    ]
    .into_iter()
    .chain(f.recipients.iter().map(|c| (c.channel.as_str(), &c.time)))
    {
        for (what, ms) in [
            (r.say("trung vị", "median"), spread.median_ms),
            ("p90", spread.p90_ms),
        ] {
            time_bars.push((format!("{name} — {what}"), ms as f64, Report::duration(ms)));
        }
    }
    let time_max = time_bars.iter().map(|b| b.1).fold(0.0, f64::max);
    sections.push(Section {
        heading: s("Thời gian phản ứng", "Response times"),
        blocks: vec![
            table(
                &[
                    "",
                    r.say("Số", "Count"),
                    r.say("Trung vị", "Median"),
                    "p90",
                    r.say("Lớn nhất", "Max"),
                ],
                &[1, 2, 3, 4],
                times,
            ),
            Block::Chart(Chart {
                title: s(
                    "Thời gian phản ứng (trung vị và p90)",
                    "Response times (median and p90)",
                ),
                kind: ChartKind::Bars {
                    rows: time_bars,
                    max: time_max,
                },
            }),
        ],
    });

    let delivery_rows = |lines: &[super::figures::ChannelLine]| -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|c| {
                vec![
                    c.channel.clone(),
                    c.owed.to_string(),
                    c.delivered.to_string(),
                    c.failed.to_string(),
                    c.skipped.to_string(),
                    c.pending.to_string(),
                    c.late.to_string(),
                    Report::duration(c.time.median_ms),
                    Report::duration(c.time.p90_ms),
                    Report::duration(c.time.max_ms),
                ]
            })
            .collect()
    };
    let delivery_header = |first: &str| {
        vec![
            first.to_string(),
            s("Phải gửi", "Owed"),
            s("Đã gửi", "Delivered"),
            s("Thất bại", "Failed"),
            s("Bỏ qua", "Skipped"),
            s("Đang chờ", "Pending"),
            s("Trễ", "Late"),
            s("Trung vị", "Median"),
            "p90".to_string(),
            s("Lớn nhất", "Max"),
        ]
    };
    let as_block = |header: Vec<String>, rows| {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        table(&header, &[1, 2, 3, 4, 5, 6, 7, 8, 9], rows)
    };
    let mut escalation = vec![
        as_block(
            delivery_header(r.say("Người nhận", "Recipient")),
            delivery_rows(&f.recipients),
        ),
        as_block(
            delivery_header(r.say("Kênh", "Channel")),
            delivery_rows(&f.channels),
        ),
    ];
    if !f.failed.is_empty() {
        escalation.push(Block::Text(s(
            "Gửi thất bại hoặc còn chờ:",
            "Failed or still owed:",
        )));
        escalation.push(table(
            &[
                r.say("Báo động", "Alarm"),
                r.say("Kênh", "Channel"),
                r.say("Cấp", "Tier"),
                r.say("Trạng thái", "State"),
                r.say("Số lần thử", "Attempts"),
                r.say("Lỗi cuối", "Last error"),
            ],
            &[0, 4],
            f.failed
                .iter()
                .map(|x| {
                    vec![
                        format!("#{}", x.alarm),
                        x.channel.clone(),
                        r.setup.tier_name(x.tier, r.vi),
                        x.state.clone(),
                        x.attempts.to_string(),
                        x.last_error.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if !f.late.is_empty() {
        escalation.push(Block::Text(format!(
            "{} {}:",
            r.say("Gửi trễ hơn", "Delivered later than"),
            Report::duration(r.setup.late_after_ms)
        )));
        escalation.push(table(
            &[
                r.say("Báo động", "Alarm"),
                r.say("Kênh", "Channel"),
                r.say("Cấp", "Tier"),
                r.say("Đến hạn", "Due"),
                r.say("Trễ", "Late by"),
            ],
            &[0, 4],
            f.late
                .iter()
                .map(|l| {
                    vec![
                        format!("#{}", l.alarm),
                        l.channel.clone(),
                        r.setup.tier_name(l.tier, r.vi),
                        r.time(l.due_ms),
                        Report::duration(l.after_ms),
                    ]
                })
                .collect(),
        ));
    }
    sections.push(Section {
        heading: s("Chuyển báo động", "Escalation"),
        blocks: escalation,
    });

    let eq = &f.equipment;
    let device_name = |names: &(String, String)| {
        if r.vi {
            names.0.clone()
        } else {
            names.1.clone()
        }
    };
    let mut equipment = vec![
        table(
            &[
                r.say("Thiết bị", "Device"),
                r.say("Loại", "Kind"),
                r.say("Hoạt động", "Up"),
                r.say("Số lần mất", "Outages"),
                r.say("Lâu nhất", "Longest"),
            ],
            &[2, 3, 4],
            eq.devices
                .iter()
                .map(|d| {
                    vec![
                        device_name(&d.device.names),
                        d.device.kind.name(r.vi).to_string(),
                        percent(d.share()),
                        d.outages.to_string(),
                        Report::duration(d.longest_ms),
                    ]
                })
                .collect(),
        ),
        Block::Chart(Chart {
            title: s(
                "Tỉ lệ thời gian hoạt động của thiết bị",
                "Equipment availability",
            ),
            kind: ChartKind::Bars {
                rows: eq
                    .devices
                    .iter()
                    .map(|d| {
                        (
                            device_name(&d.device.names),
                            d.share() * 100.0,
                            percent(d.share()),
                        )
                    })
                    .collect(),
                max: 100.0,
            },
        }),
        Block::Text(s("Các lần mất lâu nhất:", "The longest outages:")),
        or_text(
            table(
                &[
                    r.say("Thiết bị", "Device"),
                    "Contact ID",
                    r.say("Từ", "From"),
                    r.say("Đến", "Until"),
                    r.say("Trong kỳ", "Within the period"),
                    r.say("Sự kiện", "Event"),
                ],
                &[1, 4, 5],
                eq.longest
                    .iter()
                    .map(|o| {
                        vec![
                            device_name(&o.names),
                            o.code.to_string(),
                            r.time(o.from_ms),
                            o.until_ms
                                .map(|t| r.time(t))
                                .unwrap_or_else(|| s("chưa khôi phục", "not restored")),
                            Report::duration(o.within_ms),
                            format!("#{}", o.seq),
                        ]
                    })
                    .collect(),
            ),
            s("Không có lần mất nào trong kỳ.", "No outage in the period."),
        ),
        Block::Text(s("Pin yếu:", "Low batteries:")),
        or_text(
            table(
                &[
                    r.say("Cảm biến", "Sensor"),
                    r.say("Báo lúc", "Reported"),
                    r.say("Đã thay", "Replaced"),
                    r.say("Sự kiện", "Event"),
                ],
                &[3],
                eq.batteries
                    .iter()
                    .map(|b| {
                        vec![
                            r.name(&b.sensor),
                            r.time(b.at_ms),
                            b.replaced_at_ms
                                .map(|t| r.time(t))
                                .unwrap_or_else(|| s("chưa", "not yet")),
                            format!("#{}", b.seq),
                        ]
                    })
                    .collect(),
            ),
            s(
                "Không có cảm biến nào báo pin yếu.",
                "No sensor reported a low battery.",
            ),
        ),
        table(
            &[
                "Contact ID",
                r.say("Sự cố", "Trouble"),
                r.say("Số lần", "Raised"),
                r.say("Khôi phục", "Restored"),
            ],
            &[0, 2, 3],
            f.troubles
                .iter()
                .map(|t| {
                    vec![
                        t.code.to_string(),
                        t.text.clone(),
                        t.raised.to_string(),
                        t.restored.to_string(),
                    ]
                })
                .collect(),
        ),
    ];
    if f.troubles.is_empty() {
        equipment.pop();
    }
    sections.push(Section {
        heading: s("Thiết bị và sự cố", "Equipment and troubles"),
        blocks: equipment,
    });

    let mut arming = vec![table(
        &[
            r.say("Khu vực", "Area"),
            r.say("Thời gian bật", "Armed for"),
            r.say("Tỉ lệ", "Share"),
            r.say("Số lần bật", "Closings"),
            r.say("Số lần tắt", "Openings"),
        ],
        &[1, 2, 3, 4],
        f.arming
            .iter()
            .map(|a| {
                vec![
                    r.name(&a.area),
                    Report::duration(a.armed_ms),
                    format!("{:.1}%", a.share() * 100.0),
                    a.closings.to_string(),
                    a.openings.to_string(),
                ]
            })
            .collect(),
    )];
    if !f.schedules.is_empty() {
        arming.push(table(
            &[
                r.say("Khu vực", "Area"),
                r.say("Lịch bật", "Schedule"),
                r.say("Số ngày", "Days"),
                r.say("Đúng giờ", "On time"),
                r.say("Trễ", "Late"),
                r.say("Bỏ sót", "Missed"),
            ],
            &[2, 3, 4, 5],
            f.schedules
                .iter()
                .map(|l| {
                    vec![
                        r.name(&l.area),
                        l.window.clone(),
                        l.windows.to_string(),
                        l.on_time.to_string(),
                        l.late().to_string(),
                        l.missed().to_string(),
                    ]
                })
                .collect(),
        ));
        let exceptions: Vec<Vec<String>> = f
            .schedules
            .iter()
            .flat_map(|l| {
                l.exceptions.iter().map(|e| {
                    vec![
                        r.name(&l.area),
                        e.day.to_string(),
                        r.time(e.due_ms),
                        match &e.armed {
                            Some((at, who)) => format!(
                                "{} {} ({who}), {} {}",
                                r.say("bật lúc", "armed at"),
                                r.time(*at),
                                r.say("trễ", "late by"),
                                Report::duration(at - e.due_ms)
                            ),
                            None => s("KHÔNG BẬT", "NOT ARMED"),
                        },
                    ]
                })
            })
            .collect();
        if !exceptions.is_empty() {
            arming.push(table(
                &[
                    r.say("Khu vực", "Area"),
                    r.say("Ngày", "Day"),
                    r.say("Hạn bật", "Due by"),
                    r.say("Thực tế", "What happened"),
                ],
                &[],
                exceptions,
            ));
        }
    }
    sections.push(Section {
        heading: s("Bật / tắt báo động", "Arming"),
        blocks: arming,
    });

    sections.push(Section {
        heading: s("Thao tác của từng người", "People's actions"),
        blocks: vec![Block::Pairs(
            f.people
                .iter()
                .map(|p| {
                    let list: Vec<String> = p
                        .actions
                        .iter()
                        .map(|(kind, n)| format!("{kind}: {n}"))
                        .collect();
                    (p.user.clone(), list.join(", "))
                })
                .collect(),
        )],
    });
    sections.push(Section {
        heading: s("Bàn giao ca", "Shift handover notes"),
        blocks: vec![or_text(
            table(
                &[
                    r.say("Thời điểm", "At"),
                    r.say("Người viết", "Written by"),
                    r.say("Nội dung", "Note"),
                ],
                &[],
                f.notes
                    .iter()
                    .map(|n| vec![r.time(n.at_ms), n.user.clone(), n.text.clone()])
                    .collect(),
            ),
            s("Không có ghi chú bàn giao.", "No handover note."),
        )],
    });
    sections.push(Section {
        heading: s("Danh sách báo động", "All alarms"),
        blocks: vec![table(
            &alarm_header,
            &[0],
            f.alarms.iter().map(|a| alarm_row(r, a)).collect(),
        )],
    });

    let period = if r.vi {
        r.period.label_vi.clone()
    } else {
        r.period.label_en.clone()
    };
    let short_hash: String = f.chain.last_hash.chars().take(16).collect();
    Document {
        lang: if r.vi { "vi" } else { "en" },
        title: format!(
            "{} — {}",
            r.say("Báo cáo an ninh", "Security report"),
            r.site_name
        ),
        footer: format!(
            "{} · {period} · {} #{} {short_hash}…",
            r.site_name,
            r.say("sự kiện cuối", "last event"),
            f.chain.last_seq
        ),
        period,
        range: format!("{} – {}", r.time(r.period.from_ms), r.time(r.period.to_ms)),
        summary,
        sections,
    }
}
