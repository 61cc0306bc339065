//! The email channel: one bilingual message per notice over SMTP (STARTTLS, implicit TLS,
//! or plain for a local relay), with the alarm's snapshot attached when the cameras
//! provide one. The mail's `Message-ID` is derived from the outbox message id, so a
//! repeated delivery is recognisable as the same message. The session itself is
//! [`super::smtp`]'s, on a socket with TCP_NODELAY.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use std::time::Duration;

use super::smtp::{SmtpError, SmtpServer};
use super::{Deliver, DeliveryError};
use crate::channels::places::Places;
use crate::config::{Config, EmailChannel};
use crate::escalation::{Notice, NoticeKind};
use crate::journal::{Delivery, DeliveryState, Journal};

/// An SMTP channel.
pub struct EmailDelivery {
    /// Channel id, for messages.
    id: String,
    /// Where and how mail is sent.
    server: SmtpServer,
    /// Sender.
    from: Mailbox,
    /// Recipients.
    to: Vec<Mailbox>,
    /// Where alarm snapshots are recorded, for attaching them.
    journal: Option<Journal>,
    /// Names of areas and zones, the site's time zone.
    places: Places,
}

/// How long after an alarm is raised a mail waits for its snapshots to be recorded.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(5);
/// How often it looks meanwhile.
const SNAPSHOT_POLL: Duration = Duration::from_millis(200);

impl EmailDelivery {
    /// An email channel from its configuration (already validated).
    pub fn new(config: &EmailChannel, site: &Config) -> Result<EmailDelivery, String> {
        let err = |e: &dyn std::fmt::Display| format!("channel {}: {e}", config.id);
        Ok(EmailDelivery {
            id: config.id.clone(),
            server: SmtpServer::new(config).map_err(|e| err(&e))?,
            from: config.from.parse().map_err(|e| err(&e))?,
            to: config
                .to
                .iter()
                .map(|t| t.parse().map_err(|e| err(&e)))
                .collect::<Result<_, _>>()?,
            journal: None,
            places: Places::from_config(site),
        })
    }

    /// Attaches the snapshots `journal` records for an alarm.
    pub fn with_journal(mut self, journal: Journal) -> EmailDelivery {
        self.journal = Some(journal);
        self
    }

    /// The snapshot files recorded for the notice's alarm, as `(name, bytes)`. Snapshots
    /// are taken as the alarm is raised, so a mail sent at once waits a moment for them.
    async fn snapshots(&self, n: &Notice) -> Vec<(String, Vec<u8>)> {
        let (Some(journal), Some(alarm)) = (&self.journal, &n.alarm) else {
            return Vec::new();
        };
        let wanted: Vec<&str> = n
            .evidence
            .iter()
            .filter(|e| e.kind == "snapshot")
            .map(|e| e.camera.as_str())
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let alarm_id = i64::try_from(alarm.id).unwrap_or(i64::MAX);
        let deadline =
            tokio::time::Instant::now() + SNAPSHOT_WAIT.saturating_sub(since(n.event.at_ms));
        loop {
            let files = journal.evidence(Some(alarm_id)).await.unwrap_or_default();
            let found: Vec<_> = files
                .into_iter()
                .filter(|f| f.kind == "snapshot" && f.deleted_at_ms.is_none())
                .filter(|f| wanted.contains(&f.camera.as_str()))
                .collect();
            if found.len() >= wanted.len() || tokio::time::Instant::now() >= deadline {
                return found
                    .into_iter()
                    .filter_map(|f| {
                        let bytes = std::fs::read(&f.path).ok()?;
                        Some((format!("{}-alarm-{}.jpg", f.camera, f.alarm_id), bytes))
                    })
                    .collect();
            }
            tokio::time::sleep(SNAPSHOT_POLL).await;
        }
    }
}

/// Time since `at_ms` (zero for the future).
fn since(at_ms: i64) -> Duration {
    let now = jiff::Timestamp::now().as_millisecond();
    Duration::from_millis(u64::try_from(now - at_ms).unwrap_or(0))
}

/// Subject line: Vietnamese first, then English.
pub fn subject(n: &Notice) -> String {
    let (vi, en) = match n.kind {
        NoticeKind::Alarm => ("BÁO ĐỘNG", "ALARM"),
        NoticeKind::AlarmUpdate => ("Cập nhật báo động", "Alarm update"),
        NoticeKind::Event => ("Sự kiện", "Event"),
        NoticeKind::Test => ("Kiểm tra định kỳ", "Periodic test"),
        NoticeKind::Report => ("Báo cáo", "Report"),
    };
    format!(
        "[{}] {vi}: {} / {en}: {}",
        n.site.name, n.event.message_vi, n.event.message_en
    )
}

/// Plain-text body in both languages: places by their names, the time in the site's own
/// zone with its offset and in UTC beside it.
pub fn text(d: &Delivery, n: &Notice, places: &Places) -> String {
    if n.kind == NoticeKind::Report {
        return report_text(d, n, places);
    }
    let e = &n.event;
    let place = |english: bool| {
        [
            e.area.as_deref().map(|a| places.area(a, english)),
            e.zone.as_deref().map(|z| places.zone(z, english)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ")
    };
    let local = places.local_time(e.at_ms);
    let code = e
        .code
        .map(|c| format!("{}{c:03}", e.qualifier))
        .unwrap_or_else(|| "-".into());
    let tier = n.tier.as_deref().unwrap_or("-");
    let alarm = n
        .alarm
        .as_ref()
        .map(|a| a.id.to_string())
        .unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{vi}\n\
         Địa điểm: {site}, {address}\n\
         Khu vực / vùng: {place_vi}\n\
         Thời gian: {local} (UTC {at})\n\
         Mã Contact ID: {code}   Báo động số: {alarm}   Cấp: {tier}\n\
         \n\
         {en}\n\
         Site: {site}, {address}\n\
         Area / zone: {place_en}\n\
         Time: {local} (UTC {at})\n\
         Contact ID: {code}   Alarm no.: {alarm}   Tier: {tier}\n",
        vi = e.message_vi,
        en = e.message_en,
        site = n.site.name,
        address = n.site.address,
        place_vi = place(false),
        place_en = place(true),
        at = e.at,
    );
    if let (Some(lat), Some(lon)) = (n.site.latitude, n.site.longitude) {
        out.push_str(&format!(
            "Vị trí / Location: https://www.openstreetmap.org/?mlat={lat}&mlon={lon}\n"
        ));
    }
    let linked: Vec<_> = n.evidence.iter().filter(|e| e.url.is_some()).collect();
    if !linked.is_empty() {
        out.push_str("\nBằng chứng / Evidence:\n");
        for e in linked {
            let kind = if e.kind == "clip" {
                "Đoạn phim / Clip"
            } else {
                "Ảnh / Snapshot"
            };
            let url = e.url.as_deref().unwrap_or("-");
            out.push_str(&format!("  {kind} ({}): {url}\n", e.camera));
        }
    }
    out.push_str(&format!("\nMã tin / Message id: {}\n", d.message_id));
    out
}

/// A scheduled report's body: what it is, what is attached, and how to check a printed
/// copy against the journal.
fn report_text(d: &Delivery, n: &Notice, places: &Places) -> String {
    let files: Vec<&str> = n.attachments.iter().map(|a| a.name.as_str()).collect();
    format!(
        "{vi}\n\
         Cơ sở: {site}, {address}\n\
         Tệp đính kèm: {files}\n\
         Số liệu tính đến sự kiện #{seq} của nhật ký ({local}, UTC {at}).\n\
         \n\
         {en}\n\
         Site: {site}, {address}\n\
         Attached: {files}\n\
         Figures as of the journal's event #{seq} ({local}, UTC {at}).\n\
         \n\
         Mã tin / Message id: {id}\n",
        vi = n.event.message_vi,
        en = n.event.message_en,
        site = n.site.name,
        address = n.site.address,
        files = files.join(", "),
        seq = n.event.seq,
        local = places.local_time(n.event.at_ms),
        at = n.event.at,
        id = d.message_id,
    )
}

/// The notice's own attachments (a report's PDF), decoded.
fn attachments(n: &Notice) -> Result<Vec<(String, ContentType, Vec<u8>)>, String> {
    use base64::Engine as _;
    n.attachments
        .iter()
        .map(|a| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&a.base64)
                .map_err(|e| format!("attachment {}: {e}", a.name))?;
            let kind = ContentType::parse(&a.content_type)
                .map_err(|e| format!("attachment {}: {e}", a.name))?;
            Ok((a.name.clone(), kind, bytes))
        })
        .collect()
}

impl EmailDelivery {
    fn message(
        &self,
        d: &Delivery,
        n: &Notice,
        snapshots: Vec<(String, Vec<u8>)>,
    ) -> Result<Message, DeliveryError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(n))
            .message_id(Some(format!(
                "<{}@picket>",
                d.message_id
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', ".")
            )));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let body = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(text(d, n, &self.places));
        let mut files = attachments(n)
            .map_err(|e| DeliveryError::misconfigured(format!("email {}: {e}", self.id)))?;
        for (name, bytes) in snapshots {
            let jpeg = ContentType::parse("image/jpeg").unwrap_or(ContentType::TEXT_PLAIN);
            files.push((name, jpeg, bytes));
        }
        let built = if files.is_empty() {
            builder.singlepart(body)
        } else {
            let mut parts = MultiPart::mixed().singlepart(body);
            for (name, kind, bytes) in files {
                parts = parts.singlepart(Attachment::new(name).body(bytes, kind));
            }
            builder.multipart(parts)
        };
        built.map_err(|e| DeliveryError::misconfigured(format!("email {}: {e}", self.id)))
    }
}

impl Deliver for EmailDelivery {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        let snapshots = self.snapshots(notice).await;
        let message = self.message(d, notice, snapshots)?;
        match self
            .server
            .send(message.envelope(), &message.formatted())
            .await
        {
            Ok(()) => Ok(DeliveryState::Sent),
            Err(SmtpError::Refused(e)) => Err(DeliveryError::refused(format!(
                "email {}: the server refused the message: {}",
                self.id,
                crate::text::for_log(&e)
            ))),
            Err(SmtpError::Failed(e)) => Err(DeliveryError::retry(format!(
                "email {}: {}",
                self.id,
                crate::text::for_log(&e)
            ))),
        }
    }
}
