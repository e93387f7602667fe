//! TLS listeners (`certfile`, `keyfile`, `cafile`, `require_certificate` under a `listener`),
//! on rustls with the ring provider. The same connection code serves the decrypted stream.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::config::{ListenerTls, TlsVersion};

/// `tls_version tlsv1.3`: a TLS 1.2 ClientHello is refused with a `protocol_version` alert.
const TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot read certificates from '{}': {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in '{}'", path.display()));
    }
    Ok(certs)
}

/// Builds the TLS configuration of one listener. Errors name the file and say what is wrong.
pub fn server_config(tls: &ListenerTls) -> Result<Arc<rustls::ServerConfig>, String> {
    let (Some(certfile), Some(keyfile)) = (&tls.certfile, &tls.keyfile) else {
        return Err("a TLS listener needs both 'certfile' and 'keyfile'".into());
    };
    let certs = read_certs(certfile)?;
    let key = PrivateKeyDer::from_pem_file(keyfile).map_err(|e| {
        format!(
            "cannot read the private key in '{}': {e}",
            keyfile.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(match tls.min_version {
            TlsVersion::Tls12 => rustls::DEFAULT_VERSIONS,
            TlsVersion::Tls13 => TLS13_ONLY,
        })
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = match (&tls.cafile, tls.require_certificate) {
        (Some(cafile), true) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(cafile)? {
                roots
                    .add(c)
                    .map_err(|e| format!("bad CA certificate in '{}': {e}", cafile.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("client certificate verification: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        (None, true) => return Err("'require_certificate true' needs a 'cafile'".into()),
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "the key in '{}' does not fit the certificate: {e}",
            keyfile.display()
        )
    })?;
    config.alpn_protocols = vec![b"mqtt".to_vec()];
    Ok(Arc::new(config))
}
