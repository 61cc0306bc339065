//! The email channel: one bilingual message per notice over SMTP (STARTTLS, implicit TLS,
//! or plain for a local relay), with the alarm's snapshot attached when the cameras
//! provide one. The mail's `Message-ID` is derived from the outbox message id, so a
//! repeated delivery is recognisable as the same message.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

use super::{Deliver, DeliveryError};
use crate::config::{EmailChannel, SmtpSecurity};
use crate::escalation::{Notice, NoticeKind};
use crate::journal::{Delivery, DeliveryState};

/// An SMTP channel.
pub struct EmailDelivery {
    /// Channel id, for messages.
    id: String,
    /// The SMTP connection settings.
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Sender.
    from: Mailbox,
    /// Recipients.
    to: Vec<Mailbox>,
}

impl EmailDelivery {
    /// An email channel from its configuration (already validated).
    pub fn new(config: &EmailChannel) -> Result<EmailDelivery, String> {
        let err = |e: &dyn std::fmt::Display| format!("channel {}: {e}", config.id);
        let tls = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(config.host.clone());
            if let Some(ca) = &config.ca_file {
                let pem = std::fs::read(ca).map_err(|e| err(&format!("{}: {e}", ca.display())))?;
                builder = builder.add_root_certificate(
                    Certificate::from_pem(&pem)
                        .map_err(|e| err(&format!("{}: {e}", ca.display())))?,
                );
            }
            builder.build_rustls().map_err(|e| err(&e))
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .timeout(Some(Duration::from_secs(u64::from(config.timeout_s))))
                .tls(match config.security {
                    SmtpSecurity::Starttls => Tls::Required(tls()?),
                    SmtpSecurity::Tls => Tls::Wrapper(tls()?),
                    SmtpSecurity::None => Tls::None,
                });
        if let Some(user) = &config.username {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(EmailDelivery {
            id: config.id.clone(),
            transport: builder.build(),
            from: config.from.parse().map_err(|e| err(&e))?,
            to: config
                .to
                .iter()
                .map(|t| t.parse().map_err(|e| err(&e)))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Subject line: Vietnamese first, then English.
pub fn subject(n: &Notice) -> String {
    let (vi, en) = match n.kind {
        NoticeKind::Alarm => ("BÁO ĐỘNG", "ALARM"),
        NoticeKind::AlarmUpdate => ("Cập nhật báo động", "Alarm update"),
        NoticeKind::Event => ("Sự kiện", "Event"),
        NoticeKind::Test => ("Kiểm tra định kỳ", "Periodic test"),
    };
    format!(
        "[{}] {vi}: {} / {en}: {}",
        n.site.name, n.event.message_vi, n.event.message_en
    )
}

/// Plain-text body in both languages.
pub fn text(d: &Delivery, n: &Notice) -> String {
    let e = &n.event;
    let place = [e.area.as_deref(), e.zone.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
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
         Khu vực / vùng: {place}\n\
         Thời gian (UTC): {at}\n\
         Mã Contact ID: {code}   Báo động số: {alarm}   Cấp: {tier}\n\
         \n\
         {en}\n\
         Site: {site}, {address}\n\
         Area / zone: {place}\n\
         Time (UTC): {at}\n\
         Contact ID: {code}   Alarm no.: {alarm}   Tier: {tier}\n",
        vi = e.message_vi,
        en = e.message_en,
        site = n.site.name,
        address = n.site.address,
        at = e.at,
    );
    if let (Some(lat), Some(lon)) = (n.site.latitude, n.site.longitude) {
        out.push_str(&format!(
            "Vị trí / Location: https://www.openstreetmap.org/?mlat={lat}&mlon={lon}\n"
        ));
    }
    out.push_str(&format!("\nMã tin / Message id: {}\n", d.message_id));
    out
}

impl EmailDelivery {
    fn message(&self, d: &Delivery, n: &Notice) -> Result<Message, DeliveryError> {
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
            .body(text(d, n));
        let snapshots: Vec<_> = n
            .evidence
            .iter()
            .filter(|e| e.kind == "snapshot")
            .filter_map(|e| Some((e, std::fs::read(&e.path).ok()?)))
            .collect();
        let built = if snapshots.is_empty() {
            builder.singlepart(body)
        } else {
            let mut parts = MultiPart::mixed().singlepart(body);
            for (e, bytes) in snapshots {
                let name = std::path::Path::new(&e.path)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "snapshot.jpg".into());
                let jpeg = ContentType::parse("image/jpeg").unwrap_or(ContentType::TEXT_PLAIN);
                parts = parts.singlepart(Attachment::new(name).body(bytes, jpeg));
            }
            builder.multipart(parts)
        };
        built.map_err(|e| DeliveryError::refused(format!("email {}: {e}", self.id)))
    }
}

impl Deliver for EmailDelivery {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        let message = self.message(d, notice)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(DeliveryState::Sent),
            Err(e) if e.is_permanent() => Err(DeliveryError::refused(format!(
                "email {}: the server refused the message: {e}",
                self.id
            ))),
            Err(e) => Err(DeliveryError::retry(format!("email {}: {e}", self.id))),
        }
    }
}
