//! `picket bench --mail`: how long one alarm mail's SMTP session takes, against a baseline
//! in the same run to the same server: a bare client that writes the same session on a
//! TCP_NODELAY socket, the mail and its end-of-data marker in one write (the least any
//! SMTP client pays). Also measured: lettre's own transport, which picket used before and
//! which leaves Nagle's algorithm on, so the end-of-data marker waits for the server's
//! delayed ACK.
//!
//! The server is a minimal SMTP responder in this process on localhost (no TLS, no AUTH:
//! what is measured is the session's round trips and the socket, not the cryptography).

use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::bench::percentile;
use crate::channels::smtp::SmtpServer;
use crate::config::Channel;

/// Mails per run.
const MAILS: usize = 200;
/// A mail as large as an alarm mail without a snapshot.
const BODY_LINES: usize = 40;

/// Answers SMTP sessions on a free port until the process ends.
async fn start_server() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("server: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Ok(port)
}

/// One session: every command accepted, the mail read to its end-of-data line.
async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 bench ESMTP\r\n").await.is_err() {
        return;
    }
    let mut in_data = false;
    while let Ok(Some(line)) = lines.next_line().await {
        let reply: &[u8] = if in_data {
            if line != "." {
                continue;
            }
            in_data = false;
            b"250 queued\r\n"
        } else {
            match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                Some("EHLO") => b"250-bench\r\n250 8BITMIME\r\n",
                Some("DATA") => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                Some("QUIT") => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 ok\r\n",
            }
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The mail's bytes, dot-stuffing not needed (no line starts with a dot).
fn mail() -> Vec<u8> {
    let mut m = String::from(
        "From: picket@example.vn\r\nTo: baove@example.vn\r\nSubject: BAO DONG / ALARM\r\n\r\n",
    );
    for i in 0..BODY_LINES {
        m.push_str(&format!(
            "Dòng {i} của thư báo động / line {i} of the alarm mail\r\n"
        ));
    }
    m.into_bytes()
}

/// Reads one reply (its last line has a space after the code); its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
) -> Result<String, String> {
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the server closed")?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(line.chars().take(3).collect());
        }
    }
}

/// The baseline: the same session written by hand, one write per command, the mail and
/// its end marker in one.
async fn bare_session(port: u16, mail: &[u8]) -> Result<(), String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    reply(&mut lines).await?;
    let mut data = mail.to_vec();
    data.extend_from_slice(b"\r\n.\r\n");
    for command in [
        &b"EHLO bench\r\n"[..],
        b"MAIL FROM:<picket@example.vn>\r\n",
        b"RCPT TO:<baove@example.vn>\r\n",
        b"DATA\r\n",
        &data,
        b"QUIT\r\n",
    ] {
        write.write_all(command).await.map_err(|e| e.to_string())?;
        reply(&mut lines).await?;
    }
    Ok(())
}

/// `MAILS` runs of `session`, sorted.
async fn time<F: Future<Output = Result<(), String>>>(
    mut session: impl FnMut() -> F,
) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(MAILS);
    for _ in 0..MAILS {
        let started = Instant::now();
        session().await?;
        out.push(started.elapsed());
    }
    out.sort();
    Ok(out)
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run() -> Result<(), String> {
    use lettre::AsyncTransport;
    let port = start_server().await?;
    let config = crate::config::parse_str(&format!(
        "[site]\nname = \"bench\"\n\n[[channels]]\nid = \"mail\"\ntype = \"email\"\n\
         host = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
         from = \"picket@example.vn\"\nto = [\"baove@example.vn\"]\n"
    ))
    .map_err(|e| e.to_string())?;
    let Some(Channel::Email(channel)) = config.channels.first() else {
        return Err("the bench's email channel".into());
    };
    let picket = SmtpServer::new(channel)?;
    let stock =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .build();
    let mail = mail();
    let envelope = lettre::address::Envelope::new(
        Some("picket@example.vn".parse().map_err(|e| format!("{e}"))?),
        vec!["baove@example.vn".parse().map_err(|e| format!("{e}"))?],
    )
    .map_err(|e| e.to_string())?;
    eprintln!("bench: {MAILS} mails each way…");
    let baseline = time(|| bare_session(port, &mail)).await?;
    let sessions = time(|| async {
        picket
            .send(&envelope, &mail)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let lettre = time(|| async {
        stock
            .send_raw(&envelope, &mail)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (b50, b99) = (percentile(&baseline, 0.5), percentile(&baseline, 0.99));
    println!(
        "{MAILS} mails, each its own SMTP session to a server in this process on localhost \
         (no TLS, no AUTH), {BODY_LINES}-line body ({})\n",
        super::bench::machine()
    );
    println!("| run | session p50 | p99 | ratio p50 | ratio p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, sorted) in [
        (
            "baseline: the same session by hand, TCP_NODELAY, the mail and its end in one write",
            &baseline,
        ),
        ("picket: `channels::smtp` (TCP_NODELAY)", &sessions),
        (
            "lettre's own transport (Nagle on), as picket sent before",
            &lettre,
        ),
    ] {
        let (p50, p99) = (percentile(sorted, 0.5), percentile(sorted, 0.99));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}× | {:.2}× |",
            ms(p50),
            ms(p99),
            p50.as_secs_f64() / b50.as_secs_f64().max(1e-9),
            p99.as_secs_f64() / b99.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}
