//! TLS to PostgreSQL with rustls, following libpq's `sslmode` (given in the URL):
//!
//! | sslmode | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` (default) | no | — |
//! | `prefer` | if the server offers it | no |
//! | `require` | yes | no, unless a CA file is configured: then as `verify-ca` |
//! | `verify-ca` | yes | chain to a trusted root |
//! | `verify-full` | yes | chain and host name |
//!
//! Trusted roots are `database.tls_ca_file` (PEM) when set, else the Mozilla roots.

use std::path::Path;
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rekey_application::Failure;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How to reach a PostgreSQL server: the URL as tokio-postgres takes it, and the TLS connector
/// when the connection is encrypted.
#[derive(Clone)]
pub(crate) struct PgTarget {
    pub url: String,
    pub tls: Option<MakeRustlsConnect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Reads `sslmode` out of `url` and builds the connector it asks for.
pub(crate) fn target(url: &str, ca_file: Option<&Path>) -> Result<PgTarget, Failure> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Disable;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => {
                mode = match value {
                    "disable" | "allow" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(Failure::Unexpected(format!(
                            "database.url: unknown sslmode {other:?} (disable, prefer, require, verify-ca, verify-full)"
                        )));
                    }
                }
            }
            _ => rest.push(pair),
        }
    }
    if mode == SslMode::Require && ca_file.is_some() {
        mode = SslMode::VerifyCa;
    }
    let tls = match mode {
        SslMode::Disable => None,
        SslMode::Prefer | SslMode::Require => Some(config(Arc::new(NoVerification(provider())))?),
        SslMode::VerifyCa => Some(config(Arc::new(VerifyChainOnly(webpki(ca_file)?)))?),
        SslMode::VerifyFull => Some(config(webpki(ca_file)?)?),
    };
    if mode == SslMode::Require {
        tracing::warn!(
            "database sslmode=require without database.tls_ca_file encrypts but does not \
             authenticate the server; use sslmode=verify-full"
        );
    }
    // tokio-postgres knows disable, prefer and require; the checks above are ours.
    let wire_mode = match mode {
        SslMode::Disable => None,
        SslMode::Prefer => Some("sslmode=prefer"),
        _ => Some("sslmode=require"),
    };
    rest.extend(wire_mode);
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok(PgTarget {
        url,
        tls: tls.map(MakeRustlsConnect::new),
    })
}

/// Opens one connection to `target`. A refusal names its cause ("error connecting to server:
/// database does not allow writes" for a URL of standbys with `target_session_attrs=read-write`).
pub(crate) async fn connect(target: &PgTarget) -> Result<AsyncPgConnection, ConnectionError> {
    let refused = |e: tokio_postgres::Error| ConnectionError::BadConnection(with_causes(&e));
    match &target.tls {
        None => {
            let (client, connection) = tokio_postgres::connect(&target.url, tokio_postgres::NoTls)
                .await
                .map_err(refused)?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await
        }
        Some(tls) => {
            let (client, connection) = tokio_postgres::connect(&target.url, tls.clone())
                .await
                .map_err(refused)?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await
        }
    }
}

/// An error and its causes, `outer: inner: innermost` (tokio-postgres keeps the reason a
/// handshake failed in the source chain).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, Failure> {
    let Some(path) = ca_file else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let mut store = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path).map_err(|e| {
        Failure::Unexpected(format!("database.tls_ca_file {}: {e}", path.display()))
    })?;
    for certificate in certificates {
        let certificate = certificate.map_err(|e| {
            Failure::Unexpected(format!("database.tls_ca_file {}: {e}", path.display()))
        })?;
        store.add(certificate).map_err(|e| {
            Failure::Unexpected(format!("database.tls_ca_file {}: {e}", path.display()))
        })?;
    }
    if store.is_empty() {
        return Err(Failure::Unexpected(format!(
            "database.tls_ca_file {} holds no certificate",
            path.display()
        )));
    }
    Ok(store)
}

fn webpki(ca_file: Option<&Path>) -> Result<Arc<WebPkiServerVerifier>, Failure> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca_file)?), provider())
        .build()
        .map_err(|e| Failure::Unexpected(format!("TLS roots: {e}")))
}

fn config(verifier: Arc<dyn ServerCertVerifier>) -> Result<ClientConfig, Failure> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Unexpected(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer` / `require`: encryption without authentication (libpq's semantics). Signatures
/// are still checked, so the handshake is sound; only the certificate is not.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not compared.
#[derive(Debug)]
struct VerifyChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for VerifyChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_out_of_the_url() {
        let plain = target("postgres://u@h/db", None).expect("valid");
        assert_eq!(plain.url, "postgres://u@h/db");
        assert!(plain.tls.is_none());
        let tls = target(
            "postgres://u@h/db?application_name=x&sslmode=verify-full",
            None,
        )
        .expect("valid");
        assert_eq!(
            tls.url,
            "postgres://u@h/db?application_name=x&sslmode=require"
        );
        assert!(tls.tls.is_some());
        assert!(target("postgres://u@h/db?sslmode=bogus", None).is_err());
        let parsed: Result<tokio_postgres::Config, _> = tls.url.parse();
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        assert!(
            target(
                "postgres://u@h/db?sslmode=verify-ca",
                Some(Path::new("/nonexistent.pem"))
            )
            .is_err()
        );
    }
}
