//! The optional scanning hook: a staged upload is streamed to ClamAV's
//! `clamd` (`CASEWORK_CLAMD`: a Unix socket path or `host:port`) with the
//! `INSTREAM` command before the upload may be kept. Fails closed: an
//! unreachable scanner refuses the upload.

use std::io;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::BlobStream;

/// What clamd said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature name clamd reported.
    Infected(String),
}

/// Streams `blob` to the clamd at `address` and returns its verdict.
pub async fn scan(address: &str, blob: BlobStream) -> io::Result<Verdict> {
    if address.starts_with('/') {
        #[cfg(unix)]
        {
            let stream = tokio::net::UnixStream::connect(address).await?;
            return instream(stream, blob).await;
        }
        #[cfg(not(unix))]
        return Err(io::Error::other("Unix sockets are not supported here"));
    }
    let stream = tokio::net::TcpStream::connect(address).await?;
    instream(stream, blob).await
}

async fn instream<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, mut blob: BlobStream) -> io::Result<Verdict> {
    stream.write_all(b"zINSTREAM\0").await?;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk?;
        for part in chunk.chunks(64 * 1024) {
            stream.write_all(&(part.len() as u32).to_be_bytes()).await?;
            stream.write_all(part).await?;
        }
    }
    stream.write_all(&0u32.to_be_bytes()).await?;
    stream.flush().await?;
    let mut reply = Vec::new();
    stream.take(4096).read_to_end(&mut reply).await?;
    parse_reply(&String::from_utf8_lossy(&reply))
}

/// `stream: OK`, `stream: Eicar-Signature FOUND`, or an error line.
fn parse_reply(reply: &str) -> io::Result<Verdict> {
    let reply = reply.trim_end_matches(['\0', '\n']).trim();
    let body = reply.strip_prefix("stream:").map(str::trim).unwrap_or(reply);
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(name) = body.strip_suffix("FOUND") {
        Ok(Verdict::Infected(name.trim().to_owned()))
    } else {
        Err(io::Error::other(format!("clamd answered {reply:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_understood() {
        assert_eq!(parse_reply("stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(parse_reply("stream: Win.Test.EICAR_HDB-1 FOUND\0").unwrap(), Verdict::Infected("Win.Test.EICAR_HDB-1".into()));
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR\0").is_err());
    }
}
