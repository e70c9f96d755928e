//! A real OpenID provider for tests: npm `oidc-provider`, two issuers on loopback,
//! started by [`OidcPeer::start`] and stopped when dropped. [`OidcPeer::sign_in`] plays
//! the browser at the provider (following its redirects with a cookie jar) as a user
//! the test describes, and returns the redirect back to Palisade.
//!
//! Needs Node and the npm packages that `scripts/test.sh` installs (see [`crate::node`]).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const SCRIPT: &str = include_str!("../peers/oidc-provider.mjs");

/// The client Palisade is registered as at both issuers.
pub const CLIENT_ID: &str = "palisade";
pub const CLIENT_SECRET: &str = "palisade-test-client-secret-0123456789";

pub struct OidcPeer {
    /// Two independent issuers (own keys), e.g. for mix-up tests.
    pub issuers: [String; 2],
    _child: Child,
    /// Held open: node dies of EPIPE if its stdout closes while it runs.
    _stdout: BufReader<tokio::process::ChildStdout>,
}

impl OidcPeer {
    /// Starts the provider with Palisade's client registered for `redirect_uris`.
    pub async fn start(redirect_uris: &[String]) -> anyhow::Result<OidcPeer> {
        let script = crate::node::install_script(SCRIPT, "oidc-provider").await?;
        let mut child = Command::new("node")
            .arg(&script)
            .current_dir(crate::node::npm_dir())
            .env("PALISADE_OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("PALISADE_OIDC_REDIRECT_URIS", format!("{:?}", redirect_uris))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting node")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let read = tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line)).await;
        let _ = tokio::fs::remove_file(&script).await;
        read.context("the OpenID provider did not start in 30 s")??;
        let ready: ReadyLine = parse_ready(&line)?;
        Ok(OidcPeer {
            issuers: ready.0,
            _child: child,
            _stdout: stdout,
        })
    }

    /// Plays the user at the provider: opens `authorize_url` with `user` (a JSON object:
    /// sub, email, email_verified, name, amr, acr, tamper) as the login hint and follows
    /// the provider's redirects until one leads elsewhere; returns that URL.
    pub async fn sign_in(&self, authorize_url: &str, user: &str) -> anyhow::Result<String> {
        let mut url = format!("{authorize_url}&login_hint={}", percent_encode(user));
        let mut cookies: Vec<(String, String)> = Vec::new();
        for _ in 0..10 {
            let origin = origin_of(&url)?;
            if !self.issuers.contains(&origin) {
                return Ok(url);
            }
            let response = get(&url, &cookies).await?;
            for set in &response.set_cookies {
                if let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) {
                    cookies.retain(|(n, _)| n != name);
                    cookies.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            let Some(location) = response.location else {
                bail!(
                    "provider answered {} without a redirect: {}",
                    response.status,
                    response.body
                );
            };
            url = if location.starts_with('/') {
                format!("{origin}{location}")
            } else {
                location
            };
        }
        bail!("too many redirects at the provider")
    }
}

struct ReadyLine([String; 2]);

fn parse_ready(line: &str) -> anyhow::Result<ReadyLine> {
    // {"issuers":["http://127.0.0.1:1","http://127.0.0.1:2"]}
    let inner = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(inner, _)| inner)
        .ok_or_else(|| anyhow!("unexpected ready line {line:?}"))?;
    let urls: Vec<String> = inner
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .collect();
    match <[String; 2]>::try_from(urls) {
        Ok(pair) => Ok(ReadyLine(pair)),
        Err(_) => bail!("unexpected ready line {line:?}"),
    }
}

fn origin_of(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| anyhow!("not a URL: {url}"))?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    Ok(format!("{scheme}://{host}"))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct PlainResponse {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

/// HTTP/1.1 GET over plain TCP, to the loopback provider only.
async fn get(url: &str, cookies: &[(String, String)]) -> anyhow::Result<PlainResponse> {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .ok_or_else(|| anyhow!("refusing to fetch {url}: not a loopback provider"))?;
    let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = tokio::time::timeout(
        Duration::from_secs(10),
        TcpStream::connect(format!("127.0.0.1:{port}")),
    )
    .await??;
    let cookie_header = if cookies.is_empty() {
        String::new()
    } else {
        let joined: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        format!("Cookie: {}\r\n", joined.join("; "))
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie_header}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad response from provider: {head}"))?;
    let mut location = None;
    let mut set_cookies = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "location" => location = Some(value.trim().to_owned()),
                "set-cookie" => set_cookies.push(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    Ok(PlainResponse {
        status,
        location,
        set_cookies,
        body: body.chars().take(500).collect(),
    })
}
