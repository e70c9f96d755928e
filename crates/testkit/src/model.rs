//! A scripted, adversarial stand-in for an OpenAI-compatible chat-completions endpoint:
//! [`ModelServer::start`] listens on loopback, answers every `POST` with whatever the
//! test's script returns for the request (a faithful answer, a leaked system prompt, a
//! tracking image, a refund promise, an error, a stall…) and keeps every request body,
//! so tests can prove what a model was and was not sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const MAX_REQUEST: usize = 1024 * 1024;

/// What the scripted model answers to one request.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub content: String,
    /// Reported as `usage.total_tokens`; `None` leaves usage out.
    pub total_tokens: Option<i64>,
    /// Waits this long before answering.
    pub delay: Duration,
}

impl Scripted {
    pub fn answer(content: impl Into<String>) -> Self {
        Self {
            status: 200,
            content: content.into(),
            total_tokens: Some(300),
            delay: Duration::ZERO,
        }
    }

    pub fn failure(status: u16) -> Self {
        Self {
            status,
            ..Self::answer("")
        }
    }
}

/// What a request carried, read the way a model would.
pub struct Prompt<'a>(pub &'a Value);

impl Prompt<'_> {
    fn message(&self, role: &str) -> String {
        self.0["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == role)
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn system(&self) -> String {
        self.message("system")
    }

    /// The user message, parsed when it is JSON (as Palisade sends it).
    pub fn user(&self) -> Value {
        let text = self.message("user");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    pub fn question(&self) -> String {
        self.user()["question"].as_str().unwrap_or_default().to_owned()
    }

    /// The ids of the articles given, in order.
    pub fn article_ids(&self) -> Vec<String> {
        self.user()["articles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn passages(&self) -> String {
        self.user()["articles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["passage"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

type Script = dyn Fn(&Prompt<'_>) -> Scripted + Send + Sync;

pub struct ModelServer {
    /// The base URL to configure (`http://127.0.0.1:port`).
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ModelServer {
    pub async fn start(
        script: impl Fn(&Prompt<'_>) -> Scripted + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let kept = bodies.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, kept) = (script.clone(), kept.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, script, kept).await;
                });
            }
        });
        Ok(Self { url, bodies, task })
    }

    /// Every request body received, as sent.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }

    pub fn requests(&self) -> usize {
        self.bodies().len()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    script: Arc<Script>,
    kept: Arc<Mutex<Vec<String>>>,
) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed before the headers ended");
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_REQUEST {
            bail!("headers too long");
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .context("no content-length")?;
    if length > MAX_REQUEST {
        bail!("body too long");
    }
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed in the body");
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..header_end + length]).to_string();
    if let Ok(mut all) = kept.lock() {
        all.push(body.clone());
    }
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let answer = script(&Prompt(&request));
    tokio::time::sleep(answer.delay).await;
    let mut reply = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": answer.content }, "finish_reason": "stop" }],
    });
    if let Some(tokens) = answer.total_tokens {
        reply["usage"] = json!({ "total_tokens": tokens });
    }
    let payload = if answer.status == 200 {
        reply.to_string()
    } else {
        json!({ "error": { "message": "scripted failure" } }).to_string()
    };
    let response = format!(
        "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        answer.status,
        payload.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}
