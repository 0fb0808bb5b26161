//! TLS for TCP channels: a pure byte filter between the socket and the DNP3 router. The
//! channel task feeds it ciphertext and takes plaintext for the router; it feeds it the
//! router's plaintext and takes ciphertext for the socket. The filter never calls the socket. Both sides present a
//! certificate (mutual authentication); the peer's is checked against a CA chain or pinned.
//!
//! `config`: settings, PEM loading and their errors; `error`: handshake errors; `verify`: the
//! certificate checks; `layer`: the filter itself; `der`: the few DER reads it needs.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name, Resumption};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{
    NoServerSessionStorage, ParsedCertificate, ServerSessionMemoryCache, WebPkiClientVerifier,
};
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

mod budget;
mod config;
mod der;
mod error;
mod layer;
#[cfg(test)]
mod tests;
mod verify;

#[allow(unused_imports)]
use config::*;
pub use config::{PeerAuthentication, TlsConfig, TlsConfigError, TlsVersion};
#[allow(unused_imports)]
use der::*;
pub use error::TlsError;
#[allow(unused_imports)]
use error::*;
#[allow(unused_imports)]
use layer::*;
pub(crate) use layer::{TlsContext, TlsLayer};
#[allow(unused_imports)]
use verify::*;
