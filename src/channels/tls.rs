//! TLS client settings shared by the HTTPS and MQTT channels: rustls with the ring
//! provider, the public web roots, and an installer's own CA when given.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// A client configuration trusting the public roots and `ca_file`.
pub fn client_config(ca_file: Option<&Path>, key: &str) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = ca_file {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("{key} {}: {e}", file.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{key} {}: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{key} {}: {e}", file.display()))?;
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}
