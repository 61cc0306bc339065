//! Sends one DC-09 message to a receiver over TCP or UDP and waits for its answer; sends
//! NULL supervision polls; and fails over from the primary receiver to the backup.
//!
//! ACK (matching sequence and account) is success. NAK carrying a time stamp means the
//! receiver's clock differs from ours: the offset is adopted and the message sent once more
//! with a corrected time stamp. DUH means the receiver will not take this message at all.
//!
//! Over TCP the connection to a receiver is kept open between messages (and NULL polls),
//! as receivers such as pysiaalarm allow: no connection set-up in an alarm's way. A kept
//! connection the receiver has closed (or that holds bytes nobody asked for) is dropped
//! before use; one that turns out closed only when the message was written is reopened
//! and the message sent again on the new one, once (the same sequence number, so a
//! receiver that did take it sees a repeat, never a loss). After a timeout or an
//! unreadable answer the connection is dropped, so a late answer is never read as the
//! answer to the next message.

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
    #[error(
        "receiver {addr} answered something unreadable: {source}; the channel's key \
         (`key` is text, `key_hex` hex digits) or its format is the likely cause"
    )]
    BadAnswer {
        /// The receiver.
        addr: SocketAddr,
        /// Why.
        source: CodecError,
    },
    /// An ACK that is not for the message sent: another sequence number, account,
    /// receiver or line. It is not an acknowledgement; the message is sent again.
    #[error("receiver {addr} answered for another message: {detail}")]
    NotOurs {
        /// The receiver.
        addr: SocketAddr,
        /// Which field differed.
        detail: String,
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
    /// A connection kept open between messages.
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

/// A sender that remembers the receiver's clock offset, and keeps its TCP connection,
/// between messages.
#[derive(Debug, Default)]
pub struct Transmitter {
    /// Receiver time minus our time, learned from a NAK.
    pub clock_offset: jiff::SignedDuration,
    /// The open TCP connection to the receiver, when there is one.
    connection: Option<TcpStream>,
    /// TCP connections opened, for health and tests.
    pub connections_opened: u64,
}

impl Transmitter {
    /// A sender that starts from a known offset to the receiver's clock.
    pub fn with_clock_offset(clock_offset: jiff::SignedDuration) -> Transmitter {
        Transmitter {
            clock_offset,
            ..Transmitter::default()
        }
    }

    /// Sends `msg` (its time stamp is set here) and waits for ACK.
    pub async fn send(&mut self, target: &Target, mut msg: Message) -> Result<(), TransmitError> {
        for attempt in 0..2 {
            msg.timestamp = Some(self.now());
            let answer = self
                .exchange(target, &codec::encode(&msg, target.key.as_ref()))
                .await?;
            let reply = codec::decode(&answer, target.key.as_ref())
                .or_else(|_| codec::decode(&answer, None))
                .map_err(|source| {
                    // Whatever else it sends on this connection is not to be trusted.
                    self.connection = None;
                    TransmitError::BadAnswer {
                        addr: target.addr,
                        source,
                    }
                })?;
            match reply.token {
                Token::Ack => {
                    return match mismatch(&msg, &reply) {
                        None => Ok(()),
                        Some(detail) => {
                            // An answer to another message: this connection is out of step.
                            self.connection = None;
                            Err(TransmitError::NotOurs {
                                addr: target.addr,
                                detail,
                            })
                        }
                    };
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

    /// Writes a frame and reads the answer: one datagram over UDP; over TCP on the kept
    /// connection when it is still open, else on a new one, which is kept.
    async fn exchange(&mut self, target: &Target, frame: &[u8]) -> Result<Vec<u8>, TransmitError> {
        if target.protocol == Protocol::Udp {
            return exchange_udp(target, frame).await;
        }
        if let Some(stream) = self.connection.take().filter(|s| reusable(s, target.addr)) {
            match exchange_tcp(stream, target, frame).await {
                Ok((answer, stream)) => {
                    self.connection = Some(stream);
                    return Ok(answer);
                }
                // Closed by the receiver since its last answer: a new connection.
                Err(Exchange::Closed(detail)) => {
                    tracing::debug!(addr = %target.addr, detail, "kept DC-09 connection closed; reconnecting");
                }
                Err(Exchange::Failed(e)) => return Err(e),
            }
        }
        let stream = connect(target).await?;
        self.connections_opened += 1;
        match exchange_tcp(stream, target, frame).await {
            Ok((answer, stream)) => {
                self.connection = Some(stream);
                Ok(answer)
            }
            Err(Exchange::Closed(detail)) => Err(TransmitError::Unreachable {
                addr: target.addr,
                detail,
            }),
            Err(Exchange::Failed(e)) => Err(e),
        }
    }

    /// Our UTC time corrected by the receiver's offset.
    fn now(&self) -> jiff::civil::DateTime {
        let now = jiff::Timestamp::now()
            .checked_add(self.clock_offset)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        now.to_zoned(jiff::tz::TimeZone::UTC).datetime()
    }
}

/// Why `reply` does not acknowledge `sent`, if it does not: a receiver echoes the sequence
/// number, the account and the receiver and line prefixes it was sent, so an ACK with
/// any of them different is an answer to some other message (a receiver mixing up
/// connections, or a stray answer) and does not count as delivery.
pub fn mismatch(sent: &Message, reply: &Message) -> Option<String> {
    if reply.sequence != sent.sequence {
        return Some(format!(
            "ACK for sequence {:04} while {:04} was sent",
            reply.sequence, sent.sequence
        ));
    }
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let shown = |v: Option<&str>| v.map_or_else(|| "none".to_string(), crate::text::for_log);
    if let Some(ours) = sent.account.as_deref()
        && !reply.account.as_deref().is_some_and(|a| same(a, ours))
    {
        return Some(format!(
            "ACK for account {} while {} was sent",
            shown(reply.account.as_deref()),
            crate::text::for_log(ours)
        ));
    }
    if let (Some(theirs), Some(ours)) = (reply.receiver.as_deref(), sent.receiver.as_deref())
        && !same(theirs, ours)
    {
        return Some(format!(
            "ACK for receiver {} while {} was sent",
            crate::text::for_log(theirs),
            crate::text::for_log(ours)
        ));
    }
    if !reply.line.is_empty() && !same(&reply.line, &sent.line) {
        return Some(format!(
            "ACK for line {} while {} was sent",
            crate::text::for_log(&reply.line),
            crate::text::for_log(&sent.line)
        ));
    }
    None
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
        if let Some(backup) = &mut self.backup
            && try_path(backup, msg, &mut errors).await
        {
            return Ok(PathUsed::Backup);
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

/// The most an answer may hold before its frame is complete.
const MAX_ANSWER: usize = 4096;

/// The first whole answer frame in what a receiver sent so far: from the first LF to the
/// first CR after it (`\n` … `\r`), both included. Bytes before the LF are line noise
/// and skipped; `None` while no frame is complete. Never indexes out of `bytes`, whatever
/// a broken or lying receiver sends.
pub fn answer_frame(bytes: &[u8]) -> Option<&[u8]> {
    let start = bytes.iter().position(|b| *b == b'\n')?;
    let after_start = bytes.get(start..)?;
    let len = after_start.iter().position(|b| *b == b'\r')?;
    after_start.get(..=len)
}

/// How a TCP exchange ended badly.
enum Exchange {
    /// The connection was closed before an answer came (a kept connection the receiver
    /// had closed): worth one new connection.
    Closed(String),
    /// Anything else: no answer in time, a write error, an answer too long.
    Failed(TransmitError),
}

/// A kept connection can carry the next message: to the same address, not closed by the
/// receiver, and holding no bytes nobody asked for.
fn reusable(stream: &TcpStream, addr: SocketAddr) -> bool {
    if stream.peer_addr().ok() != Some(addr) {
        return false;
    }
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

async fn connect(target: &Target) -> Result<TcpStream, TransmitError> {
    let fail = |detail: String| TransmitError::Unreachable {
        addr: target.addr,
        detail,
    };
    let stream = tokio::time::timeout(target.timeout, TcpStream::connect(target.addr))
        .await
        .map_err(|_| fail(format!("no connection within {:?}", target.timeout)))?
        .map_err(|e| fail(format!("connect: {e}")))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Writes a frame on `stream` and reads the answer, up to its closing `\r`; gives the
/// stream back for the next message.
async fn exchange_tcp(
    mut stream: TcpStream,
    target: &Target,
    frame: &[u8],
) -> Result<(Vec<u8>, TcpStream), Exchange> {
    let fail = |detail: String| {
        Exchange::Failed(TransmitError::Unreachable {
            addr: target.addr,
            detail,
        })
    };
    let work = async {
        if let Err(e) = stream.write_all(frame).await {
            return Err(Exchange::Closed(format!("send: {e}")));
        }
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            let n = match stream.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Err(Exchange::Closed(format!("read: {e}"))),
            };
            if n == 0 {
                return Err(if answer.is_empty() {
                    Exchange::Closed("closed without an answer".into())
                } else {
                    fail(format!(
                        "closed before a whole answer came: {}",
                        crate::text::for_log_bytes(&answer)
                    ))
                });
            }
            answer.extend_from_slice(buf.get(..n).unwrap_or_default());
            if let Some(frame) = answer_frame(&answer) {
                return Ok(frame.to_vec());
            }
            if answer.len() > MAX_ANSWER {
                return Err(fail(format!(
                    "no answer frame in the first {MAX_ANSWER} bytes: {}",
                    crate::text::for_log_bytes(&answer)
                )));
            }
        }
    };
    match tokio::time::timeout(target.timeout, work).await {
        Ok(Ok(answer)) => Ok((answer, stream)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(fail(format!("no answer within {:?}", target.timeout))),
    }
}

/// Sends a frame in one datagram and takes one datagram as the answer.
async fn exchange_udp(target: &Target, frame: &[u8]) -> Result<Vec<u8>, TransmitError> {
    let fail = |detail: String| TransmitError::Unreachable {
        addr: target.addr,
        detail,
    };
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
    tokio::time::timeout(target.timeout, work)
        .await
        .map_err(|_| fail(format!("no answer within {:?}", target.timeout)))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ack(sequence: u16, account: &str, receiver: Option<&str>, line: &str) -> Message {
        Message {
            token: Token::Ack,
            sequence,
            receiver: receiver.map(str::to_string),
            line: line.into(),
            account: Some(account.into()),
            data: String::new(),
            extended: Vec::new(),
            timestamp: None,
        }
    }

    #[test]
    fn cr_then_noise_then_lf_is_no_answer_yet_not_a_panic() {
        // The answer that killed the sender: a LF more than one byte after the first CR.
        assert_eq!(answer_frame(b"\rX\n"), None);
        assert_eq!(answer_frame(b"\rX\nAB\r"), Some(&b"\nAB\r"[..]));
        assert_eq!(
            answer_frame(b"noise\n\"ACK\"\r\n"),
            Some(&b"\n\"ACK\"\r"[..])
        );
        assert_eq!(answer_frame(b""), None);
    }

    #[test]
    fn an_ack_for_another_account_receiver_or_line_is_not_ours() {
        let sent = ack(7, "1234", Some("1"), "1");
        assert_eq!(mismatch(&sent, &ack(7, "1234", Some("1"), "1")), None);
        assert_eq!(mismatch(&sent, &ack(7, "1234", None, "1")), None);
        let other = mismatch(&sent, &ack(7, "9999", Some("1"), "1")).expect("not ours");
        assert!(other.contains("account 9999 while 1234"), "{other}");
        let other = mismatch(&sent, &ack(8, "1234", Some("1"), "1")).expect("not ours");
        assert!(other.contains("sequence 0008 while 0007"), "{other}");
        assert!(mismatch(&sent, &ack(7, "1234", Some("2"), "1")).is_some());
        assert!(mismatch(&sent, &ack(7, "1234", Some("1"), "2")).is_some());
        let mut no_account = ack(7, "1234", Some("1"), "1");
        no_account.account = None;
        assert!(mismatch(&sent, &no_account).is_some());
    }

    proptest! {
        #[test]
        fn any_answer_is_a_frame_or_none_and_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            if let Some(frame) = answer_frame(&bytes) {
                prop_assert_eq!(frame.first(), Some(&b'\n'));
                prop_assert_eq!(frame.last(), Some(&b'\r'));
                prop_assert_eq!(frame.iter().filter(|b| **b == b'\r').count(), 1);
                let _ = codec::decode(frame, None);
            } else {
                let lf = bytes.iter().position(|b| *b == b'\n');
                prop_assert!(lf.is_none_or(|i| !bytes[i..].contains(&b'\r')));
            }
        }
    }
}
