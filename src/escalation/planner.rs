//! Plans outbox rows from an engine outcome, inside the commit transaction.
//!
//! - A new alarm gets one row per channel it is owed: channels told at once for its
//!   category, then each tier's channels due after the tier's delay. A confirmed intrusion
//!   (at birth or later) makes every tier up to the confirmed tier due at once.
//! - Acknowledgement and resolution skip the rows not yet due (further tiers are not
//!   told) and tell the channels already told, where they carry status updates.
//! - A cancel (406), a confirmation (139) and a zone restore go to every channel already
//!   told about the alarm.
//! - Reportable events that are no alarm go to the `events` channels, the periodic test
//!   to the test channels.

use crate::engine::{Category, EscalationTrigger, EventKind, Outcome};
use crate::journal::{CommittedEvent, NewDelivery, OutboxOp, OutboxPlanner};

use super::evidence::EvidencePlan;
use super::notice::{AlarmInfo, EventInfo, NOTICE_VERSION, Notice, NoticeKind, SiteInfo};
use super::policy::Policy;

/// The escalation layer's [`OutboxPlanner`].
pub struct Planner {
    /// Who is told when.
    policy: Policy,
    /// Sent in every notice.
    site: SiteInfo,
    /// Evidence links for alarm notices, when the gateway has a public address.
    evidence: Option<EvidencePlan>,
}

impl Planner {
    /// A planner for a policy and site.
    pub fn new(policy: Policy, site: SiteInfo) -> Planner {
        Planner {
            policy,
            site,
            evidence: None,
        }
    }

    /// Makes alarm notices list the evidence of the cameras covering the alarm's zone.
    pub fn with_evidence(mut self, plan: EvidencePlan) -> Planner {
        self.evidence = Some(plan);
        self
    }

    fn notice(
        &self,
        kind: NoticeKind,
        tier: Option<&str>,
        alarm: Option<AlarmInfo>,
        event: &CommittedEvent,
    ) -> String {
        let evidence = match (&self.evidence, &alarm) {
            (Some(plan), Some(a)) => plan.for_alarm(a.id, a.zone.as_deref()),
            _ => Vec::new(),
        };
        let notice = Notice {
            version: NOTICE_VERSION,
            kind,
            site: self.site.clone(),
            tier: tier.map(str::to_string),
            alarm,
            event: EventInfo::of(event),
            evidence,
            attachments: Vec::new(),
        };
        serde_json::to_string(&notice).unwrap_or_default()
    }

    fn message_prefix(&self, event: &CommittedEvent) -> String {
        format!("{}:{}:", self.site.id, event.seq)
    }

    fn enqueue_each(
        &self,
        ops: &mut Vec<OutboxOp>,
        channels: &[String],
        kind: NoticeKind,
        event: &CommittedEvent,
    ) {
        let payload = self.notice(kind, None, None, event);
        for channel in channels {
            ops.push(OutboxOp::Enqueue(NewDelivery {
                message_id: format!("{}{channel}", self.message_prefix(event)),
                channel: channel.clone(),
                alarm_id: None,
                event_seq: event.seq,
                tier: 0,
                due_at_ms: event.event.at.0,
                payload_json: payload.clone(),
            }));
        }
    }

    /// Rows for a new alarm.
    fn raise(
        &self,
        ops: &mut Vec<OutboxOp>,
        alarm: Option<AlarmInfo>,
        category: Category,
        confirmed: bool,
        event: &CommittedEvent,
    ) {
        let Some(alarm_id) = event.event.alarm.and_then(|a| i64::try_from(a).ok()) else {
            return;
        };
        let at = event.event.at.0;
        let jump = confirmed && category == Category::Burglary;
        for (channel, tier, delay) in self.policy.schedule(category) {
            let due = if jump && tier <= self.policy.confirmed_tier {
                at
            } else {
                at + delay
            };
            let tier_name = self.policy.tier_name(tier);
            let suffix = self.policy.recipients_suffix(&channel, tier);
            ops.push(OutboxOp::Enqueue(NewDelivery {
                message_id: format!("{}{channel}{suffix}", self.message_prefix(event)),
                channel,
                alarm_id: Some(alarm_id),
                event_seq: event.seq,
                tier,
                due_at_ms: due,
                payload_json: self.notice(NoticeKind::Alarm, Some(tier_name), alarm.clone(), event),
            }));
        }
    }

    fn tell_those_told(
        &self,
        ops: &mut Vec<OutboxOp>,
        alarm: Option<AlarmInfo>,
        told_about: Vec<i64>,
        event: &CommittedEvent,
    ) {
        let Some(alarm_id) = event.event.alarm.and_then(|a| i64::try_from(a).ok()) else {
            return;
        };
        let channels = if event.event.code.is_some() {
            self.policy.channels()
        } else {
            self.policy.status_channels.clone()
        };
        ops.push(OutboxOp::TellThoseTold {
            alarm_id,
            told_about,
            at_ms: event.event.at.0,
            channels,
            own_recipients: self.policy.own_recipient_keys(),
            event_seq: event.seq,
            message_prefix: self.message_prefix(event),
            payload_json: self.notice(NoticeKind::AlarmUpdate, None, alarm, event),
        });
    }
}

/// The event kind that carries each trigger.
fn carrier(trigger: EscalationTrigger) -> EventKind {
    match trigger {
        EscalationTrigger::Raised => EventKind::AlarmRaised,
        EscalationTrigger::Confirmed => EventKind::AlarmConfirmed,
        EscalationTrigger::Acknowledged => EventKind::AlarmAcknowledged,
        EscalationTrigger::Cancelled => EventKind::AlarmCancelled,
        EscalationTrigger::Resolved => EventKind::AlarmResolved,
    }
}

impl OutboxPlanner for Planner {
    fn plan(&self, outcome: &Outcome, events: &[CommittedEvent]) -> Vec<OutboxOp> {
        // Each escalation is carried by one of the events; rows are planned event by event
        // in journal order, so per channel they leave in the order things happened (a
        // cancel before the disarm that caused it).
        let carried: Vec<(usize, &crate::engine::Escalation)> = outcome
            .escalations
            .iter()
            .filter_map(|esc| {
                let kind = carrier(esc.trigger);
                let found = events
                    .iter()
                    .position(|c| c.event.alarm == Some(esc.alarm) && c.event.kind == kind);
                if found.is_none() {
                    tracing::warn!(alarm = esc.alarm, ?kind, "escalation without its event");
                }
                found.map(|i| (i, esc))
            })
            .collect();
        let mut ops = Vec::new();
        for (i, c) in events.iter().enumerate() {
            self.plan_event(&mut ops, outcome, c);
            for (_, esc) in carried.iter().filter(|(at, _)| *at == i) {
                self.plan_escalation(&mut ops, outcome, esc, c);
            }
        }
        ops
    }
}

impl Planner {
    /// Rows an event owes by itself: the test report, a zone restore, an alarm tripped
    /// again after its zone's restore, a reportable event that is no alarm.
    fn plan_event(&self, ops: &mut Vec<OutboxOp>, outcome: &Outcome, c: &CommittedEvent) {
        let e = &c.event;
        match (e.kind, e.alarm, e.code) {
            (EventKind::TestReport, _, _) => {
                self.enqueue_each(ops, &self.policy.test_channels, NoticeKind::Test, c)
            }
            (EventKind::AlarmZoneRestored, Some(id), Some(code)) => {
                let alarm = outcome
                    .alarms
                    .iter()
                    .find(|a| a.id == id)
                    .map(AlarmInfo::of);
                let told_about = outcome
                    .zone_restores
                    .iter()
                    .find(|r| r.alarm == id && r.code == code)
                    .map(|r| {
                        r.alarms
                            .iter()
                            .filter_map(|a| i64::try_from(*a).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                self.tell_those_told(ops, alarm, told_about, c);
            }
            (EventKind::AlarmRetriggered, Some(id), Some(_))
                if outcome.retriggered_after_restore.contains(&id) =>
            {
                let alarm = outcome
                    .alarms
                    .iter()
                    .find(|a| a.id == id)
                    .map(AlarmInfo::of);
                self.tell_those_told(ops, alarm, Vec::new(), c);
            }
            (_, None, Some(_)) => self.enqueue_each(ops, &self.policy.events, NoticeKind::Event, c),
            _ => {}
        }
    }

    /// Rows an alarm's escalation owes, carried by `event`.
    fn plan_escalation(
        &self,
        ops: &mut Vec<OutboxOp>,
        outcome: &Outcome,
        esc: &crate::engine::Escalation,
        event: &CommittedEvent,
    ) {
        let alarm = outcome
            .alarms
            .iter()
            .find(|a| a.id == esc.alarm)
            .map(AlarmInfo::of);
        let Ok(alarm_id) = i64::try_from(esc.alarm) else {
            return;
        };
        let at_ms = event.event.at.0;
        match esc.trigger {
            EscalationTrigger::Raised => self.raise(ops, alarm, esc.category, esc.confirmed, event),
            EscalationTrigger::Confirmed => {
                if esc.category == Category::Burglary {
                    ops.push(OutboxOp::Expedite {
                        alarm_id,
                        max_tier: self.policy.confirmed_tier,
                        at_ms,
                    });
                }
                self.tell_those_told(ops, alarm, Vec::new(), event);
            }
            EscalationTrigger::Acknowledged
            | EscalationTrigger::Resolved
            | EscalationTrigger::Cancelled => {
                ops.push(OutboxOp::SkipNotDue {
                    alarm_id,
                    at_ms,
                    reason: format!("not needed: alarm {}", event.event.kind.as_str()),
                });
                self.tell_those_told(ops, alarm, Vec::new(), event);
            }
        }
    }
}
