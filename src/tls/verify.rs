//! Checking the peer certificate: a CA chain or a pinned certificate, then the name.

#[allow(unused_imports)]
use super::*;

/// Checks the peer's certificate: chain or pin, then (if configured) its name.
#[derive(Debug)]
pub(super) struct PeerVerifier {
    pub(super) trust: Trust,
    pub(super) name: Option<ServerName<'static>>,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

#[derive(Debug)]
pub(super) enum Trust {
    /// CA chain; client certificates go through rustls's own verifier (client-auth usage).
    Roots {
        roots: Arc<RootCertStore>,
        clients: Arc<dyn ClientCertVerifier>,
    },
    /// Exactly this certificate.
    Pinned(CertificateDer<'static>),
}

impl PeerVerifier {
    fn check_pinned(
        pinned: &CertificateDer<'_>,
        cert: &CertificateDer<'_>,
        now: UnixTime,
    ) -> Result<(), RustlsError> {
        if pinned.as_ref() != cert.as_ref() {
            return Err(CertificateError::ApplicationVerificationFailure.into());
        }
        let (not_before, not_after) = validity(cert).ok_or(CertificateError::BadEncoding)?;
        let now_secs = now.as_secs() as i64;
        if now_secs > not_after {
            return Err(CertificateError::ExpiredContext {
                time: now,
                not_after: unix(not_after),
            }
            .into());
        }
        if now_secs < not_before {
            return Err(CertificateError::NotValidYetContext {
                time: now,
                not_before: unix(not_before),
            }
            .into());
        }
        Ok(())
    }

    fn check_name(&self, cert: &CertificateDer<'_>) -> Result<(), RustlsError> {
        match &self.name {
            Some(name) => verify_server_name(&ParsedCertificate::try_from(cert)?, name),
            None => Ok(()),
        }
    }
}

pub(super) fn unix(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0) as u64))
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, RustlsError> {
        match &self.trust {
            Trust::Roots { roots, .. } => {
                let cert = ParsedCertificate::try_from(end_entity)?;
                verify_server_cert_signed_by_trust_anchor(
                    &cert,
                    roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                )?;
            }
            Trust::Pinned(pinned) => Self::check_pinned(pinned, end_entity, now)?,
        }
        self.check_name(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for PeerVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.trust {
            Trust::Roots { clients, .. } => clients.root_hint_subjects(),
            Trust::Pinned(_) => &[],
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, RustlsError> {
        match &self.trust {
            Trust::Roots { clients, .. } => {
                clients.verify_client_cert(end_entity, intermediates, now)?;
            }
            Trust::Pinned(pinned) => Self::check_pinned(pinned, end_entity, now)?,
        }
        self.check_name(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
