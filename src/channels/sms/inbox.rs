//! Commands by SMS: reads what gammu-smsd received, and answers the people whose phone it
//! is.
//!
//! A message from a person's phone (`picket user phone`, the users page) is a command
//! ([`super::commands`]); its code is checked by the [`Keypad`] like every code (a duress
//! code works, wrong codes count towards the SMS way's lockout), the command goes through
//! the engine like a click on the page, and a reply says what was done. A message from a
//! number no person has gets no answer (it would tell a stranger the gateway is there); it
//! is audited and counted. Each received message is marked read in gammu-smsd's inbox
//! after its command was committed and its reply queued; a reply is queued once per
//! received message, so a restart between the two does not answer twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::InboxCounters;
use super::commands::SmsCommand;
use super::gammu::{GammuDb, Incoming};
use super::text::{self, Places, Style};
use crate::config::{Config, SmsChannel, SmsEncoding};
use crate::engine::Origin;
use crate::journal::Journal;
use crate::keypad::Keypad;
use crate::log_limit::RateLimit;
use crate::shared::changes::Changes;
use crate::shared::engine_handle::EngineHandle;
use crate::shared::shutdown::Shutdown;

/// How often gammu-smsd's inbox is read.
const POLL: Duration = Duration::from_millis(500);
/// Messages taken per read.
const BATCH: u32 = 20;

/// One SMS channel's reader of received messages.
pub struct SmsInbox {
    /// Channel id, for logs.
    channel: String,
    /// gammu-smsd's database.
    db: GammuDb,
    /// People and their phones.
    journal: Journal,
    /// Checks codes and carries out commands; one lockout for the SMS way in; audits.
    keypad: Keypad,
    /// The panel now, for `TT`.
    panel: Changes,
    /// Area names, for replies.
    places: Places,
    /// Area ids by Contact ID area number, so `TAT 2 1234` works.
    area_numbers: BTreeMap<String, String>,
    /// How replies are written.
    style: Style,
    /// Shared with the channel's health.
    counters: Arc<InboxCounters>,
    /// Messages from unlisted numbers are logged at most a few a minute.
    unlisted_log: RateLimit,
}

impl SmsInbox {
    /// The reader of `channel`'s replies.
    pub fn new(
        channel: &SmsChannel,
        config: &Config,
        journal: Journal,
        engine: EngineHandle,
        panel: Changes,
        counters: Arc<InboxCounters>,
    ) -> SmsInbox {
        SmsInbox {
            channel: channel.id.clone(),
            db: GammuDb::new(&channel.database, channel.phone_id.clone()),
            keypad: Keypad::new(Origin::Sms, journal.clone(), engine),
            journal,
            panel,
            places: Places::from_config(config),
            area_numbers: config
                .areas
                .iter()
                .filter_map(|a| Some((a.number?.to_string(), a.id.clone())))
                .collect(),
            style: Style {
                encoding: channel.encoding,
                max_parts: usize::from(channel.max_parts),
                call_fire: String::new(),
                call_police: String::new(),
            },
            counters,
            unlisted_log: RateLimit::default(),
        }
    }

    /// Reads and answers received messages until shutdown.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        loop {
            match self.db.unread(BATCH).await {
                Ok(messages) => {
                    for m in messages {
                        if shutdown.is_triggered() {
                            return;
                        }
                        self.handle(&m).await;
                    }
                }
                Err(e) => crate::warn_limited!(
                    &mut self.unlisted_log,
                    channel = self.channel,
                    error = %e,
                    "cannot read received SMS"
                ),
            }
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One received message: carried out and answered, or ignored; then marked read.
    async fn handle(&mut self, m: &Incoming) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let person = match self.journal.person_by_phone(&m.sender).await {
            Ok(p) => p,
            Err(e) => {
                // Not marked read: tried again once the journal answers.
                tracing::warn!(channel = self.channel, error = %e, "cannot look up an SMS sender");
                return;
            }
        };
        let from = crate::text::for_log(&m.sender);
        match person {
            None => {
                self.counters.from_unlisted.fetch_add(1, Ordering::Relaxed);
                crate::warn_limited!(
                    &mut self.unlisted_log,
                    channel = self.channel,
                    from = %from,
                    text = %crate::text::for_log(&m.text),
                    "SMS from a number no person has; ignored"
                );
                self.audit("unknown", &from, "sms", "ignored: number not listed")
                    .await;
            }
            Some(name) => {
                let (vi, en) = self.carry_out(&name, &from, &m.text).await;
                let parts = text::fit(&vi, &en, &self.style, 0);
                let creator = format!("picket reply {}", m.id);
                let unicode = self.style.encoding == SmsEncoding::Unicode;
                if let Err(e) = self
                    .db
                    .queue(&creator, &m.sender, &parts, unicode, false)
                    .await
                {
                    tracing::warn!(channel = self.channel, error = %e, "cannot queue an SMS reply");
                    return;
                }
            }
        }
        if let Err(e) = self.db.mark_processed(m.id).await {
            tracing::warn!(channel = self.channel, error = %e, "cannot mark an SMS read");
        }
    }

    /// Carries out a listed person's message; the reply in both languages.
    async fn carry_out(&mut self, name: &str, from: &str, text: &str) -> (String, String) {
        let command = SmsCommand::parse(text);
        if command == SmsCommand::Status {
            self.audit(name, from, "sms_status", "ok").await;
            return self.status();
        }
        let Some(request) = command.request(|a| self.area_id(a)) else {
            self.audit(name, from, "sms", "refused: not a command")
                .await;
            return (
                "Lệnh: OK <số báo động> <mã>; TAT <khu> <mã>; BAT <khu> [VANG|NHA|DEM] <mã>; TT"
                    .into(),
                "Commands: OK <alarm> <code>; DISARM <area> <code>; ARM <area> [AWAY|HOME|NIGHT] <code>; STATUS"
                    .into(),
            );
        };
        let answer = self.keypad.enter_as(&request, from, Some(name)).await;
        if answer.wrong_code {
            self.counters.wrong_codes.fetch_add(1, Ordering::Relaxed);
        }
        if !answer.ok {
            return (
                format!("Không thực hiện: {}", answer.reason_vi),
                format!("Not done: {}", answer.reason_en),
            );
        }
        match command {
            SmsCommand::Acknowledge { alarm, .. } => (
                format!("Đã tiếp nhận báo động {alarm} ({name})."),
                format!("Alarm {alarm} acknowledged ({name})."),
            ),
            SmsCommand::Disarm { .. } => (
                format!(
                    "Đã tắt báo động {}.",
                    self.places.area(&request.area, false)
                ),
                format!("{} disarmed.", self.places.area(&request.area, true)),
            ),
            _ => (
                format!(
                    "Đã bật báo động {}.",
                    self.places.area(&request.area, false)
                ),
                format!(
                    "{} armed ({}).",
                    self.places.area(&request.area, true),
                    request.mode
                ),
            ),
        }
    }

    /// `TT`: the open alarms and every area's mode.
    fn status(&self) -> (String, String) {
        let panel = self.panel.panel();
        let mut vi = Vec::new();
        let mut en = Vec::new();
        for a in panel.areas.values() {
            vi.push(format!(
                "{}: {}",
                self.places.area(&a.area, false),
                a.mode.name_vi()
            ));
            en.push(format!(
                "{}: {}",
                self.places.area(&a.area, true),
                a.mode.name_en()
            ));
        }
        let alarms: Vec<String> = panel
            .alarms
            .values()
            .map(|a| format!("{} {} {}", a.id, a.code, self.places.area(&a.area, false)))
            .collect();
        let open_vi = if alarms.is_empty() {
            "không có báo động".to_string()
        } else {
            format!("báo động: {}", alarms.join(", "))
        };
        let open_en = if alarms.is_empty() {
            "no open alarms".to_string()
        } else {
            format!("alarms: {}", alarms.join(", "))
        };
        (
            format!("{}; {open_vi}", vi.join("; ")),
            format!("{}; {open_en}", en.join("; ")),
        )
    }

    /// An area as written in a command: its number, or its id in any case.
    fn area_id(&self, written: &str) -> String {
        if let Some(id) = self.area_numbers.get(written) {
            return id.clone();
        }
        let folded = deunicode::deunicode(written).to_lowercase();
        self.places
            .area_ids()
            .find(|id| id.to_lowercase() == folded)
            .map(str::to_string)
            .unwrap_or_else(|| written.to_string())
    }

    async fn audit(&self, user: &str, from: &str, action: &str, result: &str) {
        self.keypad
            .audit(user, action, &self.channel, from, result)
            .await;
    }
}
