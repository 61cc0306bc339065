//! Sends one DC-09 message to a receiver over TCP or UDP and waits for its answer; sends
//! NULL supervision polls; and fails over from the primary receiver to the backup.
//!
//! ACK (matching sequence and account) is success. NAK carrying a time stamp means the
//! receiver's clock differs from ours: the offset is adopted and the message sent once more
//! with a corrected time stamp. DUH means the receiver will not take this message at all.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::codec::{self, CodecError, Key, Message, Token};

/// Why a message was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum TransmitError {
    /// No connection or no answer in time.
    #[error("receiver {addr}: {detail}")]
    Unreachable {
        /// The receiver.
        addr: SocketAddr,
        /// What happened.
        detail: String,
    },
    /// The answer could not be read.
    #[error("receiver {addr} answered something unreadable: {source}")]
    BadAnswer {
        /// The receiver.
        addr: SocketAddr,
        /// Why.
        source: CodecError,
    },
    /// NAK even after adopting the receiver's clock.
    #[error("receiver {addr} refused the message (NAK) twice")]
    Nak {
        /// The receiver.
        addr: SocketAddr,
    },
    /// DUH: the receiver cannot handle this message.
    #[error("receiver {addr} cannot handle the message (DUH): check account, key and format")]
    Duh {
        /// The receiver.
        addr: SocketAddr,
    },
}

/// TCP or UDP, as the receiving centre specifies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// One connection per message.
    #[default]
    Tcp,
    /// One datagram per message.
    Udp,
}

/// One receiver and how to talk to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Address.
    pub addr: SocketAddr,
    /// Transport.
    pub protocol: Protocol,
    /// Encryption key, if the account is encrypted.
    pub key: Option<Key>,
    /// How long to wait for the answer.
    pub timeout: Duration,
}

/// A sender that remembers the receiver's clock offset between messages.
#[derive(Debug, Default)]
pub struct Transmitter {
    /// Receiver time minus our time, learned from a NAK.
    pub clock_offset: jiff::SignedDuration,
}

impl Transmitter {
    /// Sends `msg` (its time stamp is set here) and waits for ACK.
    pub async fn send(&mut self, target: &Target, mut msg: Message) -> Result<(), TransmitError> {
        for attempt in 0..2 {
            msg.timestamp = Some(self.now());
            let answer = exchange(target, &codec::encode(&msg, target.key.as_ref())).await?;
            let reply = codec::decode(&answer, target.key.as_ref())
                .or_else(|_| codec::decode(&answer, None))
                .map_err(|source| TransmitError::BadAnswer {
                    addr: target.addr,
                    source,
                })?;
            match reply.token {
                Token::Ack if reply.sequence == msg.sequence => return Ok(()),
                Token::Ack => {
                    return Err(TransmitError::Unreachable {
                        addr: target.addr,
                        detail: format!(
                            "ACK for sequence {} while {} was sent",
                            reply.sequence, msg.sequence
                        ),
                    });
                }
                Token::Duh => return Err(TransmitError::Duh { addr: target.addr }),
                Token::Nak if attempt == 0 => {
                    if let Some(theirs) = reply.timestamp {
                        let ours = jiff::Timestamp::now()
                            .to_zoned(jiff::tz::TimeZone::UTC)
                            .datetime();
                        self.clock_offset = theirs.duration_since(ours);
                        tracing::warn!(offset = ?self.clock_offset, addr = %target.addr, "NAK: adopting the receiver's clock");
                    }
                }
                _ => return Err(TransmitError::Nak { addr: target.addr }),
            }
        }
        Err(TransmitError::Nak { addr: target.addr })
    }

    /// Sends a NULL supervision poll with the prefixes of `template` (receiver, line,
    /// account), so both ends know the path works.
    pub async fn send_null(
        &mut self,
        target: &Target,
        sequence: u16,
        template: &Message,
    ) -> Result<(), TransmitError> {
        let poll = Message {
            token: Token::Null,
            sequence,
            data: String::new(),
            extended: Vec::new(),
            timestamp: None,
            ..template.clone()
        };
        self.send(target, poll).await
    }

    /// Our UTC time corrected by the receiver's offset.
    fn now(&self) -> jiff::civil::DateTime {
        let now = jiff::Timestamp::now()
            .checked_add(self.clock_offset)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        now.to_zoned(jiff::tz::TimeZone::UTC).datetime()
    }
}

/// Which path delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathUsed {
    /// The primary receiver.
    Primary,
    /// The backup receiver, after the primary failed.
    Backup,
}

/// How one path has been doing, for trouble reports (350/354) and health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathHealth {
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The last error, in words.
    pub last_error: Option<String>,
}

/// One receiver path: where, its sender (with its clock offset), and how it is doing.
pub type Path = (Target, Transmitter, PathHealth);

/// A primary and an optional backup receiver (dual path).
#[derive(Debug)]
pub struct DualPath {
    /// The primary receiver.
    pub primary: Path,
    /// The backup receiver.
    pub backup: Option<Path>,
}

impl DualPath {
    /// Tries the primary, then the backup. When neither took it, both errors come back.
    pub async fn send(&mut self, msg: Message) -> Result<PathUsed, Vec<TransmitError>> {
        let mut errors = Vec::new();
        if try_path(&mut self.primary, msg.clone(), &mut errors).await {
            return Ok(PathUsed::Primary);
        }
        if let Some(backup) = &mut self.backup {
            if try_path(backup, msg, &mut errors).await {
                return Ok(PathUsed::Backup);
            }
        }
        Err(errors)
    }
}

async fn try_path(path: &mut Path, msg: Message, errors: &mut Vec<TransmitError>) -> bool {
    let (target, tx, health) = path;
    match tx.send(target, msg).await {
        Ok(()) => {
            *health = PathHealth::default();
            true
        }
        Err(e) => {
            health.consecutive_failures += 1;
            health.last_error = Some(e.to_string());
            errors.push(e);
            false
        }
    }
}

/// Writes a frame and reads the answer (up to its closing `\r` over TCP; one datagram over
/// UDP).
async fn exchange(target: &Target, frame: &[u8]) -> Result<Vec<u8>, TransmitError> {
    let fail = |detail: String| TransmitError::Unreachable {
        addr: target.addr,
        detail,
    };
    if target.protocol == Protocol::Udp {
        let work = async {
            let local: SocketAddr = if target.addr.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let socket = UdpSocket::bind(local)
                .await
                .map_err(|e| fail(format!("bind: {e}")))?;
            socket
                .connect(target.addr)
                .await
                .map_err(|e| fail(format!("connect: {e}")))?;
            socket
                .send(frame)
                .await
                .map_err(|e| fail(format!("send: {e}")))?;
            let mut buf = vec![0u8; 4096];
            let n = socket
                .recv(&mut buf)
                .await
                .map_err(|e| fail(format!("receive: {e}")))?;
            buf.truncate(n);
            Ok(buf)
        };
        return tokio::time::timeout(target.timeout, work)
            .await
            .map_err(|_| fail(format!("no answer within {:?}", target.timeout)))?;
    }
    let work = async {
        let mut stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| fail(format!("connect: {e}")))?;
        stream
            .write_all(frame)
            .await
            .map_err(|e| fail(format!("send: {e}")))?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| fail(format!("read: {e}")))?;
            if n == 0 {
                return Err(fail("closed without an answer".into()));
            }
            answer.extend_from_slice(&buf[..n]);
            if let Some(end) = answer.iter().position(|b| *b == b'\r') {
                let start = answer.iter().position(|b| *b == b'\n').unwrap_or(0);
                return Ok(answer[start..=end].to_vec());
            }
            if answer.len() > 4096 {
                return Err(fail("answer too long".into()));
            }
        }
    };
    tokio::time::timeout(target.timeout, work)
        .await
        .map_err(|_| fail(format!("no answer within {:?}", target.timeout)))?
}
