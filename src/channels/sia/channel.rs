//! The receiving-centre channel: turns notices into DC-09 messages, sends them over the
//! primary path and then the backup, polls both paths with NULL messages when idle, and
//! reports a path silent beyond its window as trouble 350 (restored when it answers).
//! A receiver answering DUH refuses the message for good: the row is marked failed and
//! trouble 354 (failure to communicate an event) is raised until a delivery succeeds.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::codec::{self, Key, Message, Token};
use super::sia_codes::sia_code;
use super::transmitter::{Protocol, Target, TransmitError, Transmitter};
use crate::channels::{Deliver, DeliveryError, LinkState, PathStatus};
use crate::config::{SiaChannel, SiaFormat, SiaProtocol};
use crate::engine::{Clock, ContactId, SystemTrouble};
use crate::escalation::Notice;
use crate::journal::{Delivery, DeliveryState};

/// One receiver path and how it has been doing.
struct PathState {
    /// `primary` or `backup`.
    name: &'static str,
    /// `host:port`, resolved before every use so a changed address is followed.
    host: String,
    /// Sender with the receiver's clock offset.
    transmitter: Transmitter,
    /// Last answer (start time before the first), for the down window.
    last_ok: Instant,
    /// Last answer, wall time, for health.
    last_ok_ms: Option<i64>,
    /// Failures since the last answer.
    failures: u32,
    /// Last error.
    last_error: Option<String>,
    /// Trouble 350 is open for this path.
    down: bool,
}

/// A DC-09 channel to a receiving centre.
pub struct SiaDelivery {
    /// Channel id, for trouble ids and messages.
    id: String,
    /// Receiver, line and account prefixes every message carries.
    template: Message,
    /// ADM-CID or SIA-DCS.
    format: SiaFormat,
    /// TCP or UDP.
    protocol: Protocol,
    /// AES key, when the account is encrypted.
    key: Option<Key>,
    /// Answer timeout.
    timeout: Duration,
    /// Primary, then backup.
    paths: Vec<PathState>,
    /// A path failing for longer than this is down.
    window: Duration,
    /// NULL poll interval.
    interval: Option<Duration>,
    /// Wall time for health.
    clock: Arc<dyn Clock>,
    /// Trouble changes not yet collected by the worker.
    changes: Vec<SystemTrouble>,
    /// Trouble 354 (DUH) is open.
    refused_open: bool,
    /// Sequence for NULL polls.
    null_sequence: u16,
}

impl SiaDelivery {
    /// A channel from its configuration (already validated).
    pub fn new(config: &SiaChannel, clock: Arc<dyn Clock>) -> Result<SiaDelivery, String> {
        let key = Key::of_channel(config)
            .map_err(|(field, e)| format!("channel {}: {field}: {e}", config.id))?;
        if config.key.as_ref().is_some_and(|k| {
            k.expose().len() == 32 && k.expose().chars().all(|c| c.is_ascii_hexdigit())
        }) {
            tracing::warn!(
                channel = config.id,
                "key is 32 hex digits, read as 32 characters of text (AES-256), as pysiaalarm \
                 reads it; if the centre gave these as hex digits (AES-128), write key_hex instead"
            );
        }
        let path = |name, host: &String| PathState {
            name,
            host: host.clone(),
            transmitter: Transmitter::default(),
            last_ok: Instant::now(),
            last_ok_ms: None,
            failures: 0,
            last_error: None,
            down: false,
        };
        let mut paths = vec![path("primary", &config.primary)];
        if let Some(backup) = &config.backup {
            paths.push(path("backup", backup));
        }
        Ok(SiaDelivery {
            id: config.id.clone(),
            template: Message {
                token: Token::Null,
                sequence: 0,
                receiver: config.receiver.clone(),
                line: config.line.clone(),
                account: Some(config.account.clone()),
                data: String::new(),
                extended: Vec::new(),
                timestamp: None,
            },
            format: config.format,
            protocol: match config.protocol {
                SiaProtocol::Tcp => Protocol::Tcp,
                SiaProtocol::Udp => Protocol::Udp,
            },
            key,
            timeout: Duration::from_secs(u64::from(config.timeout_s)),
            paths,
            window: Duration::from_secs(u64::from(config.path_down_after_s)),
            interval: (config.supervision_s > 0)
                .then(|| Duration::from_secs(u64::from(config.supervision_s))),
            clock,
            changes: Vec::new(),
            refused_open: false,
            null_sequence: 0,
        })
    }

    /// The DC-09 message for a notice.
    fn message(&self, d: &Delivery, n: &Notice) -> Result<Message, DeliveryError> {
        let code = n.event.code.ok_or_else(|| {
            DeliveryError::misconfigured(format!(
                "event {} ({}) has no Contact ID code; a receiving centre cannot take it",
                n.event.seq, n.event.kind
            ))
        })?;
        let account = self.template.account.clone().unwrap_or_default();
        let zone = n.event.zone_number.unwrap_or(0);
        // Contact ID group = the area's number; events of the whole site (troubles of the
        // gateway, the periodic test) go as group 00.
        let group = n.event.area_number.unwrap_or(0);
        let q = n.event.qualifier;
        let (token, data) = match self.format {
            SiaFormat::AdmCid => (
                Token::AdmCid,
                codec::contact_id_data(&account, q, code, group, zone),
            ),
            SiaFormat::SiaDcs => (
                Token::SiaDcs,
                codec::sia_data(&account, group, sia_code(code, q), zone),
            ),
        };
        // Extended data, the same on every message of the channel: the site name; with
        // SIA-DCS also where on the site and the coordinates. Receivers in the field
        // (pysiaalarm among them) take only one block after ADM-CID data, so ADM-CID
        // carries the site name alone.
        let mut extended = vec![format!("S{}", ascii(&n.site.name))];
        if self.format == SiaFormat::SiaDcs {
            let place: Vec<&str> = [n.event.area.as_deref(), n.event.zone.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !place.is_empty() {
                extended.push(format!("L{}", ascii(&place.join("/"))));
            }
            if let (Some(lat), Some(lon)) = (n.site.latitude, n.site.longitude) {
                extended.push(format!("X{lon:.5}"));
                extended.push(format!("Y{lat:.5}"));
            }
        }
        Ok(Message {
            token,
            sequence: sequence_of(d),
            data,
            extended,
            ..self.template.clone()
        })
    }

    async fn target(&self, i: usize) -> Result<Target, TransmitError> {
        let host = &self.paths[i].host;
        let addr = tokio::net::lookup_host(host)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| TransmitError::Unreachable {
                addr: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
                detail: format!("cannot resolve {host}"),
            })?;
        Ok(Target {
            addr,
            protocol: self.protocol,
            key: self.key.clone(),
            timeout: self.timeout,
        })
    }

    /// Sends on path `i` (a message, or a NULL poll when `msg` is None) and records the
    /// path's health.
    async fn send_on(&mut self, i: usize, msg: Option<Message>) -> Result<(), TransmitError> {
        let result = match self.target(i).await {
            Err(e) => Err(e),
            Ok(target) => {
                let path = &mut self.paths[i];
                match msg {
                    Some(m) => path.transmitter.send(&target, m).await,
                    None => {
                        self.null_sequence = self.null_sequence % 9999 + 1;
                        path.transmitter
                            .send_null(&target, self.null_sequence, &self.template)
                            .await
                    }
                }
            }
        };
        let now_ms = self.clock.now().0;
        let path = &mut self.paths[i];
        match &result {
            Ok(()) => {
                path.last_ok = Instant::now();
                path.last_ok_ms = Some(now_ms);
                path.failures = 0;
                path.last_error = None;
            }
            // A DUH is an answer: the path works.
            Err(TransmitError::Duh { .. }) => {
                path.last_ok = Instant::now();
                path.last_ok_ms = Some(now_ms);
                path.failures = 0;
            }
            Err(e) => {
                path.failures += 1;
                path.last_error = Some(e.to_string());
            }
        }
        self.check_window(i);
        result
    }

    /// Opens or closes trouble 350 for path `i` by its window.
    fn check_window(&mut self, i: usize) {
        let path = &mut self.paths[i];
        let down = path.failures > 0 && path.last_ok.elapsed() >= self.window;
        if down == path.down {
            return;
        }
        path.down = down;
        let name = path.name;
        let (vi_name, host) = (
            if name == "primary" {
                "chính"
            } else {
                "dự phòng"
            },
            path.host.clone(),
        );
        self.changes.push(SystemTrouble {
            // Reported as zone 001 (primary) or 002 (backup), so the centre knows which.
            number: Some(if name == "primary" { 1 } else { 2 }),
            id: format!("channel:{}:{name}", self.id),
            code: ContactId(350),
            active: down,
            what_vi: format!(
                "đường truyền {vi_name} tới trung tâm ({host}) của kênh {}",
                self.id
            ),
            what_en: format!(
                "{name} path to the receiving centre ({host}) of channel {}",
                self.id
            ),
        });
    }

    fn refused_trouble(&mut self, active: bool) {
        if self.refused_open == active {
            return;
        }
        self.refused_open = active;
        self.changes.push(SystemTrouble {
            number: None,
            id: format!("channel:{}:refused", self.id),
            code: ContactId(354),
            active,
            what_vi: format!("trung tâm từ chối tin của kênh {} (DUH)", self.id),
            what_en: format!(
                "the receiving centre refused a message of channel {} (DUH)",
                self.id
            ),
        });
    }
}

/// The DC-09 sequence number of a delivery (0001–9999): taken from the journal event it
/// carries, which is the same in the shadow outbox and in the journal's own row, so a
/// repeat always carries its message's number and two messages never share one (within
/// 9,999 events). Rows from before event numbers were stored fall back to the row id.
fn sequence_of(d: &Delivery) -> u16 {
    let n = d.event_seq.unwrap_or(d.id);
    u16::try_from((n - 1).rem_euclid(9999) + 1).unwrap_or(1)
}

/// DC-09 is ASCII: fold Vietnamese to plain letters and drop brackets.
fn ascii(text: &str) -> String {
    deunicode::deunicode(text)
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '[' | ']' | '|'))
        .collect()
}

impl Deliver for SiaDelivery {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        let msg = self.message(d, notice)?;
        let mut errors = Vec::new();
        for i in 0..self.paths.len() {
            match self.send_on(i, Some(msg.clone())).await {
                Ok(()) => {
                    self.refused_trouble(false);
                    return Ok(DeliveryState::Acknowledged);
                }
                Err(TransmitError::Duh { addr }) => {
                    self.refused_trouble(true);
                    return Err(DeliveryError::misconfigured(format!(
                        "receiver {addr} answered DUH: it cannot handle this message; check \
                         account, key and format of channel {}",
                        self.id
                    )));
                }
                Err(e) => errors.push(format!("{}: {e}", self.paths[i].name)),
            }
        }
        Err(DeliveryError::retry(errors.join("; ")))
    }

    fn supervision_interval(&self) -> Option<Duration> {
        self.interval
    }

    async fn supervise(&mut self) {
        for i in 0..self.paths.len() {
            if let Err(e) = self.send_on(i, None).await {
                tracing::warn!(channel = self.id, path = self.paths[i].name, error = %e, "NULL poll failed");
            }
        }
    }

    fn trouble_changes(&mut self) -> Vec<SystemTrouble> {
        std::mem::take(&mut self.changes)
    }

    fn paths(&self) -> Vec<PathStatus> {
        self.paths
            .iter()
            .map(|p| PathStatus {
                name: p.name.to_string(),
                state: if p.failures > 0 {
                    LinkState::Down
                } else if p.last_ok_ms.is_some() {
                    LinkState::Up
                } else {
                    LinkState::Unknown
                },
                last_success_ms: p.last_ok_ms,
                last_error: p.last_error.clone(),
            })
            .collect()
    }
}
