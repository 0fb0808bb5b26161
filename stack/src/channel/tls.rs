//! TLS for TCP channels: a byte-stream filter between the socket and the DNP3 engine. The
//! channel task feeds ciphertext to a `rustls` connection and hands the plaintext to the
//! engine; what the engine produces is encrypted and sent in one write. Both sides present a
//! certificate (mutual authentication); the peer's is checked against a CA chain or pinned.

use rdnp3_reactor::{Context, SourceId};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name, Resumption};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, Connection,
    DigitallySignedStruct, DistinguishedName, Error as RustlsError, InvalidMessage, RootCertStore,
    ServerConfig, ServerConnection, SignatureScheme, SupportedProtocolVersion,
};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A TLS protocol version.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    V1_2,
    /// TLS 1.3 (RFC 8446).
    V1_3,
}

/// How the peer's certificate is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerAuthentication {
    /// The peer's chain must lead to one of the CA certificates of this PEM file.
    CaChain(PathBuf),
    /// The peer must present exactly the (usually self-signed) certificate of this PEM file.
    SelfSigned(PathBuf),
}

/// TLS settings of a channel: our certificate and key, how the peer is authenticated, and
/// which protocol versions are allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file: our certificate, followed by any intermediate CA certificates.
    pub certificate: PathBuf,
    /// PEM file: our private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// How the peer's certificate is checked.
    pub peer: PeerAuthentication,
    /// The DNS name or IP address the peer's certificate must be valid for (`None`: names are
    /// not checked, the chain or pin still is; usual for outstations reached by IP).
    pub peer_name: Option<String>,
    /// Oldest version offered or accepted (default TLS 1.2).
    pub min_version: TlsVersion,
    /// Newest version offered or accepted (default TLS 1.3).
    pub max_version: TlsVersion,
}

impl TlsConfig {
    /// Mutual authentication with X.509: the peer's chain must lead to a CA of `ca`.
    pub fn ca_chain(
        certificate: impl Into<PathBuf>,
        private_key: impl Into<PathBuf>,
        ca: impl Into<PathBuf>,
    ) -> Self {
        Self::new(
            certificate,
            private_key,
            PeerAuthentication::CaChain(ca.into()),
        )
    }

    /// Mutual authentication with pinned certificates: the peer must present exactly the
    /// certificate of `peer_certificate`.
    pub fn self_signed(
        certificate: impl Into<PathBuf>,
        private_key: impl Into<PathBuf>,
        peer_certificate: impl Into<PathBuf>,
    ) -> Self {
        let peer = PeerAuthentication::SelfSigned(peer_certificate.into());
        Self::new(certificate, private_key, peer)
    }

    fn new(
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
        peer: PeerAuthentication,
    ) -> Self {
        TlsConfig {
            certificate: certificate.into(),
            private_key: key.into(),
            peer,
            peer_name: None,
            min_version: TlsVersion::V1_2,
            max_version: TlsVersion::V1_3,
        }
    }

    /// Requires the peer's certificate to be valid for `name` (a DNS name or an IP address).
    pub fn with_peer_name(mut self, name: impl Into<String>) -> Self {
        self.peer_name = Some(name.into());
        self
    }

    /// Sets the oldest allowed version.
    pub fn with_min_version(mut self, version: TlsVersion) -> Self {
        self.min_version = version;
        self
    }

    /// Sets the newest allowed version.
    pub fn with_max_version(mut self, version: TlsVersion) -> Self {
        self.max_version = version;
        self
    }

    /// Loads the files and builds the client side (connecting to `remote`).
    pub(crate) fn client_context(&self, remote: SocketAddr) -> Result<TlsContext, TlsConfigError> {
        let parts = self.load()?;
        let name = match &self.peer_name {
            Some(n) => ServerName::try_from(n.clone())
                .map_err(|_| TlsConfigError::InvalidPeerName(n.clone()))?,
            // No name to check: an IP address also keeps SNI out of the hello.
            None => ServerName::IpAddress(remote.ip().into()),
        };
        let mut config = ClientConfig::builder_with_provider(parts.provider.clone())
            .with_protocol_versions(&parts.versions)
            .map_err(|e| TlsConfigError::Unsupported(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(parts.verifier)
            .with_client_auth_cert(parts.chain, parts.key)
            .map_err(|e| self.key_error(e))?;
        // Every connection is authenticated in full.
        config.resumption = Resumption::disabled();
        Ok(TlsContext {
            role: Role::Client(Arc::new(config), name),
            peer_name: self.peer_name.clone(),
        })
    }

    /// Loads the files and builds the server side.
    pub(crate) fn server_context(&self) -> Result<TlsContext, TlsConfigError> {
        let parts = self.load()?;
        let mut config = ServerConfig::builder_with_provider(parts.provider.clone())
            .with_protocol_versions(&parts.versions)
            .map_err(|e| TlsConfigError::Unsupported(e.to_string()))?
            .with_client_cert_verifier(parts.verifier)
            .with_single_cert(parts.chain, parts.key)
            .map_err(|e| self.key_error(e))?;
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(TlsContext {
            role: Role::Server(Arc::new(config)),
            peer_name: self.peer_name.clone(),
        })
    }

    fn key_error(&self, e: RustlsError) -> TlsConfigError {
        TlsConfigError::KeyMismatch {
            certificate: self.certificate.clone(),
            key: self.private_key.clone(),
            detail: e.to_string(),
        }
    }

    fn load(&self) -> Result<Parts, TlsConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: Vec<&'static SupportedProtocolVersion> = [
            (TlsVersion::V1_3, &rustls::version::TLS13),
            (TlsVersion::V1_2, &rustls::version::TLS12),
        ]
        .into_iter()
        .filter(|(v, _)| (self.min_version..=self.max_version).contains(v))
        .map(|(_, p)| p)
        .collect();
        if versions.is_empty() {
            return Err(TlsConfigError::NoVersion {
                min: self.min_version,
                max: self.max_version,
            });
        }
        let chain = load_certificates(&self.certificate, "certificate")?;
        warn_if_out_of_date(&self.certificate, &chain[0]);
        let key = PrivateKeyDer::from_pem_file(&self.private_key).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsConfigError::NoPrivateKey(self.private_key.clone()),
            e => pem_error(&self.private_key, "private key", e),
        })?;
        let name = match &self.peer_name {
            Some(n) => Some(
                ServerName::try_from(n.clone())
                    .map_err(|_| TlsConfigError::InvalidPeerName(n.clone()))?,
            ),
            None => None,
        };
        let trust = match &self.peer {
            PeerAuthentication::CaChain(path) => {
                let mut roots = RootCertStore::empty();
                for ca in load_certificates(path, "CA certificate")? {
                    roots.add(ca).map_err(|e| TlsConfigError::InvalidCa {
                        path: path.clone(),
                        detail: e.to_string(),
                    })?;
                }
                let roots = Arc::new(roots);
                let clients =
                    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                        .build()
                        .map_err(|e| TlsConfigError::InvalidCa {
                            path: path.clone(),
                            detail: e.to_string(),
                        })?;
                Trust::Roots { roots, clients }
            }
            PeerAuthentication::SelfSigned(path) => {
                let mut certs = load_certificates(path, "peer certificate")?;
                Trust::Pinned(certs.swap_remove(0))
            }
        };
        let verifier = Arc::new(PeerVerifier {
            trust,
            name,
            algorithms: provider.signature_verification_algorithms,
        });
        Ok(Parts {
            provider,
            versions,
            chain,
            key,
            verifier,
        })
    }
}

/// What [`TlsConfig::load`] reads and builds.
struct Parts {
    provider: Arc<CryptoProvider>,
    versions: Vec<&'static SupportedProtocolVersion>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    verifier: Arc<PeerVerifier>,
}

/// Reads every certificate of a PEM file (at least one).
fn load_certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, what, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, what, e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn pem_error(path: &Path, what: &'static str, e: pem::Error) -> TlsConfigError {
    let path = path.to_path_buf();
    match e {
        pem::Error::Io(error) => TlsConfigError::Unreadable { what, path, error },
        pem::Error::NoItemsFound => TlsConfigError::NoCertificate { what, path },
        e => TlsConfigError::InvalidPem {
            what,
            path,
            detail: e.to_string(),
        },
    }
}

/// Our own certificate being out of date is a mistake the peer will refuse: say so at once.
fn warn_if_out_of_date(path: &Path, cert: &CertificateDer<'_>) {
    let now = UnixTime::now().as_secs() as i64;
    match validity(cert) {
        Some((_, not_after)) if now > not_after => tracing::warn!(
            "the certificate {} expired on {}: peers will refuse it",
            path.display(),
            utc(not_after)
        ),
        Some((not_before, _)) if now < not_before => tracing::warn!(
            "the certificate {} is not valid before {}: peers will refuse it",
            path.display(),
            utc(not_before)
        ),
        _ => {}
    }
}

/// Why TLS settings could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read.
    Unreadable {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        error: io::Error,
    },
    /// A file is not valid PEM.
    InvalidPem {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        detail: String,
    },
    /// A file holds no `CERTIFICATE` section.
    NoCertificate {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key section.
    NoPrivateKey(PathBuf),
    /// A CA certificate cannot serve as a trust anchor.
    InvalidCa {
        /// The CA file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The private key is unusable or does not belong to the certificate.
    KeyMismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        detail: String,
    },
    /// `peer_name` is neither a DNS name nor an IP address.
    InvalidPeerName(String),
    /// `min_version` is newer than `max_version`.
    NoVersion {
        /// The configured minimum.
        min: TlsVersion,
        /// The configured maximum.
        max: TlsVersion,
    },
    /// The crypto provider refused the settings.
    Unsupported(String),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TlsConfigError::*;
        match self {
            Unreadable { what, path, error } => {
                write!(f, "cannot read the {what} file {}: {error}", path.display())
            }
            InvalidPem { what, path, detail } => write!(
                f,
                "the {what} file {} is not valid PEM ({detail}): expect -----BEGIN ...----- sections",
                path.display()
            ),
            NoCertificate { what, path } => write!(
                f,
                "the {what} file {} holds no -----BEGIN CERTIFICATE----- section",
                path.display()
            ),
            NoPrivateKey(path) => write!(
                f,
                "the key file {} holds no private key (PKCS#8, PKCS#1 or SEC1 PEM section)",
                path.display()
            ),
            InvalidCa { path, detail } => write!(
                f,
                "the CA file {} cannot be used as a trust anchor: {detail}",
                path.display()
            ),
            KeyMismatch {
                certificate,
                key,
                detail,
            } => write!(
                f,
                "the private key {} cannot be used with the certificate {}: {detail}",
                key.display(),
                certificate.display()
            ),
            InvalidPeerName(n) => {
                write!(f, "the peer name {n:?} is neither a DNS name nor an IP address")
            }
            NoVersion { min, max } => write!(
                f,
                "no TLS version allowed: the minimum {min:?} is newer than the maximum {max:?}"
            ),
            Unsupported(detail) => write!(f, "unsupported TLS settings: {detail}"),
        }
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Unreadable { error, .. } => Some(error),
            _ => None,
        }
    }
}

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
fn classify(e: RustlsError, expected: Option<&str>, handshaking: bool) -> TlsError {
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

/// Checks the peer's certificate: chain or pin, then (if configured) its name.
#[derive(Debug)]
struct PeerVerifier {
    trust: Trust,
    name: Option<ServerName<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

#[derive(Debug)]
enum Trust {
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

fn unix(secs: i64) -> UnixTime {
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

/// Loaded TLS settings of one channel, shared by its successive connections.
#[derive(Clone)]
pub(crate) struct TlsContext {
    role: Role,
    peer_name: Option<String>,
}

#[derive(Clone)]
enum Role {
    Client(Arc<ClientConfig>, ServerName<'static>),
    Server(Arc<ServerConfig>),
}

/// Largest plaintext of one TLS record.
const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

/// Bytes a record adds at most: header 5, explicit nonce 8 (TLS 1.2 GCM), tag 16, inner
/// content type 1 (TLS 1.3); rounded up.
const RECORD_OVERHEAD: usize = 40;

/// What [`TlsLayer::receive`] found besides plaintext.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// The handshake has just finished: the DNP3 session may start.
    pub(crate) opened: bool,
    /// The peer sent close_notify.
    pub(crate) peer_closed: bool,
}

/// The TLS filter of a channel: one rustls connection per TCP connection.
pub(crate) struct TlsLayer {
    context: TlsContext,
    session: Option<Connection>,
    opened: bool,
    deadline: Option<Instant>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl TlsLayer {
    pub(crate) fn new(context: TlsContext) -> Self {
        TlsLayer {
            context,
            session: None,
            opened: false,
            deadline: None,
            plaintext: Vec::new(),
            ciphertext: Vec::new(),
        }
    }

    /// A second layer with the same configuration (for a connection handshaking beside the
    /// established one).
    pub(crate) fn sibling(&self) -> TlsLayer {
        TlsLayer::new(self.context.clone())
    }

    /// A TCP connection opened: starts a handshake that must finish by `deadline`.
    pub(crate) fn start(&mut self, deadline: Instant) -> Result<(), TlsError> {
        self.end();
        let mut session: Connection = match &self.context.role {
            Role::Client(config, name) => ClientConnection::new(config.clone(), name.clone())
                .map_err(|e| self.classify(e))?
                .into(),
            Role::Server(config) => ServerConnection::new(config.clone())
                .map_err(|e| self.classify(e))?
                .into(),
        };
        // The channel bounds what it writes by the socket's send room instead.
        session.set_buffer_limit(None);
        self.session = Some(session);
        self.deadline = Some(deadline);
        Ok(())
    }

    /// The connection closed; true if it was still handshaking.
    pub(crate) fn end(&mut self) -> bool {
        let handshaking = self.session.is_some() && !self.opened;
        self.session = None;
        self.opened = false;
        self.deadline = None;
        self.ciphertext.clear();
        self.plaintext.clear();
        handshaking
    }

    /// When the running handshake times out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
            .filter(|_| self.session.is_some() && !self.opened)
    }

    fn classify(&self, e: RustlsError) -> TlsError {
        let handshaking = !self.opened;
        classify(e, self.context.peer_name.as_deref(), handshaking)
    }

    /// Feeds ciphertext from the socket; the plaintext is in [`TlsLayer::plaintext`].
    pub(crate) fn receive(&mut self, data: &[u8]) -> Result<Received, TlsError> {
        self.plaintext.clear();
        let mut received = Received::default();
        let Some(session) = &mut self.session else {
            return Ok(received);
        };
        let mut rest = data;
        while !rest.is_empty() {
            let n = session
                .read_tls(&mut rest)
                .map_err(|e| TlsError::Protocol(e.to_string()))?;
            let state = match session.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    let handshaking = !self.opened && session.is_handshaking();
                    return Err(classify(e, self.context.peer_name.as_deref(), handshaking));
                }
            };
            let ready = state.plaintext_bytes_to_read();
            if ready > 0 {
                let at = self.plaintext.len();
                self.plaintext.resize(at + ready, 0);
                session
                    .reader()
                    .read_exact(&mut self.plaintext[at..])
                    .map_err(|e| TlsError::Protocol(e.to_string()))?;
            }
            if state.peer_has_closed() {
                received.peer_closed = true;
                break;
            }
            if n == 0 {
                break;
            }
        }
        if !self.opened && !session.is_handshaking() {
            self.opened = true;
            received.opened = true;
        }
        Ok(received)
    }

    /// The negotiated version and cipher suite, for the log.
    pub(crate) fn describe(&self) -> String {
        match &self.session {
            Some(s) => format!(
                "authenticated, {} {}",
                s.protocol_version()
                    .map_or("?", |v| v.as_str().unwrap_or("?")),
                s.negotiated_cipher_suite()
                    .map_or("?", |c| c.suite().as_str().unwrap_or("?")),
            ),
            None => "no session".into(),
        }
    }

    /// The plaintext of the last [`TlsLayer::receive`].
    pub(crate) fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// How much plaintext fits in `room` bytes of send queue once encrypted, after what is
    /// already waiting.
    pub(crate) fn plaintext_room(&self, room: usize) -> usize {
        let free = room.saturating_sub(self.ciphertext.len());
        let records = free / MAX_RECORD_PLAINTEXT + 1;
        free.saturating_sub(records * RECORD_OVERHEAD)
    }

    /// Encrypts plaintext for the peer (send it with [`TlsLayer::flush`]).
    pub(crate) fn write(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        match &mut self.session {
            Some(session) => session
                .writer()
                .write_all(plaintext)
                .map_err(|e| TlsError::Protocol(e.to_string())),
            None => Ok(()),
        }
    }

    /// Sends what rustls produced (handshake, records, alerts) within the send queue's room;
    /// the rest waits for the next flush (`on_writable` follows a refused send).
    pub(crate) fn flush<M>(&mut self, cx: &mut Context<'_, M>, conn: SourceId) {
        if let Some(session) = &mut self.session {
            while session.wants_write() {
                match session.write_tls(&mut self.ciphertext) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        // Ciphertext is a plain byte stream: it may be cut anywhere.
        while !self.ciphertext.is_empty() {
            let n = cx.send_room(conn).min(self.ciphertext.len());
            if n == 0 {
                // Refused as full: registers for on_writable.
                if cx.send(conn, &self.ciphertext).is_ok() {
                    self.ciphertext.clear();
                }
                break;
            }
            if cx.send(conn, &self.ciphertext[..n]).is_err() {
                break;
            }
            self.ciphertext.drain(..n);
        }
    }
}

/// `notBefore` and `notAfter` of a DER certificate, in seconds since the UNIX epoch.
fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (certificate, _) = der_element(der, 0x30)?;
    let (tbs, _) = der_element(certificate, 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xA0) {
        rest = der_any(rest)?.2; // version
    }
    rest = der_any(rest)?.2; // serial number
    rest = der_any(rest)?.2; // signature algorithm
    rest = der_any(rest)?.2; // issuer
    let (validity, _) = der_element(rest, 0x30)?;
    let (not_before, rest) = der_time(validity)?;
    let (not_after, _) = der_time(rest)?;
    Some((not_before, not_after))
}

/// One DER element: (tag, content, what follows).
fn der_any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = input.get(2..2 + n)?;
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = der_any(input)?;
    (t == tag).then_some((content, rest))
}

/// A UTCTime or GeneralizedTime (`...Z`) as seconds since the UNIX epoch.
fn der_time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, text, rest) = der_any(input)?;
    let digits = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |a, b| {
            b.is_ascii_digit().then(|| a * 10 + i64::from(b - b'0'))
        })
    };
    let (year, tail) = match (tag, text.len()) {
        (0x17, 13) => {
            let yy = digits(text.get(0..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        (0x18, 15) => (digits(text.get(0..4)?)?, text.get(4..)?),
        _ => return None,
    };
    if tail.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| digits(tail.get(i..i + 2)?);
    let (month, day) = (field(0)?, field(2)?);
    let (h, m, s) = (field(4)?, field(6)?, field(8)?);
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + h * 3600 + m * 60 + s, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the UNIX epoch as `YYYY-MM-DD hh:mm:ss UTC`.
fn utc(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let tod = secs.rem_euclid(86_400);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
        assert_eq!(utc(4_102_444_800), "2100-01-01 00:00:00 UTC");
    }

    #[test]
    fn der_times_of_both_encodings_are_read() {
        let utc_time = b"\x17\x0d491231235959Z";
        assert_eq!(der_time(utc_time).map(|t| t.0), Some(2_524_607_999));
        let generalized = b"\x18\x0f20500101000000Z";
        assert_eq!(der_time(generalized).map(|t| t.0), Some(2_524_608_000));
        assert_eq!(der_time(b"\x17\x0d49123123595xZ"), None);
        assert_eq!(der_time(b"\x17\x05"), None);
    }

    #[test]
    fn truncated_or_hostile_der_yields_no_validity() {
        assert_eq!(validity(&[]), None);
        assert_eq!(validity(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(validity(&[0x30, 0x02, 0x30, 0x00]), None);
        assert_eq!(validity(&[0x30, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    /// A self-signed P-256 certificate made by `openssl req -x509 -days 1`.
    const OPENSSL_CERT: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBbTCCAROgAwIBAgIUZMAKJE65CSvSAMhtCwJ/grBfW3owCgYIKoZIzj0EAwIw\n\
DDEKMAgGA1UEAwwBeDAeFw0yNjExMjQxNzM0NTBaFw0yNjExMjUxNzM0NTBaMAwx\n\
CjAIBgNVBAMMAXgwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATWkeebj+P596zE\n\
z9KyXMBv4hfEBjwtJwsGoMQJwtAZSLPGg06m06+serkE7EuDFOpY0Z22TGT5kc++\n\
CvXtyAFmo1MwUTAdBgNVHQ4EFgQUqwN9BWwYdaB/9YC+vumDQC/7dTswHwYDVR0j\n\
BBgwFoAUqwN9BWwYdaB/9YC+vumDQC/7dTswDwYDVR0TAQH/BAUwAwEB/zAKBggq\n\
hkjOPQQDAgNIADBFAiBsy5ipFXrlLP9C1rfxVJaz5qf2Gz03MQ20byyk5kpE2AIh\n\
AJzSOg9uRSx4iUxaVGwChBzlWB3+zX+T99bybbhhJrKo\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn the_validity_of_a_real_certificate_is_read() {
        let cert = CertificateDer::from_pem_slice(OPENSSL_CERT.as_bytes()).unwrap();
        assert_eq!(validity(&cert), Some((1_795_541_690, 1_795_628_090)));
        assert_eq!(utc(1_795_541_690), "2026-11-24 17:34:50 UTC");
    }
}
