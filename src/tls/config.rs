//! TLS settings, loading certificates and keys from PEM files, and the errors of both.

#[allow(unused_imports)]
use super::*;

/// A TLS protocol version.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    #[cfg_attr(feature = "serde", serde(rename = "1.2"))]
    V1_2,
    /// TLS 1.3 (RFC 8446).
    #[cfg_attr(feature = "serde", serde(rename = "1.3"))]
    V1_3,
}

/// How the peer's certificate is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
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
    /// Session resumption (default on): a client that reconnects presents the ticket (TLS
    /// 1.3) or session id (TLS 1.2) of its last session and both sides skip the certificate
    /// exchange and its signatures, so a reconnect storm after an outage costs little crypto.
    /// The peer was authenticated when the session began; a session lives at most 6 hours.
    /// Turn it off where every connection must present its certificate again.
    pub session_resumption: bool,
}

/// No files yet (set them with the `with_*` setters, or start from [`TlsConfig::ca_chain`] or
/// [`TlsConfig::self_signed`]); TLS 1.2 and 1.3 allowed, names not checked. Loading fails with
/// [`TlsConfigError`] until the files are set.
impl Default for TlsConfig {
    fn default() -> Self {
        Self::new("", "", PeerAuthentication::CaChain(PathBuf::new()))
    }
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
            session_resumption: true,
        }
    }

    /// Sets our certificate file (PEM, followed by any intermediate CA certificates).
    pub fn with_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.certificate = path.into();
        self
    }

    /// Sets our private key file (PEM).
    pub fn with_private_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.private_key = path.into();
        self
    }

    /// Sets how the peer's certificate is checked.
    pub fn with_peer(mut self, peer: PeerAuthentication) -> Self {
        self.peer = peer;
        self
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

    /// Turns session resumption on or off (see [`TlsConfig::session_resumption`]).
    pub fn with_session_resumption(mut self, on: bool) -> Self {
        self.session_resumption = on;
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
        config.resumption = if self.session_resumption {
            // One channel talks to one server: a few sessions are plenty.
            Resumption::in_memory_sessions(4)
        } else {
            Resumption::disabled()
        };
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
        if self.session_resumption {
            // TLS 1.3: stateless tickets (the session travels encrypted with the client, so a
            // listener with ten thousand outstations stores nothing); TLS 1.2: a bounded cache
            // of session ids.
            config.ticketer = rustls::crypto::ring::Ticketer::new()
                .map_err(|e| TlsConfigError::Unsupported(e.to_string()))?;
            config.send_tls13_tickets = 1;
            config.session_storage = ServerSessionMemoryCache::new(256);
        } else {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
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
pub(super) struct Parts {
    provider: Arc<CryptoProvider>,
    versions: Vec<&'static SupportedProtocolVersion>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    verifier: Arc<PeerVerifier>,
}

/// Reads every certificate of a PEM file (at least one).
pub(super) fn load_certificates(
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

pub(super) fn pem_error(path: &Path, what: &'static str, e: pem::Error) -> TlsConfigError {
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
pub(super) fn warn_if_out_of_date(path: &Path, cert: &CertificateDer<'_>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_config_without_files_fails_to_load_with_a_clear_error() {
        let e = TlsConfig::default()
            .server_context()
            .err()
            .expect("no files set");
        assert!(!e.to_string().is_empty());
        let c = TlsConfig::default()
            .with_certificate("a.pem")
            .with_private_key("a.key")
            .with_peer(PeerAuthentication::SelfSigned("b.pem".into()));
        assert_eq!(c, TlsConfig::self_signed("a.pem", "a.key", "b.pem"));
    }
}
