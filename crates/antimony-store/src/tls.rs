//! TLS to PostgreSQL, as teams run it: a URL with `sslmode=require` (or libpq's `verify-ca`
//! and `verify-full`) connects over rustls, and the server's certificate is always verified:
//! against the public roots and the certificate authorities of `sslrootcert` (a URL
//! parameter, as libpq reads it) or of the file `PGSSLROOTCERT` names. Without `sslmode`, or
//! with `disable` or `prefer`, the connection is plain, as it was: Debian's default server
//! offers TLS with a self-signed certificate that nothing here could verify.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls;

/// A URL as tokio-postgres reads it (without `sslrootcert`, which it does not know, and with
/// the verifying modes as `require`: certificates are verified whatever the mode), whether it
/// asks for TLS, and the file of trusted authorities it names.
pub(crate) struct TlsUrl {
    pub url: String,
    pub tls: bool,
    pub root_cert: Option<String>,
}

/// Splits the TLS parameters out of a `postgres://` URL's query.
pub(crate) fn read_url(url: &str) -> TlsUrl {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut kept = Vec::new();
    let mut tls = false;
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslrootcert", path)) => root_cert = Some(path.to_owned()),
            Some(("sslmode", "require" | "verify-ca" | "verify-full")) => {
                tls = true;
                kept.push("sslmode=require");
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let root_cert = root_cert.or_else(|| {
        std::env::var("PGSSLROOTCERT")
            .ok()
            .filter(|p| !p.is_empty())
    });
    TlsUrl {
        url,
        tls,
        root_cert,
    }
}

/// A connector verifying servers against the public roots and `root_cert`'s authorities.
pub(crate) fn connector(root_cert: Option<&str>) -> Result<MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root_cert {
        let certificates = CertificateDer::pem_file_iter(Path::new(path))
            .map_err(|e| format!("cannot read sslrootcert `{path}`: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("sslrootcert `{path}` does not read as PEM certificates: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("sslrootcert `{path}` holds no PEM certificate"));
        }
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| format!("sslrootcert `{path}`: a certificate is refused: {e}"))?;
        }
    }
    // ring, the provider the other outputs build; aws-lc-rs would add a C and cmake build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_read_out_of_the_url() {
        let read = read_url(
            "postgres://a@db/antimony?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x",
        );
        assert!(read.tls);
        assert_eq!(read.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(
            read.url,
            "postgres://a@db/antimony?sslmode=require&application_name=x"
        );
        let plain = read_url("postgres://a@db/antimony?sslmode=prefer");
        assert!(!plain.tls);
        assert_eq!(plain.url, "postgres://a@db/antimony?sslmode=prefer");
        assert!(!read_url("postgres://a@db/antimony").tls);
    }

    #[test]
    fn a_missing_or_empty_root_certificate_file_is_said() {
        let e = connector(Some("/no/such/ca.pem")).err().unwrap_or_default();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        let e = connector(empty.to_str()).err().unwrap_or_default();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
