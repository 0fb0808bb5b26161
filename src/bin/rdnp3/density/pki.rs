//! `--tls`: a CA and one certificate for the outstations and one for the masters, made for
//! this run in a temporary directory removed at the end, or (split roles, `--tls-dir`) written
//! by the outstations into a kept directory the master reads.

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rdnp3::TlsConfig;
use std::path::{Path, PathBuf};

/// The run's certificates and the TLS settings of each end.
pub struct ThrowawayPki {
    dir: PathBuf,
    /// Removed when dropped (made for this run only).
    temporary: bool,
    pub outstation: TlsConfig,
    pub master: TlsConfig,
}

impl ThrowawayPki {
    /// Makes the CA and both certificates.
    pub fn new() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("rdnp3-density-{}", std::process::id()));
        Self::issue_into(dir, true)
    }

    /// Makes the CA and both certificates in `dir` (created if needed), and keeps them there
    /// for a master process to [`ThrowawayPki::load`]; certificates already there are used as
    /// they are, so restarted outstations present the ones the master trusts.
    pub fn create_in(dir: &Path) -> Result<Self, String> {
        Self::load(dir).or_else(|_| Self::issue_into(dir.to_path_buf(), false))
    }

    /// The settings of certificates an outstation process made in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let file = |name: &str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "{}: missing (start the outstations with --tls --tls-dir first)",
                    path.display()
                ))
            }
        };
        let ca = file("ca.pem")?;
        let config = |who: &str| -> Result<TlsConfig, String> {
            Ok(TlsConfig::ca_chain(
                file(&format!("{who}.pem"))?,
                file(&format!("{who}.key"))?,
                &ca,
            ))
        };
        Ok(ThrowawayPki {
            outstation: config("outstation")?,
            master: config("master")?.with_peer_name("outstation.density"),
            dir: dir.to_path_buf(),
            temporary: false,
        })
    }

    fn issue_into(dir: PathBuf, temporary: bool) -> Result<Self, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pki = ThrowawayPki {
            outstation: TlsConfig::ca_chain("", "", ""),
            master: TlsConfig::ca_chain("", "", ""),
            dir,
            temporary,
        };
        pki.issue_all().map_err(|e| format!("certificates: {e}"))
    }

    fn issue_all(mut self) -> Result<Self, Box<dyn std::error::Error>> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "density CA");
        let ca_key = KeyPair::generate()?;
        let ca = params.self_signed(&ca_key)?;
        let ca_path = self.write("ca.pem", &ca.pem())?;
        let issue = |who: &str| -> Result<TlsConfig, Box<dyn std::error::Error>> {
            let key = KeyPair::generate()?;
            let cert = CertificateParams::new(vec![format!("{who}.density")])?
                .signed_by(&key, &ca, &ca_key)?;
            let cert_path = self.write(&format!("{who}.pem"), &cert.pem())?;
            let key_path = self.write(&format!("{who}.key"), &key.serialize_pem())?;
            Ok(TlsConfig::ca_chain(cert_path, key_path, &ca_path))
        };
        let outstation = issue("outstation")?;
        let master = issue("master")?.with_peer_name("outstation.density");
        self.outstation = outstation;
        self.master = master;
        Ok(self)
    }

    fn write(&self, file: &str, text: &str) -> std::io::Result<PathBuf> {
        let path = self.dir.join(file);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for ThrowawayPki {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
