//! A real PostgreSQL server for a test: Debian's `postgresql` binaries (found under
//! /usr/lib/postgresql/*/bin, or on PATH), a cluster made in a temporary directory, listening
//! on a free port of 127.0.0.1 with its unix socket in that directory, stopped when the guard
//! drops (also when the test panics). Connections over TCP need the superuser's password
//! ([`PostgresServer::password`]), so tests see passwords checked. PostgreSQL refuses to run as root, so as root it runs
//! as the `postgres` user the Debian package creates. Missing binaries fail the test: it
//! never skips.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The superuser's password: what a test looks for in messages that must not show it.
const PASSWORD: &str = "antimony-test-password-7f3a";

/// A running server; stopped on drop.
pub struct PostgresServer {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Makes a cluster and starts it.
    pub fn start() -> Self {
        Self::start_with(false).0
    }

    /// Makes a cluster that takes TCP connections over TLS only (`hostssl`), its certificate
    /// for 127.0.0.1 issued by a certificate authority made here, and starts it; returns the
    /// authority's PEM file too.
    #[allow(dead_code)] // not every test binary sharing this harness speaks TLS
    pub fn start_tls() -> (Self, PathBuf) {
        let (server, ca) = Self::start_with(true);
        (server, ca.unwrap_or_default())
    }

    fn start_with(tls: bool) -> (Self, Option<PathBuf>) {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("antimony-pg")
            .tempdir()
            .expect("a temp dir");
        let as_postgres = is_root();
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, PASSWORD).expect("write the password file");
        if as_postgres {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path()),
                "chown",
            );
        }
        let data = dir.path().join("data");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = PostgresServer {
            bin,
            data,
            as_postgres,
            port,
            _dir: dir,
        };
        server.run_tool("initdb", |c| {
            c.arg("-D")
                .arg(&server.data)
                .args(["-U", "postgres", "-E", "UTF8", "--no-sync"])
                .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
                .arg(format!("--pwfile={}", password_file.display()));
        });
        let socket_dir = server
            .data
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let ca = tls.then(|| server.make_certificates(&socket_dir));
        let tls_options = if tls {
            " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        } else {
            ""
        };
        let log = socket_dir.join("server.log");
        server.run_tool("pg_ctl", |c| {
            c.arg("-D")
                .arg(&server.data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{tls_options}",
                    server.port,
                    socket_dir.display()
                ))
                .args(["-w", "-t", "60", "start"]);
        });
        if tls {
            // `pg_ctl -w` waited until it takes connections (over TLS only, now).
            return (server, ca);
        }
        let started = Instant::now();
        while postgres::Client::connect(&server.url(), postgres::NoTls).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not answer within 60 s: see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        (server, None)
    }

    /// Writes the server's certificate and key into the cluster (owned by the server, the key
    /// private, as PostgreSQL demands), lets TCP clients in over TLS only, and returns the
    /// authority's PEM file, in `dir`.
    fn make_certificates(&self, dir: &Path) -> PathBuf {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key"))
            .expect("a CA");
        let key = KeyPair::generate().expect("key");
        let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("a certificate");
        let crt = self.data.join("server.crt");
        let key_file = self.data.join("server.key");
        std::fs::write(&crt, certificate.pem()).expect("write the certificate");
        std::fs::write(&key_file, key.serialize_pem()).expect("write the key");
        let hba = self.data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        let rules: String = rules
            .lines()
            .map(|l| match l.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&hba, rules).expect("write pg_hba.conf");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .expect("chmod the key");
        }
        if self.as_postgres {
            run(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&crt)
                    .arg(&key_file)
                    .arg(&hba),
                "chown",
            );
        }
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        ca_file
    }

    /// The URL of the `postgres` database, as the superuser, with its password.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// The same URL without the password (for PGPASSWORD to give it).
    pub fn url_without_password(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The superuser's password.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn run_tool(&self, tool: &str, args: impl FnOnce(&mut Command)) -> Output {
        let path = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        args(&mut command);
        run(&mut command, tool)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The directory of `initdb` and `pg_ctl`: the newest /usr/lib/postgresql/N/bin, else PATH.
fn find_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    on_path.unwrap_or_else(|| {
        panic!(
            "PostgreSQL is missing (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): \
             install Debian's `postgresql` (`apt-get install -y postgresql`; .ci/run does it)"
        )
    })
}
