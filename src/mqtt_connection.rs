//! Connections to an MQTT broker, for the sensors' broker ([`crate::sources::mqtt`], which
//! also carries picket's own topics) and the enterprise's upstream broker
//! ([`crate::channels::upstream_mqtt`]) alike: where the broker is ([`Endpoint`]), stable
//! client id, persistent session, manual acknowledgements, credentials and TLS (rustls
//! with the ring provider), Nagle off, and the site's segment of every topic.

use rumqttc::{AsyncClient, EventLoop, MqttOptions, NetworkOptions, TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;

use crate::config::secret::Secret;
use crate::config::{Config, Mqtt, MqttTls};

/// Largest incoming packet accepted from the broker. Oversized sensor payloads are then
/// rejected by the decoder (and acknowledged) instead of breaking the connection.
const MAX_INCOMING: usize = 4 * 1024 * 1024;

/// Largest packet picket sends. rumqttc drops the whole connection on a larger one, so
/// publishers check against it first ([`crate::sources::mqtt::interface`]).
pub const MAX_OUTGOING: usize = 256 * 1024;

/// The site segment of picket's topics: `site_topic`, or the site name folded to ASCII.
pub fn site_topic(config: &Config) -> String {
    if let Some(t) = config.mqtt.as_ref().and_then(|m| m.site_topic.clone()) {
        return t;
    }
    let folded = deunicode::deunicode(&config.site.name).to_ascii_lowercase();
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() { "site".into() } else { out }
}

/// The client id: configured, or `picket-<site>`.
pub fn client_id(config: &Config, mqtt: &Mqtt) -> String {
    mqtt.client_id
        .clone()
        .unwrap_or_else(|| format!("picket-{}", site_topic(config)))
}

/// Where a broker is and how to log in: the local `[mqtt]` section, or an upstream channel.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The configuration key it comes from, named in errors (`mqtt`, `channels[2]`).
    pub key: &'a str,
    /// Broker host.
    pub host: &'a str,
    /// Broker port.
    pub port: u16,
    /// User name.
    pub username: Option<&'a str>,
    /// Password, resolved.
    pub password: Option<&'a Secret>,
    /// TLS settings; none = plain TCP.
    pub tls: Option<&'a MqttTls>,
    /// Keep-alive, seconds.
    pub keep_alive_s: u32,
}

impl<'a> Endpoint<'a> {
    /// The local broker of `[mqtt]`.
    pub fn local(mqtt: &'a Mqtt) -> Endpoint<'a> {
        Endpoint {
            key: "mqtt",
            host: &mqtt.host,
            port: mqtt.port,
            username: mqtt.username.as_deref(),
            password: mqtt.password.as_ref(),
            tls: mqtt.tls.as_ref(),
            keep_alive_s: mqtt.keep_alive_s,
        }
    }
}

/// A client and its event loop with Nagle's algorithm off. picket's messages are small
/// and each one matters: with it on, a publish waits for the broker's delayed ACK of the
/// previous one, which `picket bench --delivery` measured at 44 ms per alarm event.
pub fn client(options: MqttOptions, capacity: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, capacity);
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Options for one connection: persistent session, manual acknowledgements, credentials
/// and TLS.
pub fn options(client_id: &str, broker: Endpoint<'_>) -> Result<MqttOptions, String> {
    let mut o = MqttOptions::new(client_id, broker.host, broker.port);
    o.set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(u64::from(broker.keep_alive_s)))
        .set_max_packet_size(MAX_INCOMING, MAX_OUTGOING)
        .set_inflight(100);
    if let Some(user) = broker.username {
        let password = broker
            .password
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        o.set_credentials(user, password);
    }
    if let Some(tls) = broker.tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls_config(broker.key, tls)?),
        )));
    }
    Ok(o)
}

fn tls_config(config_key: &str, tls: &MqttTls) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&tls.ca_file)
        .map_err(|e| format!("{config_key}.tls.ca_file {}: {e}", tls.ca_file.display()))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| format!("{config_key}.tls.ca_file {}: {e}", tls.ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{config_key}.tls.ca_file {}: {e}", tls.ca_file.display()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    format!("{config_key}.tls.client_cert_file {}: {e}", cert.display())
                })?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("{config_key}.tls.client_key_file {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("{config_key}.tls client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
