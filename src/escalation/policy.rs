//! The escalation policy compiled from `[escalation]` and `[[channels]]`, in the terms the
//! planner needs: delays in milliseconds, tiers by number, channel kinds by id.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::config::{Channel, Config, Escalation};
use crate::engine::Category;

/// One tier: who is told, how long after the alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPlan {
    /// Name (`guards`, `security`, `police`).
    pub name: String,
    /// Delay after the alarm.
    pub delay_ms: i64,
    /// Channels told.
    pub channels: Vec<String>,
}

/// The compiled policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Tiers in order; tier number `n` is `tiers[n - 1]` (0 means "not tiered").
    pub tiers: Vec<TierPlan>,
    /// Tier number a confirmed intrusion jumps to (with every tier before it).
    pub confirmed_tier: u32,
    /// Channels told at once, per alarm category name.
    pub at_once: BTreeMap<String, Vec<String>>,
    /// Channels told of reportable events that are not alarms.
    pub events: Vec<String>,
    /// Channels receiving the periodic test report.
    pub test_channels: Vec<String>,
    /// Time between periodic test reports.
    pub test_every: Option<Duration>,
    /// How long finished deliveries are kept.
    pub retention: Duration,
    /// A delivery pending this long past its due time is stuck.
    pub stuck_after: Duration,
    /// Channels that carry status updates without a Contact ID code (acknowledged,
    /// resolved): webhook and upstream MQTT. DC-09 cannot; email would only be noise.
    pub status_channels: Vec<String>,
    /// `(channel, tier number)` where the channel has recipients of the tier's own
    /// (`tier_to`, `tier_urls`): such a tier tells the channel again, with its own row,
    /// although an earlier tier told it already.
    pub own_recipients: BTreeSet<(String, u32)>,
}

impl Policy {
    /// The policy of a validated configuration; an empty one when `[escalation]` is absent.
    pub fn from_config(config: &Config) -> Policy {
        let status_channels = config
            .channels
            .iter()
            .filter(|c| matches!(c, Channel::Webhook(_) | Channel::Mqtt(_)))
            .map(|c| c.id().to_string())
            .collect();
        let none = Escalation::default();
        let e = config.escalation.as_ref().unwrap_or(&none);
        let tiers: Vec<TierPlan> = e
            .tiers
            .iter()
            .map(|t| TierPlan {
                name: t.name.clone(),
                delay_ms: i64::from(t.delay_s) * 1000,
                channels: t.channels.clone(),
            })
            .collect();
        let own_recipients = config
            .channels
            .iter()
            .flat_map(|c| {
                let names: Vec<&String> = match c {
                    Channel::Webhook(w) => w.tier_urls.keys().collect(),
                    Channel::Sms(s) => s.tier_to.keys().collect(),
                    _ => Vec::new(),
                };
                names.into_iter().filter_map(|name| {
                    let n = tiers.iter().position(|t| &t.name == name)?;
                    Some((c.id().to_string(), u32::try_from(n + 1).ok()?))
                })
            })
            .collect();
        let confirmed_tier = e
            .confirmed_tier
            .as_ref()
            .and_then(|name| tiers.iter().position(|t| &t.name == name))
            .map_or(tiers.len(), |i| i + 1);
        Policy {
            confirmed_tier: u32::try_from(confirmed_tier).unwrap_or(0),
            tiers,
            at_once: e
                .categories
                .iter()
                .map(|(k, v)| (k.clone(), v.at_once.clone()))
                .collect(),
            events: e.events.clone(),
            test_channels: e
                .test_report
                .as_ref()
                .map(|t| t.channels.clone())
                .unwrap_or_default(),
            test_every: e
                .test_report
                .as_ref()
                .map(|t| Duration::from_secs(u64::from(t.every_h) * 3600)),
            retention: Duration::from_secs(u64::from(e.retention_days) * 86_400),
            stuck_after: Duration::from_secs(u64::from(e.stuck_after_s)),
            status_channels,
            own_recipients,
        }
    }

    /// Per-tier settings of a channel (`tier_urls`, `tier_to`), keyed by tier number
    /// (1-based, as outbox rows carry it); names that are no tier are left out.
    pub fn by_tier_number<T: Clone>(
        &self,
        by_name: &std::collections::BTreeMap<String, T>,
    ) -> std::collections::BTreeMap<u32, T> {
        by_name
            .iter()
            .filter_map(|(name, value)| {
                let n = self.tiers.iter().position(|t| &t.name == name)?;
                Some((u32::try_from(n + 1).ok()?, value.clone()))
            })
            .collect()
    }

    /// Whose recipients a row of `channel` at `tier` reaches: `Some(tier)` when the tier has
    /// its own for the channel, `None` for the channel's usual ones.
    pub fn recipients(&self, channel: &str, tier: u32) -> Option<u32> {
        self.own_recipients
            .iter()
            .any(|(c, t)| c == channel && *t == tier)
            .then_some(tier)
    }

    /// The part of a row's message id that tells the channel's recipients apart: empty for
    /// its usual ones, `#<tier>` for a tier's own.
    pub fn recipients_suffix(&self, channel: &str, tier: u32) -> String {
        self.recipients(channel, tier)
            .map_or_else(String::new, |t| format!("#{t}"))
    }

    /// The `channel#tier` keys of [`Policy::own_recipients`], as the outbox matches rows.
    pub fn own_recipient_keys(&self) -> Vec<String> {
        self.own_recipients
            .iter()
            .map(|(c, t)| format!("{c}#{t}"))
            .collect()
    }

    /// The name of tier `n` (1-based), `at_once` for 0.
    pub fn tier_name(&self, n: u32) -> &str {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.tiers.get(i))
            .map_or("at_once", |t| t.name.as_str())
    }

    /// Every channel of an alarm of this category, with the tier that first tells it and
    /// the delay after the alarm; channels told at once come first. A channel is told
    /// once, except that a tier with recipients of its own for the channel (`tier_to`,
    /// `tier_urls`) tells it again.
    pub fn schedule(&self, category: Category) -> Vec<(String, u32, i64)> {
        let mut out: Vec<(String, u32, i64)> = Vec::new();
        let mut add = |channel: &String, tier: u32, delay: i64| {
            let who = self.recipients(channel, tier);
            if !out
                .iter()
                .any(|(c, t, _)| c == channel && self.recipients(c, *t) == who)
            {
                out.push((channel.clone(), tier, delay));
            }
        };
        for channel in self.at_once.get(category.as_str()).into_iter().flatten() {
            add(channel, 0, 0);
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            for channel in &tier.channels {
                add(
                    channel,
                    u32::try_from(i + 1).unwrap_or(u32::MAX),
                    tier.delay_ms,
                );
            }
        }
        out
    }

    /// Every channel in the policy, in first-mentioned order.
    pub fn channels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self
            .at_once
            .values()
            .flatten()
            .chain(self.tiers.iter().flat_map(|t| &t.channels))
            .chain(&self.events)
            .chain(&self.test_channels);
        for c in all {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }
}
