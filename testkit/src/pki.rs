//! Throwaway certificates for TLS tests and examples: a CA, certificates it issues and
//! self-signed ones, written as PEM files into a temporary directory removed on drop.
//! Set-up code: every failure panics with what went wrong.

use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temporary directory of generated certificates, removed when dropped.
pub struct Pki {
    dir: PathBuf,
}

/// A CA that can issue certificates.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    /// Its certificate's PEM file.
    pub path: PathBuf,
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From now on for years (rcgen's default window).
    Now,
    /// Only in 2001: expired today.
    Expired,
    /// Only in 2090: not yet valid today.
    Future,
}

/// A certificate's PEM file and its private key's PEM file.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl Pki {
    /// A fresh directory `rdnp3-<label>-<pid>-<n>` under the system's temporary directory.
    pub fn new(label: &str) -> Pki {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rdnp3-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Pki { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `file` in the directory (which need not exist).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes `text` to `file` in the directory and returns its path.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// A self-signed CA with common name `name`, saved as `<name>.pem`.
    pub fn ca(&self, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(rcgen_failed);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap_or_else(rcgen_failed);
        let cert = params.self_signed(&key).unwrap_or_else(rcgen_failed);
        let path = self.write(&format!("{name}.pem"), &cert.pem());
        Ca { cert, key, path }
    }

    /// A certificate issued by `ca` for the DNS `names`, saved as `<file>.pem` and
    /// `<file>.key`.
    pub fn issue(&self, ca: &Ca, file: &str, names: &[&str], validity: Validity) -> Identity {
        let key = KeyPair::generate().unwrap_or_else(rcgen_failed);
        let cert = params(names, validity)
            .signed_by(&key, &ca.cert, &ca.key)
            .unwrap_or_else(rcgen_failed);
        self.save(file, &cert, &key)
    }

    /// A self-signed certificate for the DNS `names`, saved as `<file>.pem` and `<file>.key`.
    pub fn self_signed(&self, file: &str, names: &[&str], validity: Validity) -> Identity {
        let key = KeyPair::generate().unwrap_or_else(rcgen_failed);
        let cert = params(names, validity)
            .self_signed(&key)
            .unwrap_or_else(rcgen_failed);
        self.save(file, &cert, &key)
    }

    fn save(&self, file: &str, cert: &rcgen::Certificate, key: &KeyPair) -> Identity {
        Identity {
            cert: self.write(&format!("{file}.pem"), &cert.pem()),
            key: self.write(&format!("{file}.key"), &key.serialize_pem()),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// End-entity parameters for `names` valid over `validity`.
fn params(names: &[&str], validity: Validity) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap_or_else(rcgen_failed);
    match validity {
        Validity::Now => {}
        Validity::Expired => {
            params.not_before = date_time_ymd(2001, 1, 1);
            params.not_after = date_time_ymd(2002, 1, 1);
        }
        Validity::Future => {
            params.not_before = date_time_ymd(2090, 1, 1);
            params.not_after = date_time_ymd(2091, 1, 1);
        }
    }
    params
}

fn rcgen_failed<T>(e: rcgen::Error) -> T {
    panic!("certificate generation failed: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_files_exist_until_the_directory_is_dropped() {
        let pki = Pki::new("testkit");
        let ca = pki.ca("ca");
        let id = pki.issue(&ca, "server", &["server.test"], Validity::Expired);
        assert!(ca.path.exists() && id.cert.exists() && id.key.exists());
        drop(pki);
        assert!(!id.cert.exists());
    }
}
