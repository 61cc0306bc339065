//! The SMS channel: alarms to the phones of the ward police's duty officer, the security
//! manager and the guard on patrol, through **gammu-smsd** and the site's own 4G modem,
//! and commands back from people's phones ([`inbox`]).
//!
//! gammu-smsd (Debian's `gammu-smsd`) drives hundreds of modems; picket speaks to it
//! through its SQL backend on an SQLite file ([`gammu`]) rather than its files backend
//! and `gammu-smsd-inject`, because the database says what became of every message —
//! transmitted, refused with gammu-smsd's error, delivered by the network's report — and
//! the modem's registration and signal, which the files backend cannot tell; and a queued
//! message is found again by its id after a restart, so nothing is handed over twice.
//!
//! A row is `sent` once gammu-smsd has transmitted every part to every recipient, and
//! `acknowledged` when every part's delivery report says delivered (then also later, when
//! reports arrive after the row was marked sent). gammu-smsd silent or its modem off the
//! network for `lost_after_s` is trouble 350 naming the SMS path, restored when back.

pub mod commands;
pub mod gammu;
pub mod inbox;
pub mod text;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use super::{Deliver, DeliveryError};
use crate::config::{Config, SmsChannel, SmsEncoding};
use crate::engine::{ContactId, SystemTrouble};
use crate::escalation::{Notice, Policy};
use crate::journal::{Delivery, DeliveryState, Journal};
use crate::shared::health::{LinkState, ModemStatus, PathStatus};
use gammu::{GammuDb, PhoneStatus, SendStatus};
use text::{Places, Style};

/// How often a waiting delivery looks at gammu-smsd's tables.
const POLL: Duration = Duration::from_millis(200);

/// Sent messages whose delivery reports are still awaited, at most.
const AWAITED_REPORTS: usize = 256;

/// How long a delivery report is waited for after the message went out.
const REPORT_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Commands received on an SMS channel, shared by its inbox reader and its health.
#[derive(Debug, Default)]
pub struct InboxCounters {
    /// Messages read from people's phones.
    pub received: AtomicU64,
    /// Of those, from numbers no person has.
    pub from_unlisted: AtomicU64,
    /// Commands refused for a wrong code (they count towards the SMS way's lockout).
    pub wrong_codes: AtomicU64,
}

/// A message handed over whose delivery reports are awaited.
struct AwaitedReport {
    /// The outbox row's message id.
    message_id: String,
    /// One gammu-smsd message per recipient.
    creators: Vec<String>,
    /// Parts of each.
    parts: usize,
    /// Given up after this.
    until: Instant,
}

/// An SMS channel.
pub struct SmsDelivery {
    /// Channel id.
    id: String,
    /// gammu-smsd's database.
    db: GammuDb,
    /// The database's schema was found right.
    schema_checked: bool,
    /// Names of areas and zones, the site's time zone.
    places: Places,
    /// Encoding, parts, numbers to call.
    style: Style,
    /// Default recipients.
    to: Vec<String>,
    /// Recipients by tier number.
    tier_to: BTreeMap<u32, Vec<String>>,
    /// Ask for delivery reports.
    reports: bool,
    /// Longest wait for gammu-smsd to transmit.
    send_timeout: Duration,
    /// gammu-smsd silent or off the network this long is trouble.
    lost_after: Duration,
    /// The modem path, for health.
    path: PathStatus,
    /// The modem as last read.
    modem: Option<PhoneStatus>,
    /// Since when the modem or gammu-smsd has looked lost.
    unwell_since: Option<Instant>,
    /// Trouble 350 raised and not yet restored.
    lost: bool,
    /// Trouble changes not yet taken.
    changes: Vec<SystemTrouble>,
    /// Deliveries whose reports are awaited.
    awaited: VecDeque<AwaitedReport>,
    /// Confirmations not yet taken.
    confirmed: Vec<(String, i64)>,
    /// Shared with the inbox reader.
    counters: Arc<InboxCounters>,
    /// People's phones, so a duress alarm is not texted to the phone of the person under
    /// duress (whoever forces them may be holding it).
    journal: Option<Journal>,
}

impl SmsDelivery {
    /// Gives the channel people's phones, so a duress alarm (121) skips the phone of the
    /// person who entered the duress code.
    pub fn with_journal(mut self, journal: Journal) -> SmsDelivery {
        self.journal = Some(journal);
        self
    }

    /// The phone of the person a duress alarm names, if the channel knows people.
    async fn phone_under_duress(&self, notice: &Notice) -> Result<Option<String>, DeliveryError> {
        let (Some(journal), Some(121), Some(user)) =
            (&self.journal, notice.event.code, &notice.event.user)
        else {
            return Ok(None);
        };
        journal
            .phone_of(user)
            .await
            .map_err(|e| DeliveryError::retry(format!("sms {}: {e}", self.id)))
    }

    /// An SMS channel from its (validated) configuration.
    pub fn new(
        config: &SmsChannel,
        site: &Config,
        policy: &Policy,
        counters: Arc<InboxCounters>,
    ) -> Result<SmsDelivery, String> {
        let tier_to = policy.by_tier_number(&config.tier_to);
        Ok(SmsDelivery {
            id: config.id.clone(),
            db: GammuDb::new(&config.database, config.phone_id.clone()),
            schema_checked: false,
            places: Places::from_config(site),
            style: Style {
                encoding: config.encoding,
                max_parts: usize::from(config.max_parts),
                call_fire: config.call_fire.clone(),
                call_police: config.call_police.clone(),
            },
            to: config.to.clone(),
            tier_to,
            reports: config.delivery_reports,
            send_timeout: Duration::from_secs(u64::from(config.send_timeout_s)),
            lost_after: Duration::from_secs(u64::from(config.lost_after_s)),
            path: PathStatus {
                name: "gammu-smsd".into(),
                ..PathStatus::default()
            },
            modem: None,
            unwell_since: None,
            lost: false,
            changes: Vec::new(),
            awaited: VecDeque::new(),
            confirmed: Vec::new(),
            counters,
            journal: None,
        })
    }

    /// gammu-smsd's id for one recipient's copy of a delivery.
    fn creator(message_id: &str, number: &str) -> String {
        format!("picket {message_id} {number}")
    }

    /// Reads the modem's state, and raises or restores trouble when it has been lost (or
    /// back) long enough.
    async fn check_modem(&mut self) {
        let now = Instant::now();
        let (well, why) = match self.db.phone().await {
            Ok(Some(p)) => {
                let why = if !self.heard_lately(&p) {
                    format!("gammu-smsd silent for {} s", p.age_s)
                } else if !p.registered() {
                    "the modem is not registered on a network".to_string()
                } else {
                    String::new()
                };
                self.modem = Some(p);
                (why.is_empty(), why)
            }
            Ok(None) => {
                self.modem = None;
                (false, "gammu-smsd has not reported a phone".into())
            }
            Err(e) => {
                self.modem = None;
                (false, e)
            }
        };
        if well {
            self.path.state = LinkState::Up;
            self.path.last_success_ms = Some(jiff::Timestamp::now().as_millisecond());
            self.path.last_error = None;
            self.unwell_since = None;
        } else {
            self.path.state = LinkState::Down;
            self.path.last_error = Some(why);
            self.unwell_since.get_or_insert(now);
        }
        let lost = self
            .unwell_since
            .is_some_and(|since| now.duration_since(since) >= self.lost_after);
        if lost != self.lost {
            self.lost = lost;
            self.changes.push(SystemTrouble {
                number: None,
                id: format!("channel:{}:modem", self.id),
                code: ContactId(350),
                active: lost,
                what_vi: format!("đường SMS của kênh {} (gammu-smsd và modem)", self.id),
                what_en: format!("the SMS path of channel {} (gammu-smsd and modem)", self.id),
            });
        }
    }

    /// gammu-smsd refreshed its status within `lost_after`.
    fn heard_lately(&self, p: &PhoneStatus) -> bool {
        p.age_s <= i64::try_from(self.lost_after.as_secs()).unwrap_or(i64::MAX)
    }

    /// Looks for delivery reports of messages handed over earlier.
    async fn check_reports(&mut self) {
        let now = Instant::now();
        while self.awaited.front().is_some_and(|a| a.until <= now) {
            self.awaited.pop_front();
        }
        let mut still = VecDeque::new();
        while let Some(a) = self.awaited.pop_front() {
            if self.all_delivered(&a.creators, a.parts).await {
                self.confirmed
                    .push((a.message_id, jiff::Timestamp::now().as_millisecond()));
            } else {
                still.push_back(a);
            }
        }
        self.awaited = still;
    }

    async fn all_delivered(&self, creators: &[String], parts: usize) -> bool {
        for c in creators {
            match self.db.status(c, parts).await {
                Ok(SendStatus::Sent { delivered: true }) => {}
                _ => return false,
            }
        }
        true
    }
}

impl Deliver for SmsDelivery {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        if !self.schema_checked {
            self.db
                .check()
                .await
                .map_err(|e| DeliveryError::retry(format!("sms {}: {e}", self.id)))?;
            self.schema_checked = true;
        }
        let mut numbers = self.tier_to.get(&d.tier).unwrap_or(&self.to).clone();
        if let Some(phone) = self.phone_under_duress(notice).await? {
            numbers.retain(|n| *n != phone);
            if numbers.is_empty() {
                tracing::info!(
                    channel = %self.id,
                    message = %d.message_id,
                    "duress alarm not texted: its only recipient is the phone of the person under duress"
                );
                return Ok(DeliveryState::Sent);
            }
        }
        // The same reference on every retry, so a handset joins the right parts.
        let reference = <sha2::Sha256 as sha2::Digest>::digest(d.message_id.as_bytes());
        let parts = text::write(notice, d.alarm_id, &self.places, &self.style, reference[0]);
        let unicode = self.style.encoding == SmsEncoding::Unicode;
        let creators: Vec<(String, &String)> = numbers
            .iter()
            .map(|n| (Self::creator(&d.message_id, n), n))
            .collect();
        let started = Instant::now();
        let mut next_modem_check = started;
        loop {
            let mut waiting = Vec::new();
            let mut all_delivered = true;
            for (creator, number) in &creators {
                let status = self
                    .db
                    .status(creator, parts.len())
                    .await
                    .map_err(|e| DeliveryError::retry(format!("sms {}: {e}", self.id)))?;
                match status {
                    SendStatus::Unknown => {
                        self.db
                            .queue(creator, number, &parts, unicode, self.reports)
                            .await
                            .map_err(|e| DeliveryError::retry(format!("sms {}: {e}", self.id)))?;
                        waiting.push(number.as_str());
                    }
                    SendStatus::Waiting => waiting.push(number.as_str()),
                    SendStatus::Failed(why) => {
                        // Queued again on the next try, under the same id.
                        self.db
                            .set_aside(creator)
                            .await
                            .map_err(|e| DeliveryError::retry(format!("sms {}: {e}", self.id)))?;
                        return Err(DeliveryError::retry(format!(
                            "sms {} to {number}: {why}",
                            self.id
                        )));
                    }
                    SendStatus::Sent { delivered } => all_delivered &= delivered,
                }
            }
            if waiting.is_empty() {
                if all_delivered && self.reports {
                    return Ok(DeliveryState::Acknowledged);
                }
                if self.reports {
                    if self.awaited.len() >= AWAITED_REPORTS {
                        self.awaited.pop_front();
                    }
                    self.awaited.push_back(AwaitedReport {
                        message_id: d.message_id.clone(),
                        creators: creators.iter().map(|(c, _)| c.clone()).collect(),
                        parts: parts.len(),
                        until: Instant::now() + REPORT_WAIT,
                    });
                }
                return Ok(DeliveryState::Sent);
            }
            let now = Instant::now();
            if now >= next_modem_check {
                self.check_modem().await;
                next_modem_check = now + Duration::from_secs(1);
                if self.changes.iter().any(|t| t.active) {
                    return Err(DeliveryError::retry(format!(
                        "sms {}: {}; the message stays queued with gammu-smsd",
                        self.id,
                        self.path.last_error.as_deref().unwrap_or("SMS path lost")
                    )));
                }
            }
            if now.duration_since(started) >= self.send_timeout {
                return Err(DeliveryError::retry(format!(
                    "sms {}: gammu-smsd has not transmitted the message to {} within {} s; \
                     it stays queued there",
                    self.id,
                    waiting.join(", "),
                    self.send_timeout.as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn supervision_interval(&self) -> Option<Duration> {
        Some((self.lost_after / 4).clamp(Duration::from_secs(1), Duration::from_secs(15)))
    }

    async fn supervise(&mut self) {
        self.check_modem().await;
        self.check_reports().await;
    }

    fn trouble_changes(&mut self) -> Vec<SystemTrouble> {
        std::mem::take(&mut self.changes)
    }

    fn paths(&self) -> Vec<PathStatus> {
        vec![self.path.clone()]
    }

    fn confirmations(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.confirmed)
    }

    fn modem(&self) -> Option<ModemStatus> {
        let p = self.modem.as_ref();
        Some(ModemStatus {
            daemon_alive: p.is_some_and(|p| self.heard_lately(p)),
            status_age_s: p.map(|p| p.age_s),
            registered: p.is_some_and(PhoneStatus::registered),
            network: p.map(|p| p.net_name.clone()).unwrap_or_default(),
            signal_percent: p.map_or(-1, |p| p.signal_percent),
            commands_received: self.counters.received.load(Ordering::Relaxed),
            from_unlisted: self.counters.from_unlisted.load(Ordering::Relaxed),
            wrong_codes: self.counters.wrong_codes.load(Ordering::Relaxed),
        })
    }
}
