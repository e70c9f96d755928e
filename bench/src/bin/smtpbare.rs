//! The baseline for `bench/smtp.sh`: an SMTP server on the same tokio runtime and the
//! same DATA framing (`smtp-proto`'s receiver) as Palisade's listener that accepts
//! every message with 250 and does nothing else — no strict reading, no DNS, no
//! storage. Palisade's messages per second divided by this one's is the ratio the
//! benchmark reports.

// The same allocator as `palisade`, so the baseline differs from it only in its work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;

use clap::Parser;
use smtp_proto::request::receiver::DataReceiver;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
#[command(about = "Accept-everything SMTP server (benchmark baseline)")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:2525")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.listen.ip().is_loopback(), "loopback only");
    let listener = TcpListener::bind(args.listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = session(stream).await;
        });
    }
}

async fn session(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut io = BufReader::new(stream);
    io.get_mut().write_all(b"220 bare ESMTP\r\n").await?;
    loop {
        let mut line = Vec::new();
        if io.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        match verb.as_slice() {
            b"EHLO" => io.get_mut().write_all(b"250-bare\r\n250 PIPELINING\r\n").await?,
            b"DATA" => {
                io.get_mut().write_all(b"354 go ahead\r\n").await?;
                let mut receiver = DataReceiver::new();
                let mut message = Vec::new();
                loop {
                    let chunk = io.fill_buf().await?;
                    if chunk.is_empty() {
                        return Ok(());
                    }
                    let mut iter = chunk.iter();
                    let done = receiver.ingest(&mut iter, &mut message);
                    let used = chunk.len() - iter.as_slice().len();
                    io.consume(used);
                    if done {
                        break;
                    }
                }
                io.get_mut().write_all(b"250 2.0.0 accepted\r\n").await?;
            }
            b"QUIT" => {
                io.get_mut().write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => io.get_mut().write_all(b"250 ok\r\n").await?,
        }
    }
}
