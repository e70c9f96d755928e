//! Harness for tests that run the real `palisade` binary: a private temp directory per
//! test, commands with a bounded run time, a `serve` process that is always killed, and
//! a small HTTPS/1.1 client (tokio-rustls, ring) that trusts only the certificate the
//! server generated. All traffic goes to 127.0.0.1.

// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]
// Test harness: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore, SupportedProtocolVersion};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// How long a CLI command (not `serve`) may run before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `serve` may take to answer `/health`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one HTTPS exchange may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A password long enough for the policy (12+ characters) and safe in a form body
/// without percent-encoding.
pub const PASSWORD: &str = "correct-horse-battery-staple-42";

/// `unwrap` with context, for the harness helpers (which clippy does not count as
/// tests): a failure panics, failing the test, and says what was being done.
pub trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e}"))
    }
}

/// Random hex from std's randomly keyed hasher (good enough for names and test keys;
/// keeps the test free of extra dependencies).
pub fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(bytes * 2);
    out
}

pub fn now_millis() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .must("reading the clock");
    i64::try_from(d.as_millis()).must("the time in milliseconds")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").must("binding 127.0.0.1:0");
    listener.local_addr().must("reading the bound port").port()
}

/// Kills and reaps the child on drop, whatever happened to the test.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics (showing everything printed) unless the command succeeded.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the command failed; returns its stderr.
    pub fn assert_failure(&self, what: &str) -> &str {
        assert!(
            !self.status.success(),
            "{what} should have failed but exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stderr
    }
}

/// A temp directory of the test's own, removed on drop. The data directory is
/// `<root>/data` and does not exist until the binary creates it; command output goes
/// to files in `<root>`.
pub struct TestDir {
    pub root: PathBuf,
    runs: AtomicU64,
    env: Vec<(String, String)>,
    /// Another `palisade` to run instead of this build's (the previous release).
    binary: std::sync::Mutex<Option<PathBuf>>,
}

impl TestDir {
    pub fn new(label: &str) -> TestDir {
        let root = std::env::temp_dir().join(format!("palisade-bin-{label}-{}", random_hex(8)));
        // create_dir (not _all): fails if the name exists, so the directory is ours alone.
        fs::create_dir(&root).must(&format!("creating {}", root.display()));
        TestDir {
            root,
            runs: AtomicU64::new(0),
            env: Vec::new(),
            binary: std::sync::Mutex::new(None),
        }
    }

    /// Runs `binary` instead of this build from now on (`None`: this build again).
    pub fn use_binary(&self, binary: Option<&Path>) {
        *self.binary.lock().must("the binary choice") = binary.map(Path::to_path_buf);
    }

    /// Sets an environment variable for every command run from this directory.
    pub fn with_env(mut self, key: &str, value: &str) -> TestDir {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes `toml` as the configuration file (beside the data directory) and points
    /// every command at it.
    pub fn with_config(self, toml: &str) -> TestDir {
        let config = self.root.join("palisade.toml");
        std::fs::create_dir_all(&self.root).unwrap();
        std::fs::write(&config, toml).unwrap();
        self.with_env("PALISADE_CONFIG", &config.display().to_string())
    }

    /// Creates the data directory with a given master key, as an operator would when
    /// giving several nodes the same key.
    pub fn install_master_key(&self, hex_key: &str) {
        use std::io::Write as _;
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        fs::create_dir_all(self.data_dir()).must("creating the data directory");
        fs::set_permissions(self.data_dir(), fs::Permissions::from_mode(0o700)).must("chmod data dir");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(self.master_key())
            .must("creating master.key");
        f.write_all(hex_key.as_bytes()).must("writing master.key");
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn master_key(&self) -> PathBuf {
        self.data_dir().join("master.key")
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("palisade.db")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.data_dir().join("tls").join("cert.pem")
    }

    /// The binary with `--data-dir`, run from the temp root, with every inherited
    /// `PALISADE_*` variable removed.
    pub fn command(&self, args: &[&str]) -> Command {
        let chosen = self.binary.lock().must("the binary choice").clone();
        let mut cmd = Command::new(chosen.unwrap_or_else(|| PathBuf::from(BIN)));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PALISADE_") {
                cmd.env_remove(&key);
            }
        }
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd.env("NO_COLOR", "1")
            .current_dir(&self.root)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn log_paths(&self, label: &str) -> (PathBuf, PathBuf) {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        (
            self.root.join(format!("{n:02}-{label}.stdout")),
            self.root.join(format!("{n:02}-{label}.stderr")),
        )
    }

    /// Runs `palisade <args>` to completion (killed and failed after [`COMMAND_TIMEOUT`]).
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_command(self.command(args), &args.join(" "))
    }

    /// Runs a prepared command to completion, bounded by [`COMMAND_TIMEOUT`].
    pub fn run_command(&self, mut cmd: Command, what: &str) -> Output {
        let (out_path, err_path) = self.log_paths("run");
        cmd.stdout(fs::File::create(&out_path).must("creating the stdout file"))
            .stderr(fs::File::create(&err_path).must("creating the stderr file"));
        let mut child = ChildGuard(cmd.spawn().must(&format!("starting {BIN}")));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = child.0.try_wait().must("waiting for the command") {
                break status;
            }
            if Instant::now() > deadline {
                drop(child);
                panic!(
                    "`palisade {what}` did not finish within {COMMAND_TIMEOUT:?}\n--- stderr\n{}",
                    fs::read_to_string(&err_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: fs::read_to_string(&out_path).must("reading stdout"),
            stderr: fs::read_to_string(&err_path).must("reading stderr"),
        }
    }

    /// `admin create`; returns the setup token from the printed link.
    pub fn create_admin(&self, email: &str, name: &str) -> String {
        let out = self.run(&["admin", "create", "--email", email, "--name", name]);
        out.assert_success("admin create");
        setup_token(&out.stdout)
    }

    /// Starts `serve` on a free 127.0.0.1 port and waits (bounded) until `/health`
    /// answers 200 over TLS.
    /// Runs `keys audit-generate --out out` (asserting success); the body of the
    /// `[audit]` section it prints for the operator to install.
    pub fn generate_audit_key(&self, out: &Path) -> String {
        let generated = self.run(&[
            "keys",
            "audit-generate",
            "--out",
            out.to_str().unwrap_or_default(),
        ]);
        generated.assert_success("keys audit-generate");
        generated
            .stdout
            .split_once("[audit]")
            .and_then(|(_, rest)| rest.split("\n\n").next())
            .unwrap_or_else(|| panic!("no [audit] settings printed:\n{}", generated.stdout))
            .to_owned()
    }

    pub async fn serve(&self) -> Server {
        for attempt in 0..3 {
            let port = free_port();
            let origin = format!("https://localhost:{port}");
            let listen = format!("127.0.0.1:{port}");
            let (out_path, err_path) = self.log_paths("serve");
            let mut cmd = self.command(&["serve", "--listen", &listen, "--public-origin", &origin]);
            cmd.stdout(fs::File::create(&out_path).must("creating the stdout file"))
                .stderr(fs::File::create(&err_path).must("creating the stderr file"));
            let mut server = Server {
                child: ChildGuard(cmd.spawn().must(&format!("starting {BIN} serve"))),
                port,
                origin,
                cert: self.cert_path(),
                stderr: err_path,
            };
            let deadline = Instant::now() + STARTUP_TIMEOUT;
            let mut last_error = anyhow!("no attempt made");
            loop {
                if let Some(status) = server.child.0.try_wait().must("waiting for serve") {
                    let log = server.log();
                    if attempt < 2 && log.contains("Address already in use") {
                        break; // lost the port to someone else: try another
                    }
                    panic!("serve exited early with {status}\n--- stderr\n{log}");
                }
                if Instant::now() > deadline {
                    panic!(
                        "serve did not answer /health within {STARTUP_TIMEOUT:?} (last error: {last_error:#})\n--- stderr\n{}",
                        server.log()
                    );
                }
                if server.cert.exists() {
                    match server.get(&rustls::version::TLS13, "/health").await {
                        Ok(r) if r.status == 200 => return server,
                        Ok(r) => last_error = anyhow!("status {}", r.status),
                        Err(e) => last_error = e,
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        unreachable!("the last attempt panics instead of retrying")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// The 43-character token from `  https://…/setup/<token>`.
pub fn setup_token(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains("/setup/"))
        .unwrap_or_else(|| panic!("no setup link in admin create output:\n{stdout}"));
    let token = line
        .trim()
        .rsplit("/setup/")
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(token.len(), 43, "unexpected setup token {token:?} in {line:?}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "setup token is not base64url: {token:?}"
    );
    token
}

/// A running `serve`, killed on drop.
pub struct Server {
    child: ChildGuard,
    pub port: u16,
    pub origin: String,
    pub cert: PathBuf,
    stderr: PathBuf,
}

impl Server {
    /// Sends SIGTERM and waits (bounded) for the process to end; its exit status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        self.signal(rustix::process::Signal::TERM);
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.0.try_wait().must("waiting for serve") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within {within:?} of SIGTERM\n--- stderr\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (TERM: a stop, KILL: a crash, HUP: reload) without waiting.
    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_child(&self.child.0);
        rustix::process::kill_process(pid, signal).must("signalling serve");
    }

    /// Waits (bounded, without blocking the runtime) for the process to end.
    pub async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.0.try_wait().must("waiting for serve") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within {within:?}\n--- stderr\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends raw HTTP/1.1 bytes over TLS with only `version` enabled.
    pub async fn raw(
        &self,
        version: &'static SupportedProtocolVersion,
        request: &[u8],
    ) -> anyhow::Result<HttpResponse> {
        https_exchange(self.port, &self.cert, version, request).await
    }

    pub async fn get(
        &self,
        version: &'static SupportedProtocolVersion,
        path: &str,
    ) -> anyhow::Result<HttpResponse> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        self.raw(version, request.as_bytes()).await
    }

    /// A same-origin POST (the `Origin` header matches the public origin).
    pub async fn post(&self, path: &str, content_type: &str, body: &str) -> anyhow::Result<HttpResponse> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\nOrigin: {}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            self.origin,
            body.len()
        );
        self.raw(&rustls::version::TLS13, request.as_bytes()).await
    }

    /// An API call with an optional bearer token and JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<HttpResponse> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = bearer
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        self.raw(&rustls::version::TLS13, request.as_bytes()).await
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<HttpResponse> {
        self.post(path, "application/json", &body.to_string()).await
    }

    /// Creates a customer through the API (asserting 201); their id.
    pub async fn create_customer(&self, token: &str, email: &str) -> String {
        let r = self
            .api(
                "POST",
                "/api/v1/customers",
                Some(token),
                Some(&serde_json::json!({"email": email, "name": "Test customer"})),
            )
            .await
            .must("creating a customer");
        assert_eq!(r.status, 201, "{}\n--- stderr\n{}", r.text(), self.log());
        r.json()["user"]["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Creates a ticket for `requester` through the API (asserting 201); its id.
    pub async fn create_ticket(&self, token: &str, requester: &str, subject: &str) -> String {
        let body =
            serde_json::json!({"subject": subject, "body": "a sealed body", "requester_id": requester});
        let r = self
            .api("POST", "/api/v1/tickets", Some(token), Some(&body))
            .await
            .must("creating a ticket");
        assert_eq!(r.status, 201, "{}\n--- stderr\n{}", r.text(), self.log());
        r.json()["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Asserts each ticket reads (200) with its subject: what was sealed still opens.
    pub async fn assert_subjects(&self, token: &str, tickets: &[(String, String)]) {
        for (id, subject) in tickets {
            let r = self
                .api("GET", &format!("/api/v1/tickets/{id}"), Some(token), None)
                .await
                .must("reading a ticket");
            assert_eq!(r.status, 200, "{}\n--- stderr\n{}", r.text(), self.log());
            assert_eq!(r.json()["subject"].as_str(), Some(subject.as_str()));
        }
    }

    /// The administrator `setup` was printed for, with the test password chosen and an
    /// authenticator app enrolled: their session token.
    pub async fn admin_token(&self, setup: &str, email: &str) -> String {
        let saved = self
            .post(
                &format!("/setup/{setup}"),
                "application/x-www-form-urlencoded",
                &format!("password={PASSWORD}"),
            )
            .await
            .unwrap();
        assert_eq!(saved.status, 200, "{}", saved.text());
        self.sign_in_and_enrol(email, PASSWORD).await
    }

    /// Signs a new staff account in: the password gives an enrol-only session, which
    /// sets up an authenticator app and comes back as a full session token.
    #[allow(clippy::unwrap_used)] // test helper: a panic is the failure report
    pub async fn sign_in_and_enrol(&self, email: &str, password: &str) -> String {
        let signed = self
            .post_json(
                "/api/v1/sessions",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await
            .unwrap();
        assert_eq!(signed.status, 201, "{}", signed.text());
        assert_eq!(
            signed.json()["stage"],
            "enrol",
            "staff without a factor may only enrol"
        );
        let pending = signed.json()["token"].as_str().unwrap().to_owned();
        let setup = self
            .api("POST", "/api/v1/me/mfa/totp", Some(&pending), None)
            .await
            .unwrap();
        assert_eq!(setup.status, 201, "{}", setup.text());
        let secret = setup.json()["secret"].as_str().unwrap().to_owned();
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
            .build()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let body = serde_json::json!({"code": totp.generate(now).to_string()});
        let done = self
            .api("POST", "/api/v1/me/mfa/totp/confirm", Some(&pending), Some(&body))
            .await
            .unwrap();
        assert_eq!(done.status, 200, "{}", done.text());
        done.json()["token"].as_str().unwrap().to_owned()
    }
}

/// A parsed HTTP/1.1 response, with the TLS version it came over.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Lowercased names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub protocol: Option<ProtocolVersion>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text()))
    }
}

pub fn client_config(
    cert: &Path,
    version: &'static SupportedProtocolVersion,
) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).with_context(|| format!("reading {}", cert.display()))? {
        roots.add(c?)?;
    }
    if roots.is_empty() {
        bail!("no certificate in {}", cert.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One TLS connection to 127.0.0.1:`port` (verifying the name `localhost` against the
/// generated certificate), one request, the whole response.
pub async fn https_exchange(
    port: u16,
    cert: &Path,
    version: &'static SupportedProtocolVersion,
    request: &[u8],
) -> anyhow::Result<HttpResponse> {
    let config = client_config(cert, version)?;
    let exchange = async {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        let mut tls = TlsConnector::from(config)
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let protocol = tls.get_ref().1.protocol_version();
        tls.write_all(request).await?;
        tls.flush().await?;
        let mut buf = Vec::new();
        match tls.read_to_end(&mut buf).await {
            Ok(_) => {}
            // A peer that closes without close_notify after a complete response.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && !buf.is_empty() => {}
            Err(e) => return Err(e.into()),
        }
        let mut response = parse_response(&buf)?;
        response.protocol = protocol;
        Ok(response)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow!("no complete response within {REQUEST_TIMEOUT:?}"))?
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn parse_response(buf: &[u8]) -> anyhow::Result<HttpResponse> {
    let end = find(buf, b"\r\n\r\n").ok_or_else(|| anyhow!("no end of headers in {} bytes", buf.len()))?;
    let head = std::str::from_utf8(&buf[..end])?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let http = parts.next().unwrap_or_default();
    if !http.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x status line: {status_line:?}");
    }
    let status: u16 = parts
        .next()
        .ok_or_else(|| anyhow!("no status in {status_line:?}"))?
        .parse()?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| anyhow!("bad header line {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = HttpResponse {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
        protocol: None,
    };
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        response.body = dechunk(&response.body)?;
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.parse()?;
        if response.body.len() < len {
            bail!("body cut short: {} of {len} bytes", response.body.len());
        }
        response.body.truncate(len);
    }
    Ok(response)
}

fn dechunk(mut rest: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or_else(|| anyhow!("chunk size line missing"))?;
        let size_text = std::str::from_utf8(&rest[..line_end])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            bail!("chunk cut short");
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Opens the test's SQLite database directly, as an insider with file access would.
pub async fn open_db(dir: &TestDir) -> SqliteConnection {
    let url = format!("sqlite://{}", dir.db_path().display());
    SqliteConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"))
}

/// Runs each statement directly against the test's SQLite database.
pub async fn exec_sql(dir: &TestDir, statements: &[String]) {
    let mut conn = open_db(dir).await;
    for sql in statements {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    conn.close().await.must("closing the database");
}

/// A single integer from a query against the test's SQLite database.
pub async fn query_i64(dir: &TestDir, sql: &str) -> i64 {
    let mut conn = open_db(dir).await;
    let value: i64 = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.must("closing the database");
    value
}
