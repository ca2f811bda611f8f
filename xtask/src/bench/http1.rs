//! The load's HTTP/1.1 client: one keep-alive connection per load worker, each request written
//! as bytes and each answer read to its status and body, as wrk does.
//!
//! The load generator shares the machine's two cores with the server it measures, so every
//! microsecond it spends is one the server does not get. reqwest (hyper's pool, header maps,
//! a JSON parse of every answer) cost the bench 94–103 µs per SQLite returnCode and 128–142
//! per sendLink; this costs 52–54 and 67–71 (docs/PERFORMANCE.md, run 16). reqwest still
//! sends everything that is not the measured load (seeding, metrics, SetPassword).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A request's bytes: `POST path` with a bearer token and a JSON body.
pub fn post(host: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A request's bytes: `GET path`, with a bearer token if given.
pub fn get(host: &str, path: &str, token: Option<&str>) -> Vec<u8> {
    match token {
        Some(token) => {
            format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\r\n")
        }
        None => format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n"),
    }
    .into_bytes()
}

/// A connection for each of a load's workers, to the server at `base` (`http://host:port`).
pub struct Connections {
    /// `host:port`, for the `host` header.
    pub host: String,
    /// Each worker locks only its own, so the locks are never contended.
    each: Vec<tokio::sync::Mutex<Connection>>,
}

impl Connections {
    /// # Panics
    /// When `base` is not `http://` and an IP address with a port: the bench builds it itself.
    pub fn new(base: &str, workers: usize) -> Self {
        let host = base.strip_prefix("http://").unwrap_or(base).to_owned();
        let address: SocketAddr = host.parse().expect("the bench's own base URL");
        let each = (0..workers)
            .map(|_| tokio::sync::Mutex::new(Connection::new(address)))
            .collect();
        Connections { host, each }
    }

    /// Whether `request` on `worker`'s connection was answered with a 2xx.
    pub async fn exchange(&self, worker: usize, request: &[u8]) -> bool {
        self.status(worker, request)
            .await
            .is_some_and(|status| (200..300).contains(&status))
    }

    /// [`Connection::status`] on `worker`'s connection.
    pub async fn status(&self, worker: usize, request: &[u8]) -> Option<u16> {
        self.each.get(worker)?.lock().await.status(request).await
    }
}

/// One keep-alive connection, opened on first use and again after an error or a
/// `connection: close`.
pub struct Connection {
    address: SocketAddr,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Connection {
    pub fn new(address: SocketAddr) -> Self {
        Connection {
            address,
            stream: None,
            buffer: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and answers the status of a complete answer, or `None` after an I/O or
    /// framing error (the connection is then dropped).
    pub async fn status(&mut self, request: &[u8]) -> Option<u16> {
        let status = self.try_exchange(request).await;
        if status.is_err() {
            self.stream = None;
        }
        status.ok()
    }

    async fn try_exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.address).await?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        stream.write_all(request).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            read_more(stream, &mut self.buffer).await?;
        };
        let head = Head::parse(&self.buffer[..head_end])?;
        while self.buffer.len() < head_end + head.content_length {
            read_more(stream, &mut self.buffer).await?;
        }
        if self.buffer.len() > head_end + head.content_length {
            return Err(framing("more bytes than the answer's content-length"));
        }
        if head.close {
            self.stream = None;
        }
        Ok(head.status)
    }
}

/// What the bench needs of an answer's head.
struct Head {
    status: u16,
    content_length: usize,
    close: bool,
}

impl Head {
    fn parse(bytes: &[u8]) -> std::io::Result<Head> {
        let text = std::str::from_utf8(bytes).map_err(|_| framing("a head that is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.strip_prefix("HTTP/1.1 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| framing("no HTTP/1.1 status line"))?;
        let (mut content_length, mut close) = (None, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(framing("a chunked answer"));
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        Ok(Head {
            status,
            content_length: content_length.ok_or_else(|| framing("no content-length"))?,
            close,
        })
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    buffer.reserve(4096);
    if stream.read_buf(buffer).await? == 0 {
        return Err(framing("the server closed the connection mid-answer"));
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn framing(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}
