//! Where a person enters a code: the MQTT command topic, the command line (through the
//! control socket), an SMS, the page's on-screen keypad. One place reads what they asked,
//! checks the code against the users' argon2id hashes, locks that way in out after
//! repeated wrong codes, logs and audits every refusal, and submits the verified command
//! through the engine, so every way in behaves the same and the engine's role checks and
//! audit apply to all of them.

use serde_json::Value;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

use crate::engine::{
    Actor, AuditEntry, Command, CommandKind, Input, Mode, Origin, Resolution, Timestamp,
};
use crate::journal::Journal;
use crate::log_limit::RateLimit;
use crate::shared::engine_handle::{EngineHandle, SubmitError};

/// Wrong codes tolerated within [`FAILURE_WINDOW`] before the way in locks.
pub const MAX_FAILURES: usize = 5;
/// Window for counting wrong codes.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// How long a way in stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(300);

/// What a person asked, as every way in carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `arm_away`, `arm_home`, `arm_night`, `arm` (with `mode`), `force_arm_away|home|night`
    /// (supervisors), `disarm`, `ack`, `resolve` (any case).
    pub action: String,
    /// The area, for arming and disarming.
    pub area: String,
    /// `away`, `home`, `night` (or `armed_…`), for `arm`.
    pub mode: String,
    /// The alarm, for acknowledging and resolving.
    pub alarm: Option<u64>,
    /// `real`, `false`, `test` or `unknown`, for resolving.
    pub resolution: String,
    /// A note for the alarm.
    pub note: String,
    /// The person's arming (or duress) code.
    pub code: String,
}

impl Request {
    /// From a JSON object (`{"action","area","mode","alarm","resolution","note","code"}`).
    pub fn from_json(v: &Value) -> Request {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Request {
            action: text("action"),
            area: text("area"),
            mode: text("mode"),
            alarm: v.get("alarm").and_then(|a| {
                a.as_u64()
                    .or_else(|| a.as_str().and_then(|s| s.parse().ok()))
            }),
            resolution: text("resolution"),
            note: text("note"),
            code: text("code"),
        }
    }

    /// The command asked for, or why it is not one.
    pub fn command(&self) -> Result<CommandKind, Answer> {
        let arm_as = |mode, force| {
            Ok(CommandKind::Arm {
                area: self.area.clone(),
                mode,
                force,
            })
        };
        let arm = |mode| arm_as(mode, false);
        let alarm = || {
            self.alarm.ok_or_else(|| {
                Answer::refused("thiếu số báo động", "the command needs an alarm number")
            })
        };
        match self.action.to_ascii_lowercase().as_str() {
            "arm_away" => arm(Mode::ArmedAway),
            "arm_home" => arm(Mode::ArmedHome),
            "arm_night" => arm(Mode::ArmedNight),
            // Supervisors only: the engine refuses anyone else.
            "force_arm_away" => arm_as(Mode::ArmedAway, true),
            "force_arm_home" => arm_as(Mode::ArmedHome, true),
            "force_arm_night" => arm_as(Mode::ArmedNight, true),
            "arm" => match self.mode.to_ascii_lowercase().as_str() {
                "home" | "armed_home" => arm(Mode::ArmedHome),
                "night" | "armed_night" => arm(Mode::ArmedNight),
                "" | "away" | "armed_away" => arm(Mode::ArmedAway),
                other => Err(Answer::refused(
                    "chế độ không hợp lệ",
                    format!(
                        "unknown mode `{}`; use away, home or night",
                        crate::text::for_log(other)
                    ),
                )),
            },
            "disarm" => Ok(CommandKind::Disarm {
                area: self.area.clone(),
            }),
            "ack" | "acknowledge" => Ok(CommandKind::Acknowledge {
                alarm: alarm()?,
                note: self.note.clone(),
            }),
            "resolve" => {
                let resolution = Resolution::parse(&self.resolution.to_ascii_lowercase())
                    .ok_or_else(|| {
                        Answer::refused(
                            "thiếu kết luận: real, false, test hoặc unknown",
                            "resolve needs a resolution: real, false, test or unknown",
                        )
                    })?;
                Ok(CommandKind::Resolve {
                    alarm: alarm()?,
                    resolution,
                    note: self.note.clone(),
                })
            }
            other => Err(Answer::refused(
                "lệnh không hợp lệ",
                format!(
                    "unknown command `{}`; use arm_away, arm_home, arm_night, disarm, ack or \
                     resolve",
                    crate::text::for_log(other)
                ),
            )),
        }
    }
}

/// The answer a person gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The command was carried out (and committed).
    pub ok: bool,
    /// Why not, in Vietnamese.
    pub reason_vi: String,
    /// Why not, in English.
    pub reason_en: String,
    /// The code was wrong (counted for lockouts and `/metrics`).
    pub wrong_code: bool,
    /// Who it was, when the code was right.
    pub user: Option<String>,
}

impl Answer {
    fn done(user: &str) -> Answer {
        Answer {
            ok: true,
            reason_vi: String::new(),
            reason_en: String::new(),
            wrong_code: false,
            user: Some(user.to_string()),
        }
    }

    /// A refusal, in both languages.
    pub fn refused(vi: impl Into<String>, en: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            reason_vi: vi.into(),
            reason_en: en.into(),
            wrong_code: false,
            user: None,
        }
    }
}

/// One way in: its wrong-code count and lockout, and where the commands go.
pub struct Keypad {
    /// Where the code was entered, for the audit log and opening/closing codes.
    origin: Origin,
    /// The users.
    journal: Journal,
    /// Where commands go.
    engine: EngineHandle,
    /// Times of recent wrong codes.
    failures: VecDeque<Instant>,
    /// Locked until this time.
    locked_until: Option<Instant>,
    /// Wrong codes are logged, at most a few a minute.
    wrong_code_log: RateLimit,
}

impl Keypad {
    /// A way in of the given origin.
    pub fn new(origin: Origin, journal: Journal, engine: EngineHandle) -> Keypad {
        Keypad {
            origin,
            journal,
            engine,
            failures: VecDeque::new(),
            locked_until: None,
            wrong_code_log: RateLimit::default(),
        }
    }

    /// Checks the code and carries out the request; answers once it is committed (or
    /// refused). `from` says from where (a client address, a phone number), for the log
    /// and the audit.
    pub async fn enter(&mut self, request: &Request, from: &str) -> Answer {
        self.enter_as(request, from, None).await
    }

    /// As [`Keypad::enter`], for a way in where the person is known already (a page
    /// session): the code must be that person's own (or their duress code); anyone
    /// else's counts as a wrong code.
    pub async fn enter_as(
        &mut self,
        request: &Request,
        from: &str,
        person: Option<&str>,
    ) -> Answer {
        let kind = match request.command() {
            Ok(kind) => kind,
            Err(answer) => return answer,
        };
        let action = kind.action_name();
        let target = kind.target();
        let now = Instant::now();
        if self.locked_until.is_some_and(|t| t > now) {
            self.audit_refusal(
                action,
                &target,
                from,
                "refused: locked out after repeated wrong codes",
            )
            .await;
            return Answer::refused(
                "tạm khóa do nhập sai mã nhiều lần",
                "locked out after repeated wrong codes; try again later",
            );
        }
        let user = match self.journal.find_by_code(&request.code).await {
            Ok(Some(user)) if person.is_none_or(|p| p == user.name) => user,
            Ok(Some(_)) => return self.wrong_code(action, &target, from, now).await,
            Ok(None) => return self.wrong_code(action, &target, from, now).await,
            Err(e) => {
                return Answer::refused("lỗi kiểm tra mã", format!("code check failed: {e}"));
            }
        };
        let command = Command {
            kind,
            actor: Actor {
                user: user.name.clone(),
                role: user.role,
                duress: user.duress,
                origin: self.origin,
                number: Some(user.number),
                address: Some(from.to_string()),
            },
        };
        match self.engine.command(command).await {
            Ok(_) => Answer::done(&user.name),
            Err(SubmitError::Refused(r)) => Answer {
                user: Some(user.name),
                ..Answer::refused(r.reason_vi, r.reason_en)
            },
            Err(e) => Answer {
                user: Some(user.name),
                ..Answer::refused("chưa ghi được", e.to_string())
            },
        }
    }

    async fn wrong_code(&mut self, action: &str, target: &str, from: &str, now: Instant) -> Answer {
        self.failures.push_back(now);
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > FAILURE_WINDOW)
        {
            self.failures.pop_front();
        }
        let locked = self.failures.len() >= MAX_FAILURES;
        if locked {
            self.locked_until = Some(now + LOCKOUT);
            self.failures.clear();
            tracing::error!(
                origin = self.origin.as_str(),
                from = %crate::text::for_log(from),
                "locked for {} s after {MAX_FAILURES} wrong codes",
                LOCKOUT.as_secs()
            );
        } else {
            crate::warn_limited!(
                &mut self.wrong_code_log,
                origin = self.origin.as_str(),
                from = %crate::text::for_log(from),
                action,
                target = %crate::text::for_log(target),
                "wrong code entered"
            );
        }
        let result = if locked {
            "refused: wrong code; locked out"
        } else {
            "refused: wrong code"
        };
        self.audit_refusal(action, target, from, result).await;
        Answer {
            wrong_code: true,
            ..Answer::refused("sai mã", "wrong code")
        }
    }

    /// Records a refused attempt by nobody known in the audit log.
    async fn audit_refusal(&self, action: &str, target: &str, from: &str, result: &str) {
        self.audit("unknown", action, target, from, result).await;
    }

    /// Records what happened at this way in that was no command (a message from a number
    /// no person has, a status request) in the audit log, through the engine, the
    /// journal's only writer.
    pub async fn audit(&self, user: &str, action: &str, target: &str, from: &str, result: &str) {
        let entry = AuditEntry {
            // Stamped by the engine.
            at: Timestamp::default(),
            user: user.to_string(),
            role: None,
            origin: self.origin,
            address: Some(from.to_string()),
            action: action.to_string(),
            target: target.to_string(),
            result: result.to_string(),
        };
        drop(self.engine.submit_nowait(Input::Audit(entry)).await);
    }
}
