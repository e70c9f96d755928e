//! An independent webhook receiver: Python with the `standardwebhooks` library from
//! PyPI (scripts/test.sh installs it and names the interpreter in
//! `PALISADE_TEST_PYTHON`), verifying every delivery as an integrator's receiver would
//! and recording what came. On 127.0.0.1 only; stopped when dropped.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const SCRIPT: &str = include_str!("../assets/webhook_receiver.py");

pub struct WebhookReceiver {
    pub port: u16,
    _child: Child,
}

/// What one raw exchange with the receiver answered.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl WebhookReceiver {
    pub async fn start() -> anyhow::Result<WebhookReceiver> {
        let python = std::env::var("PALISADE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(SCRIPT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {python} (scripts/test.sh installs it)"))?;
        let stdout = child.stdout.take().context("receiver stdout")?;
        let mut first = String::new();
        let read = tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut first),
        )
        .await;
        let port = match (read, first.trim().parse::<u16>()) {
            (Ok(Ok(_)), Ok(port)) => port,
            _ => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), stderr.read_to_string(&mut err)).await;
                }
                bail!(
                    "the webhook receiver did not start (it needs standardwebhooks from PyPI; scripts/test.sh installs it into PALISADE_TEST_PYTHON's environment): {err}"
                );
            }
        };
        Ok(WebhookReceiver { port, _child: child })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Verifies with this secret from now on.
    pub async fn set_secret(&self, secret: &str) -> anyhow::Result<()> {
        self.control("PUT", "/_secret", secret).await
    }

    /// `up`, `down` (503 to everything) or `redirect <url>` (307 there).
    pub async fn set_mode(&self, mode: &str) -> anyhow::Result<()> {
        self.control("PUT", "/_mode", mode).await
    }

    /// `{"attempts": n, "received": [...]}`: what the receiver saw, in order.
    pub async fn received(&self) -> anyhow::Result<serde_json::Value> {
        let answer = self.exchange("GET", "/_received", &[], b"").await?;
        Ok(serde_json::from_str(&answer.body)?)
    }

    /// Sends a request of the test's own making (a replayed or altered delivery).
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> anyhow::Result<Answer> {
        self.exchange("POST", path, headers, body).await
    }

    async fn control(&self, method: &str, path: &str, body: &str) -> anyhow::Result<()> {
        let answer = self.exchange(method, path, &[], body.as_bytes()).await?;
        if answer.status != 204 {
            bail!("the receiver refused {method} {path}: {}", answer.status);
        }
        Ok(())
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await??;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("the receiver's answer has no status")?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok(Answer { status, body })
    }
}
