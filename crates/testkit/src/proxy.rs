//! A TCP relay on 127.0.0.1 that cuts each connection once it has carried `limit`
//! bytes from the server: a real connection lost in the middle of an answer, to show
//! that nothing half-received is taken.

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

pub struct CuttingProxy {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CuttingProxy {
    /// Relays to `127.0.0.1:target`, cutting after `limit` bytes from it.
    pub async fn start(target: u16, limit: usize) -> anyhow::Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy")?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, limit));
            }
        });
        Ok(CuttingProxy { port, task })
    }
}

async fn relay(client: TcpStream, target: u16, limit: usize) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut carried = 0;
    let mut buf = vec![0u8; 4096];
    while carried < limit {
        let want = buf.len().min(limit - carried);
        match server_read.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                carried += n;
            }
        }
    }
    upstream.abort();
}
