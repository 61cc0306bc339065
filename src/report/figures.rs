//! What a periodic security review reads, computed only from the journal: the alarms
//! raised in the period (their `alarm_raised` events, with each alarm's record for its
//! confirmation, acknowledgement and resolution), how fast they were handled, what was
//! delivered to whom and how fast, troubles, people's actions, handover notes, the real
//! incidents, and whether the hash chain still holds. Every list carries the event
//! sequence numbers it counts, so a reviewer can find each figure's events in the log.

use std::collections::BTreeMap;

use sqlx::Row;

use super::ReportError;
use super::equipment::Equipment;
use super::period::Period;
use super::schedule::ScheduleLine;
use super::setup::{Recipient, Setup};
use crate::journal::Journal;

/// Median, 90th percentile and maximum of some durations (ms), with how many there were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    /// How many.
    pub count: usize,
    /// Median (nearest rank), ms.
    pub median_ms: i64,
    /// 90th percentile (nearest rank), ms.
    pub p90_ms: i64,
    /// Maximum, ms.
    pub max_ms: i64,
}

impl Spread {
    /// The spread of `values` (any order).
    pub fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        let rank = |p: f64| -> i64 {
            if values.is_empty() {
                return 0;
            }
            // Nearest rank: the smallest value with at least p of the values at or below it.
            let n = values.len();
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            values.get(k - 1).copied().unwrap_or(0)
        };
        Spread {
            count: values.len(),
            median_ms: rank(0.5),
            p90_ms: rank(0.9),
            max_ms: values.last().copied().unwrap_or(0),
        }
    }
}

/// One alarm raised in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmLine {
    /// Alarm number.
    pub id: i64,
    /// The `alarm_raised` event's sequence number.
    pub seq: i64,
    /// Raised at, ms.
    pub raised_at_ms: i64,
    /// `fire`, `burglary`…
    pub category: String,
    /// Contact ID code.
    pub code: i64,
    /// Area id.
    pub area: String,
    /// Zone id, if any.
    pub zone: String,
    /// Confirmed by a second detector.
    pub confirmed: bool,
    /// Cancelled within the abort window.
    pub cancelled: bool,
    /// Who acknowledged, and when (ms).
    pub acknowledged: Option<(String, i64)>,
    /// Who resolved, and when (ms).
    pub resolved: Option<(String, i64)>,
    /// `real`, `false`, `test`, `unknown`, or empty while open.
    pub resolution: String,
    /// The notes.
    pub note: String,
    /// The highest escalation tier its notice went out at (0: at once only).
    pub tier: i64,
}

impl AlarmLine {
    /// Raised to acknowledged, ms, once acknowledged.
    pub fn to_acknowledge_ms(&self) -> Option<i64> {
        self.acknowledged
            .as_ref()
            .map(|(_, at)| at - self.raised_at_ms)
    }

    /// Raised to resolved, ms, once resolved.
    pub fn to_resolve_ms(&self) -> Option<i64> {
        self.resolved.as_ref().map(|(_, at)| at - self.raised_at_ms)
    }
}

/// One channel's deliveries for the period's alarms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelLine {
    /// Channel id.
    pub channel: String,
    /// Whom it reaches.
    pub recipient: Option<Recipient>,
    /// Rows owed.
    pub owed: usize,
    /// Delivered (sent or acknowledged by the peer).
    pub delivered: usize,
    /// Failed for good.
    pub failed: usize,
    /// Skipped (the alarm was handled before the tier was due).
    pub skipped: usize,
    /// Still pending at the end of the journal.
    pub pending: usize,
    /// Delivered later than `[reports] late_delivery_s` after they were due.
    pub late: usize,
    /// From when the row was due to its delivery.
    pub time: Spread,
}

/// A delivery made late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateDelivery {
    /// Alarm number.
    pub alarm: i64,
    /// Channel id.
    pub channel: String,
    /// Escalation tier.
    pub tier: i64,
    /// Due at, ms.
    pub due_ms: i64,
    /// How long after it was due it went, ms.
    pub after_ms: i64,
}

/// Response times of the alarms that reached one escalation tier (and no higher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLine {
    /// The tier (0: told at once only).
    pub tier: i64,
    /// Alarms.
    pub alarms: usize,
    /// Raised to acknowledged.
    pub to_acknowledge: Spread,
    /// Raised to resolved.
    pub to_resolve: Spread,
}

/// A delivery that failed, or is still owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    /// Alarm number.
    pub alarm: i64,
    /// Channel id.
    pub channel: String,
    /// Escalation tier.
    pub tier: i64,
    /// `failed` or `pending`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last error.
    pub last_error: String,
}

/// A trouble code's count in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubleLine {
    /// Contact ID code.
    pub code: i64,
    /// What it is (the first event's text in the report's language).
    pub text: String,
    /// New troubles.
    pub raised: usize,
    /// Restores.
    pub restored: usize,
    /// The sequence numbers of the new ones.
    pub seqs: Vec<i64>,
}

/// What one person did, by kind of action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonLine {
    /// Who.
    pub user: String,
    /// Event kind (`armed`, `disarmed`, `alarm_acknowledged`…) → how many.
    pub actions: BTreeMap<String, usize>,
}

/// A shift handover note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteLine {
    /// Its event's sequence number.
    pub seq: i64,
    /// When, ms.
    pub at_ms: i64,
    /// Who wrote it.
    pub user: String,
    /// The note.
    pub text: String,
}

/// One area's arming over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArmingLine {
    /// Area id.
    pub area: String,
    /// How long it was armed in the period, ms (up to the journal's last event, for a
    /// period that has not ended).
    pub armed_ms: i64,
    /// How long the period ran, ms (the same bound).
    pub of_ms: i64,
    /// Closings (armed) in the period.
    pub closings: usize,
    /// Openings (disarmed) in the period.
    pub openings: usize,
}

impl ArmingLine {
    /// The share of the period armed, 0–1.
    pub fn share(&self) -> f64 {
        if self.of_ms <= 0 {
            0.0
        } else {
            self.armed_ms as f64 / self.of_ms as f64
        }
    }
}

/// The period's evidence files (clips and snapshots) against the hash chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceLine {
    /// Files whose writing the period's events record.
    pub recorded: usize,
    /// Files of the period's alarms that do not fit the chain: (alarm, file, what is wrong).
    pub problems: Vec<(i64, String, String)>,
}

/// The hash chain's state when the report was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLine {
    /// Events checked.
    pub checked: u64,
    /// The first break: its sequence number and why.
    pub broken: Option<(i64, String)>,
    /// The last event's sequence number.
    pub last_seq: i64,
    /// Its time, ms.
    pub last_at_ms: i64,
    /// Its hash, hex.
    pub last_hash: String,
}

/// Every figure of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The alarms raised in the period, oldest first.
    pub alarms: Vec<AlarmLine>,
    /// Raised to acknowledged.
    pub to_acknowledge: Spread,
    /// Raised to resolved.
    pub to_resolve: Spread,
    /// The same, by the highest tier each alarm reached.
    pub by_tier: Vec<TierLine>,
    /// Per channel.
    pub channels: Vec<ChannelLine>,
    /// Per recipient (the channels' sums).
    pub recipients: Vec<ChannelLine>,
    /// Deliveries failed or still owed.
    pub failed: Vec<FailedDelivery>,
    /// Deliveries made late.
    pub late: Vec<LateDelivery>,
    /// When the period began before the outbox's retention: deliveries before this
    /// instant were deleted and are not counted, ms.
    pub deliveries_kept_from: Option<i64>,
    /// Availability, outages, batteries.
    pub equipment: Equipment,
    /// Arming against each scheduled area's schedule.
    pub schedules: Vec<ScheduleLine>,
    /// Troubles by code.
    pub troubles: Vec<TroubleLine>,
    /// People's actions.
    pub people: Vec<PersonLine>,
    /// Handover notes.
    pub notes: Vec<NoteLine>,
    /// Each area's arming.
    pub arming: Vec<ArmingLine>,
    /// Evidence files.
    pub evidence: EvidenceLine,
    /// The chain.
    pub chain: ChainLine,
}

/// Counts of `key` over the alarms, largest first, then by name.
pub fn count_by(alarms: &[AlarmLine], key: impl Fn(&AlarmLine) -> String) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for a in alarms {
        *counts.entry(key(a)).or_default() += 1;
    }
    let mut list: Vec<(String, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

impl Figures {
    /// Alarms resolved as false, of those resolved (0 when none were).
    pub fn false_alarm_rate(&self) -> f64 {
        let resolved = self.alarms.iter().filter(|a| a.resolved.is_some()).count();
        let false_ones = self
            .alarms
            .iter()
            .filter(|a| a.resolution == "false")
            .count();
        if resolved == 0 {
            0.0
        } else {
            false_ones as f64 / resolved as f64
        }
    }

    /// The alarms resolved as real: the incidents.
    pub fn incidents(&self) -> Vec<&AlarmLine> {
        self.alarms
            .iter()
            .filter(|a| a.resolution == "real")
            .collect()
    }
}

fn db(e: sqlx::Error) -> ReportError {
    ReportError::Journal(e.to_string())
}

/// Every area's arming and disarming before `until`, oldest first: (area, kind, at, who).
/// One pass over the `kind` index, shared by the arming figures and the schedule.
pub type ArmingChanges = Vec<(String, String, i64, Option<String>)>;

async fn arming_changes(journal: &Journal, until: i64) -> Result<ArmingChanges, ReportError> {
    sqlx::query_as(
        "SELECT area, kind, at_ms, user_name FROM events INDEXED BY events_kind \
         WHERE kind IN ('armed', 'disarmed') AND area IS NOT NULL AND at_ms < ? ORDER BY seq",
    )
    .bind(until)
    .fetch_all(journal.pool())
    .await
    .map_err(db)
}

/// How long `area` was armed in `[from, until)`, from its `armed` and `disarmed` events
/// (the last one before the period says how it began).
fn arming_of(changes: &ArmingChanges, area: &str, from: i64, until: i64) -> ArmingLine {
    let mut line = ArmingLine {
        area: area.to_string(),
        of_ms: until - from,
        ..ArmingLine::default()
    };
    let mine = changes.iter().filter(|c| c.0 == area);
    let before = mine.clone().rfind(|c| c.2 < from).map(|c| c.1.as_str());
    let mut armed_since = (before == Some("armed")).then_some(from);
    for (_, kind, at, _) in mine.filter(|c| c.2 >= from && c.2 < until) {
        if kind == "armed" {
            line.closings += 1;
            armed_since.get_or_insert(*at);
        } else {
            line.openings += 1;
            if let Some(since) = armed_since.take() {
                line.armed_ms += at - since;
            }
        }
    }
    if let Some(since) = armed_since {
        line.armed_ms += until - since;
    }
    line
}

/// Reads the figures of `period` from `journal`, texts in Vietnamese when `vi`; `areas`
/// are the site's areas, for their arming; `setup` is what the configuration adds.
pub async fn compute(
    journal: &Journal,
    period: &Period,
    areas: &[String],
    setup: &Setup,
    tz: &jiff::tz::TimeZone,
    vi: bool,
) -> Result<Figures, ReportError> {
    let pool = journal.pool();
    let (from, to) = (period.from_ms, period.to_ms);

    let rows = sqlx::query(
        "SELECT e.seq, a.id, a.raised_at_ms, a.category, a.code, a.area, a.zone, a.confirmed, \
         a.cancelled, a.acknowledged_by, a.acknowledged_at_ms, a.resolved_by, a.resolved_at_ms, \
         a.resolution, a.note \
         FROM events e JOIN alarms a ON a.id = e.alarm_id \
         WHERE e.kind = 'alarm_raised' AND e.at_ms >= ? AND e.at_ms < ? ORDER BY e.seq",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut alarms = Vec::with_capacity(rows.len());
    for r in rows {
        let who = |name: &str, at: &str| -> Option<(String, i64)> {
            let by: Option<String> = r.try_get(name).ok().flatten();
            let when: Option<i64> = r.try_get(at).ok().flatten();
            when.map(|w| (by.unwrap_or_default(), w))
        };
        alarms.push(AlarmLine {
            seq: r.try_get("seq").map_err(db)?,
            id: r.try_get("id").map_err(db)?,
            raised_at_ms: r.try_get("raised_at_ms").map_err(db)?,
            category: r.try_get("category").map_err(db)?,
            code: r.try_get("code").map_err(db)?,
            area: r.try_get("area").map_err(db)?,
            zone: r
                .try_get::<Option<String>, _>("zone")
                .map_err(db)?
                .unwrap_or_default(),
            confirmed: r.try_get::<i64, _>("confirmed").map_err(db)? != 0,
            cancelled: r.try_get::<i64, _>("cancelled").map_err(db)? != 0,
            acknowledged: who("acknowledged_by", "acknowledged_at_ms"),
            resolved: who("resolved_by", "resolved_at_ms"),
            resolution: r
                .try_get::<Option<String>, _>("resolution")
                .map_err(db)?
                .unwrap_or_default(),
            note: r.try_get("note").map_err(db)?,
            tier: 0,
        });
    }
    let to_acknowledge = Spread::of(
        alarms
            .iter()
            .filter_map(AlarmLine::to_acknowledge_ms)
            .collect(),
    );
    let to_resolve = Spread::of(alarms.iter().filter_map(AlarmLine::to_resolve_ms).collect());

    let deliveries = sqlx::query(
        "SELECT o.alarm_id, o.channel, o.tier, o.state, o.attempts, o.last_error, \
         o.due_at_ms, o.delivered_at_ms, o.event_seq = e.seq AS raised_notice \
         FROM outbox o JOIN events e ON e.alarm_id = o.alarm_id AND e.kind = 'alarm_raised' \
         WHERE e.at_ms >= ? AND e.at_ms < ? ORDER BY o.alarm_id, o.id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut channels: BTreeMap<String, (ChannelLine, Vec<i64>)> = BTreeMap::new();
    let mut recipients: BTreeMap<Recipient, (ChannelLine, Vec<i64>)> = BTreeMap::new();
    let mut tiers: BTreeMap<i64, i64> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut late = Vec::new();
    for r in deliveries {
        let channel: String = r.try_get("channel").map_err(db)?;
        let state: String = r.try_get("state").map_err(db)?;
        let alarm = r
            .try_get::<Option<i64>, _>("alarm_id")
            .map_err(db)?
            .unwrap_or(0);
        let tier: i64 = r.try_get("tier").map_err(db)?;
        let due: i64 = r.try_get("due_at_ms").map_err(db)?;
        let delivered: Option<i64> = r.try_get("delivered_at_ms").map_err(db)?;
        let raised_notice = r
            .try_get::<Option<bool>, _>("raised_notice")
            .map_err(db)?
            .unwrap_or(false);
        if raised_notice && state != "skipped" {
            let reached = tiers.entry(alarm).or_default();
            *reached = (*reached).max(tier);
        }
        let recipient = setup.recipient(&channel);
        let is_late = delivered.is_some_and(|d| d - due > setup.late_after_ms);
        for (line, times) in [
            channels.entry(channel.clone()).or_default(),
            recipients.entry(recipient).or_default(),
        ] {
            line.owed += 1;
            match state.as_str() {
                "sent" | "acknowledged" => line.delivered += 1,
                "failed" => line.failed += 1,
                "skipped" => line.skipped += 1,
                _ => line.pending += 1,
            }
            if is_late {
                line.late += 1;
            }
            if let Some(done) = delivered {
                times.push(done - due);
            }
        }
        if let Some((line, _)) = channels.get_mut(&channel) {
            line.channel = channel.clone();
            line.recipient = Some(recipient);
        }
        if let Some((line, _)) = recipients.get_mut(&recipient) {
            line.channel = recipient.name(vi).to_string();
            line.recipient = Some(recipient);
        }
        if let Some(done) = delivered.filter(|_| is_late) {
            late.push(LateDelivery {
                alarm,
                channel: channel.clone(),
                tier,
                due_ms: due,
                after_ms: done - due,
            });
        }
        if state == "failed" || state == "pending" {
            failed.push(FailedDelivery {
                alarm,
                channel,
                tier,
                state,
                attempts: r.try_get("attempts").map_err(db)?,
                last_error: r
                    .try_get::<Option<String>, _>("last_error")
                    .map_err(db)?
                    .unwrap_or_default(),
            });
        }
    }
    let spread_lines = |map: Vec<(ChannelLine, Vec<i64>)>| -> Vec<ChannelLine> {
        map.into_iter()
            .map(|(mut line, times)| {
                line.time = Spread::of(times);
                line
            })
            .collect()
    };
    let channels = spread_lines(channels.into_values().collect());
    let recipients = spread_lines(recipients.into_values().collect());
    for a in &mut alarms {
        a.tier = tiers.get(&a.id).copied().unwrap_or(0);
    }
    let mut by_tier: BTreeMap<i64, Vec<&AlarmLine>> = BTreeMap::new();
    for a in &alarms {
        by_tier.entry(a.tier).or_default().push(a);
    }
    let by_tier = by_tier
        .into_iter()
        .map(|(tier, list)| TierLine {
            tier,
            alarms: list.len(),
            to_acknowledge: Spread::of(list.iter().filter_map(|a| a.to_acknowledge_ms()).collect()),
            to_resolve: Spread::of(list.iter().filter_map(|a| a.to_resolve_ms()).collect()),
        })
        .collect();

    let trouble_rows = sqlx::query(
        "SELECT seq, code, kind, message_vi, message_en FROM events \
         WHERE kind IN ('trouble', 'trouble_restored') AND code IS NOT NULL \
         AND at_ms >= ? AND at_ms < ? ORDER BY seq",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut troubles: BTreeMap<i64, TroubleLine> = BTreeMap::new();
    for r in trouble_rows {
        let code: i64 = r.try_get("code").map_err(db)?;
        let text: String = r
            .try_get(if vi { "message_vi" } else { "message_en" })
            .map_err(db)?;
        let line = troubles.entry(code).or_insert_with(|| TroubleLine {
            code,
            text,
            raised: 0,
            restored: 0,
            seqs: Vec::new(),
        });
        if r.try_get::<String, _>("kind").map_err(db)? == "trouble_restored" {
            line.restored += 1;
        } else {
            line.raised += 1;
            line.seqs.push(r.try_get("seq").map_err(db)?);
        }
    }

    let action_rows = sqlx::query(
        "SELECT user_name, kind, count(*) AS n FROM events \
         WHERE user_name IS NOT NULL AND at_ms >= ? AND at_ms < ? GROUP BY user_name, kind \
         ORDER BY user_name, kind",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut people: BTreeMap<String, PersonLine> = BTreeMap::new();
    for r in action_rows {
        let user: String = r.try_get("user_name").map_err(db)?;
        let n: i64 = r.try_get("n").map_err(db)?;
        people
            .entry(user.clone())
            .or_insert_with(|| PersonLine {
                user,
                actions: BTreeMap::new(),
            })
            .actions
            .insert(
                r.try_get("kind").map_err(db)?,
                usize::try_from(n).unwrap_or(0),
            );
    }

    let notes = sqlx::query(
        "SELECT seq, at_ms, user_name, message_vi, message_en FROM events \
         WHERE kind = 'handover_note' AND at_ms >= ? AND at_ms < ? ORDER BY seq",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .into_iter()
    .map(|r| {
        Ok(NoteLine {
            seq: r.try_get("seq").map_err(db)?,
            at_ms: r.try_get("at_ms").map_err(db)?,
            user: r
                .try_get::<Option<String>, _>("user_name")
                .map_err(db)?
                .unwrap_or_default(),
            text: r
                .try_get(if vi { "message_vi" } else { "message_en" })
                .map_err(db)?,
        })
    })
    .collect::<Result<Vec<_>, ReportError>>()?;

    let last_at: Option<i64> = sqlx::query_scalar("SELECT max(at_ms) FROM events")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    // A period still running is counted up to the journal's last event.
    let until = to.min(last_at.map_or(from, |t| (t + 1).max(from)));
    let changes = arming_changes(journal, until).await?;
    let arming = areas
        .iter()
        .map(|area| arming_of(&changes, area, from, until))
        .collect();
    let schedules = setup
        .schedules
        .iter()
        .map(|(area, schedule)| {
            super::schedule::compute(&changes, area, schedule, period, tz, until)
        })
        .collect();
    let equipment = super::equipment::compute(journal, setup, from, until).await?;
    let kept_from = last_at.map(|t| t - i64::from(setup.delivery_retention_days) * 86_400_000);
    let deliveries_kept_from = kept_from.filter(|k| *k > from);

    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE kind = 'evidence_recorded' AND at_ms >= ? AND at_ms < ?",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let ids: std::collections::BTreeSet<i64> = alarms.iter().map(|a| a.id).collect();
    let checked = crate::journal::verify_evidence(journal)
        .await
        .map_err(|e| ReportError::Journal(e.to_string()))?;
    let evidence = EvidenceLine {
        recorded: usize::try_from(recorded).unwrap_or(0),
        problems: checked
            .problems
            .into_iter()
            .filter(|p| ids.contains(&p.alarm))
            .map(|p| (p.alarm, p.path, p.problem))
            .collect(),
    };

    let verified = crate::journal::verify(journal)
        .await
        .map_err(|e| ReportError::Journal(e.to_string()))?;
    let last = sqlx::query("SELECT seq, at_ms, hash FROM events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    let (last_seq, last_at_ms, last_hash) = match last {
        Some(r) => (
            r.try_get("seq").map_err(db)?,
            r.try_get("at_ms").map_err(db)?,
            hex::encode(r.try_get::<Vec<u8>, _>("hash").map_err(db)?),
        ),
        None => (0, 0, String::new()),
    };

    Ok(Figures {
        alarms,
        to_acknowledge,
        to_resolve,
        by_tier,
        channels,
        recipients,
        failed,
        late,
        deliveries_kept_from,
        equipment,
        schedules,
        troubles: troubles.into_values().collect(),
        people: people.into_values().collect(),
        notes,
        arming,
        evidence,
        chain: ChainLine {
            checked: verified.checked,
            broken: verified.broken.map(|b| (b.seq, b.reason)),
            last_seq,
            last_at_ms,
            last_hash,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_use_the_nearest_rank() {
        let s = Spread::of(vec![50, 10, 40, 20, 30, 60, 70, 80, 90, 100]);
        assert_eq!(
            s,
            Spread {
                count: 10,
                median_ms: 50,
                p90_ms: 90,
                max_ms: 100
            }
        );
        assert_eq!(Spread::of(vec![]), Spread::default());
        assert_eq!(Spread::of(vec![7]).p90_ms, 7);
    }
}
