//! Why a TLS handshake or connection failed, mapped from rustls errors.

#[allow(unused_imports)]
use super::*;

/// Why a TLS connection failed. The connection is closed; a client retries after its back-off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate has expired.
    CertificateExpired {
        /// When it expired (UTC), when known.
        not_after: Option<String>,
    },
    /// The peer's certificate is not valid yet (or one of the clocks is wrong).
    CertificateNotYetValid {
        /// When it becomes valid (UTC), when known.
        not_before: Option<String>,
    },
    /// The peer's certificate is not issued by a CA we trust.
    UnknownIssuer,
    /// The peer's certificate is not valid for the configured peer name.
    WrongName {
        /// The name we expected.
        expected: String,
    },
    /// The peer's certificate is not the pinned one.
    NotPinned,
    /// The peer (a master) presented no client certificate.
    NoClientCertificate,
    /// The peer's certificate is invalid for another reason.
    BadCertificate(String),
    /// The peer refused the handshake with this alert (it probably rejects our certificate).
    PeerRefused(String),
    /// The peer does not speak TLS (plaintext DNP3, for example).
    NotTls,
    /// No common protocol version or cipher suite.
    Incompatible(String),
    /// The handshake did not finish in time.
    HandshakeTimeout(Duration),
    /// The peer closed the connection before the handshake finished.
    HandshakeAborted,
    /// Any other TLS protocol failure.
    Protocol(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TlsError::*;
        match self {
            CertificateExpired { not_after } => {
                f.write_str("the peer's certificate has expired")?;
                if let Some(t) = not_after {
                    write!(f, " (not after {t})")?;
                }
                f.write_str(": the peer must renew it (or check this machine's clock)")
            }
            CertificateNotYetValid { not_before } => {
                f.write_str("the peer's certificate is not valid yet")?;
                if let Some(t) = not_before {
                    write!(f, " (not before {t})")?;
                }
                f.write_str(": check the clocks of both machines")
            }
            UnknownIssuer => f.write_str(
                "the peer's certificate is not issued by a trusted CA: add its CA to the CA file, \
                 or check that the peer sends its intermediate certificates",
            ),
            WrongName { expected } => write!(
                f,
                "the peer's certificate is not valid for {expected:?}: fix the peer name, or turn \
                 name verification off"
            ),
            NotPinned => f.write_str(
                "the peer's certificate is not the pinned one: put the peer's own certificate in \
                 the peer certificate file",
            ),
            NoClientCertificate => f.write_str(
                "the master presented no client certificate: configure it with a certificate and key",
            ),
            BadCertificate(d) => write!(f, "the peer's certificate is invalid: {d}"),
            PeerRefused(alert) => write!(
                f,
                "the peer refused the TLS handshake ({alert}): check that it trusts our \
                 certificate and allows our TLS versions (see the peer's log)"
            ),
            NotTls => f.write_str(
                "the peer does not speak TLS (plaintext DNP3?): enable TLS on the peer or use a \
                 plain TCP channel",
            ),
            Incompatible(d) => write!(
                f,
                "no common TLS version or cipher suite with the peer ({d}): check the minimum \
                 and maximum versions"
            ),
            HandshakeTimeout(t) => {
                write!(f, "the TLS handshake did not finish within {t:?}")
            }
            HandshakeAborted => f.write_str(
                "the peer closed the connection during the TLS handshake: it probably refused \
                 our certificate (see the peer's log)",
            ),
            Protocol(d) => write!(f, "TLS failure: {d}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Maps a rustls error to what the user can act on; `expected` is the configured peer name.
pub(super) fn classify(e: RustlsError, expected: Option<&str>, handshaking: bool) -> TlsError {
    use CertificateError as C;
    match e {
        RustlsError::InvalidCertificate(c) => match c {
            C::Expired => TlsError::CertificateExpired { not_after: None },
            C::ExpiredContext { not_after, .. } => TlsError::CertificateExpired {
                not_after: Some(utc(not_after.as_secs() as i64)),
            },
            C::NotValidYet => TlsError::CertificateNotYetValid { not_before: None },
            C::NotValidYetContext { not_before, .. } => TlsError::CertificateNotYetValid {
                not_before: Some(utc(not_before.as_secs() as i64)),
            },
            C::UnknownIssuer => TlsError::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsError::WrongName {
                expected: expected.unwrap_or_default().to_string(),
            },
            // Only the pinning check raises this one.
            C::ApplicationVerificationFailure => TlsError::NotPinned,
            other => TlsError::BadCertificate(format!("{other:?}")),
        },
        RustlsError::NoCertificatesPresented => TlsError::NoClientCertificate,
        RustlsError::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsError::PeerRefused("it requires a client certificate".into())
        }
        RustlsError::AlertReceived(a) => TlsError::PeerRefused(format!("alert {a:?}")),
        RustlsError::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) if handshaking => TlsError::NotTls,
        RustlsError::PeerIncompatible(p) => TlsError::Incompatible(format!("{p:?}")),
        other => TlsError::Protocol(other.to_string()),
    }
}
