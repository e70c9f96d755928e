//! The TLS certificate is replaced without a restart: new files and SIGHUP, and new
//! handshakes present the new certificate; a pair whose key does not match its
//! certificate is refused and the one in use keeps serving.

use std::time::{Duration, Instant};

use rustix::process::Signal;
use rustls::version::TLS13;

use super::common::{TestDir, https_exchange};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

fn self_signed() -> (String, String) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).unwrap_or_else(|e| panic!("{e}"));
    (generated.cert.pem(), generated.signing_key.serialize_pem())
}

/// Whether a handshake trusting only `cert_pem` succeeds.
async fn trusted(dir: &TestDir, port: u16, cert_pem: &str, label: &str) -> bool {
    let file = dir.root.join(format!("trust-{label}.pem"));
    std::fs::write(&file, cert_pem).unwrap_or_else(|e| panic!("{e}"));
    https_exchange(port, &file, &TLS13, HEALTH)
        .await
        .is_ok_and(|r| r.status == 200)
}

#[tokio::test]
async fn a_new_certificate_is_served_after_sighup_and_a_mismatched_pair_is_refused() {
    let dir = TestDir::new("tls-reload");
    let mut server = dir.serve().await;
    let tls = dir.data_dir().join("tls");
    let first = std::fs::read_to_string(tls.join("cert.pem")).unwrap_or_else(|e| panic!("{e}"));
    assert!(trusted(&dir, server.port, &first, "first").await);

    let (cert, key) = self_signed();
    std::fs::write(tls.join("key.pem"), &key).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(tls.join("cert.pem"), &cert).unwrap_or_else(|e| panic!("{e}"));
    server.signal(Signal::HUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !trusted(&dir, server.port, &cert, "second").await {
        assert!(Instant::now() < deadline, "not reloaded\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !trusted(&dir, server.port, &first, "first-again").await,
        "the old certificate is no longer served"
    );

    // The certificate of one pair with the key of another: refused, nothing changes.
    let (_, other_key) = self_signed();
    std::fs::write(tls.join("key.pem"), &other_key).unwrap_or_else(|e| panic!("{e}"));
    server.signal(Signal::HUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("the new TLS certificate was refused") {
        assert!(Instant::now() < deadline, "no refusal logged\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(trusted(&dir, server.port, &cert, "still-second").await);
    assert!(server.terminate(Duration::from_secs(20)).success());
}
