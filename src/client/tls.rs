//! TLS for `mqtts://` and `wss://`: a rustls client configuration (ring provider) built from
//! mosquitto-style `--cafile`, `--cert`, `--key` and `--insecure`.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::options::TlsOptions;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or held nothing usable.
    #[error("cannot load {what} from '{path}'")]
    Pem {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// `--cert` without `--key` or the reverse.
    #[error("both a certificate and a key file are needed for a client certificate")]
    CertWithoutKey,
    /// No trusted roots at all.
    #[error("no CA certificates: give --cafile, or install the system's CA bundle")]
    NoRoots,
    /// rustls refused the combination.
    #[error("invalid TLS configuration")]
    Rustls(#[source] rustls::Error),
    /// The `sni` override is not a valid DNS name or address.
    #[error("invalid TLS server name '{0}'")]
    ServerName(String),
}

/// Installs rustls' ring provider as the process default, once. Harmless if one is installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the rustls client configuration for `opts`.
///
/// # Errors
/// Unreadable PEM files, a certificate without its key, or no trusted roots.
pub fn client_config(opts: &TlsOptions) -> Result<ClientConfig, TlsError> {
    install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?;

    let verifier: Arc<dyn ServerCertVerifier> = if opts.insecure {
        Arc::new(AcceptAnyCertificate {
            provider: provider.clone(),
        })
    } else {
        let mut roots = RootCertStore::empty();
        if let Some(path) = &opts.ca_file {
            for cert in CertificateDer::pem_file_iter(path).map_err(|source| TlsError::Pem {
                what: "CA certificates",
                path: path.clone(),
                source,
            })? {
                let cert = cert.map_err(|source| TlsError::Pem {
                    what: "CA certificates",
                    path: path.clone(),
                    source,
                })?;
                // A malformed certificate in a bundle is skipped, as OpenSSL does.
                let _ = roots.add(cert);
            }
        } else {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
        if roots.is_empty() {
            return Err(TlsError::NoRoots);
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
        match &opts.sni {
            Some(name) => {
                let name = ServerName::try_from(name.clone())
                    .map_err(|_| TlsError::ServerName(name.clone()))?;
                Arc::new(VerifyAs { inner, name })
            }
            None => inner,
        }
    };

    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&opts.cert_file, &opts.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|source| TlsError::Pem {
                    what: "the client certificate",
                    path: cert.clone(),
                    source,
                })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Pem {
                what: "the private key",
                path: key.clone(),
                source,
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsError::Rustls)?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(TlsError::CertWithoutKey),
    };
    if let Some(alpn) = &opts.alpn {
        config.alpn_protocols = vec![alpn.clone().into_bytes()];
    }
    Ok(config)
}

/// `--insecure`: accepts every server certificate, but still checks handshake signatures.
/// **Dangerous**: it removes the protection TLS gives against impersonation.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Verifies the certificate against a fixed name instead of the host connected to.
#[derive(Debug)]
struct VerifyAs {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for VerifyAs {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
