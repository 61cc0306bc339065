//! The DC-09 transmitter against a real receiver: pysiaalarm (the receiver Home Assistant
//! uses), started by the test on an ephemeral port. It must accept every event category,
//! in clear and with AES-128 and AES-256, and the test checks the account, code, zone and
//! qualifier it decoded. A NAK for a wrong clock is answered by adopting the receiver's time.
//! One TCP connection carries message after message; one the receiver closed (restarted,
//! or closing after every ACK) is reopened with nothing lost or reordered.

mod common;

use common::peers::Peer;
use picket::channels::sia::codec::{self, Key, Message, Token};
use picket::channels::sia::transmitter::{
    DualPath, PathHealth, PathUsed, Protocol, Target, Transmitter,
};
use serde_json::Value;
use std::time::Duration;

/// A pysiaalarm receiver started by the test.
struct Receiver(Peer);

impl Receiver {
    async fn start() -> Receiver {
        Self::start_with("tcp").await
    }

    async fn start_with(protocol: &str) -> Receiver {
        Receiver(Peer::start("sia_receiver.py", &[protocol]).await)
    }

    async fn next_event(&mut self) -> Value {
        self.0.next(Duration::from_secs(10)).await
    }

    fn target(&self, key: Option<Key>) -> Target {
        Target {
            addr: format!("127.0.0.1:{}", self.0.port).parse().unwrap(),
            protocol: Protocol::Tcp,
            key,
            timeout: Duration::from_secs(5),
        }
    }
}

fn message(
    token: Token,
    sequence: u16,
    account: &str,
    data: String,
    extended: Vec<String>,
) -> Message {
    Message {
        token,
        sequence,
        receiver: Some("1".into()),
        line: "1".into(),
        account: Some(account.into()),
        data,
        extended,
        timestamp: None,
    }
}

/// (qualifier, Contact ID code, zone) for every category picket reports.
const EVENTS: &[(u8, u16, u16)] = &[
    (1, 111, 3),
    (1, 120, 5),
    (1, 121, 0),
    (1, 131, 15),
    (3, 131, 15),
    (1, 134, 1),
    (1, 144, 22),
    (1, 154, 9),
    (1, 381, 12),
    (3, 381, 12),
    (1, 302, 12),
    (3, 401, 0),
    (1, 401, 0),
    (1, 406, 15),
    (1, 570, 15),
    (1, 602, 0),
    (1, 139, 15),
    (1, 330, 0),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysiaalarm_accepts_every_category_in_clear_and_with_aes_128_and_256() {
    let mut rx = Receiver::start().await;
    let accounts = [
        ("1234", None),
        ("AAA1", Some(Key::from_text("PicketTestKey128").unwrap())),
        (
            "BBB2",
            Some(Key::from_text("PicketTestKey256PicketTestKey256").unwrap()),
        ),
    ];
    let mut tx = Transmitter::default();
    let mut sequence = 1;
    for (account, key) in &accounts {
        let target = rx.target(key.clone());
        for &(qualifier, code, zone) in EVENTS {
            let data = codec::contact_id_data(account, qualifier, code, 1, zone);
            tx.send(
                &target,
                message(Token::AdmCid, sequence, account, data, vec![]),
            )
            .await
            .unwrap_or_else(|e| panic!("{account} {qualifier}{code}: {e}"));
            let got = rx.next_event().await;
            assert_eq!(got["account"], *account, "{got}");
            assert_eq!(got["message_type"], "ADM-CID");
            assert_eq!(got["encrypted"], key.is_some());
            assert_eq!(got["event_type"], format!("{code:03}"), "{got}");
            assert_eq!(got["event_qualifier"], qualifier.to_string(), "{got}");
            assert_eq!(got["ri"], format!("{zone:03}"), "{got}");
            assert_eq!(got["partition"], "01", "{got}");
            sequence += 1;
        }
        // SIA-DCS, with the site name as extended data.
        let data = codec::sia_data(account, 1, "BA", 15);
        tx.send(
            &target,
            message(
                Token::SiaDcs,
                sequence,
                account,
                data,
                vec!["SNha may Song Hong".into()],
            ),
        )
        .await
        .unwrap();
        let got = rx.next_event().await;
        assert_eq!(
            (
                got["account"].clone(),
                got["code"].clone(),
                got["ri"].clone()
            ),
            (Value::from(*account), Value::from("BA"), Value::from("1")),
            "{got}"
        );
        assert!(
            got["message"].as_str().unwrap_or_default().contains("015"),
            "{got}"
        );
        assert!(
            got["x_data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_str().unwrap_or_default().starts_with("SNha may")),
            "{got}"
        );
        sequence += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nak_for_a_wrong_clock_is_answered_by_adopting_the_receivers_time() {
    let mut rx = Receiver::start().await;
    let target = rx.target(None);
    let mut tx = Transmitter::with_clock_offset(jiff::SignedDuration::from_secs(-600));
    let data = codec::contact_id_data("1234", 1, 131, 1, 15);
    tx.send(&target, message(Token::AdmCid, 7, "1234", data, vec![]))
        .await
        .expect("accepted after adopting the clock");
    let got = rx.next_event().await;
    assert_eq!(got["event_type"], "131");
    assert!(
        tx.clock_offset.as_secs().abs() < 5,
        "offset not adopted: {:?}",
        tx.clock_offset
    );
}

#[tokio::test]
async fn a_silent_receiver_is_a_timeout_not_a_hang() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let target = Target {
        addr,
        protocol: Protocol::Tcp,
        key: None,
        timeout: Duration::from_millis(300),
    };
    let err = Transmitter::default()
        .send(
            &target,
            message(
                Token::AdmCid,
                1,
                "1234",
                codec::contact_id_data("1234", 1, 110, 1, 1),
                vec![],
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no answer within"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_events_and_null_supervision_polls_are_acknowledged() {
    let mut rx = Receiver::start_with("udp").await;
    let mut target = rx.target(Some(
        Key::from_text("PicketTestKey256PicketTestKey256").unwrap(),
    ));
    target.protocol = Protocol::Udp;
    let mut tx = Transmitter::default();
    tx.send(
        &target,
        message(
            Token::AdmCid,
            1,
            "BBB2",
            codec::contact_id_data("BBB2", 1, 111, 1, 3),
            vec![],
        ),
    )
    .await
    .expect("UDP event");
    let got = rx.next_event().await;
    assert_eq!(
        (
            got["account"].clone(),
            got["event_type"].clone(),
            got["encrypted"].clone()
        ),
        (Value::from("BBB2"), Value::from("111"), Value::from(true)),
        "{got}"
    );
    let template = message(Token::Null, 0, "BBB2", String::new(), vec![]);
    tx.send_null(&target, 2, &template)
        .await
        .expect("NULL poll acknowledged");
    let poll = rx.next_event().await;
    assert_eq!(poll["message_type"], "NULL", "{poll}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_fails_over_to_the_backup_and_is_marked_down() {
    let mut rx = Receiver::start().await;
    // A primary nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let primary = Target {
        addr: dead,
        protocol: Protocol::Tcp,
        key: None,
        timeout: Duration::from_secs(2),
    };
    let mut path = DualPath {
        primary: (primary, Transmitter::default(), PathHealth::default()),
        backup: Some((
            rx.target(None),
            Transmitter::default(),
            PathHealth::default(),
        )),
    };
    let data = codec::contact_id_data("1234", 1, 120, 1, 5);
    assert_eq!(
        path.send(message(Token::AdmCid, 1, "1234", data, vec![]))
            .await
            .unwrap(),
        PathUsed::Backup
    );
    assert_eq!(rx.next_event().await["event_type"], "120");
    assert_eq!(path.primary.2.consecutive_failures, 1);
    assert!(
        path.primary
            .2
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("connect"),
        "{:?}",
        path.primary.2
    );
    assert_eq!(path.backup.as_ref().unwrap().2, PathHealth::default());
    // Both down: both errors come back.
    path.backup.as_mut().unwrap().0.addr = dead;
    let errors = path
        .send(message(
            Token::AdmCid,
            2,
            "1234",
            codec::contact_id_data("1234", 1, 120, 1, 5),
            vec![],
        ))
        .await
        .unwrap_err();
    assert_eq!(errors.len(), 2);
}

/// `n` alarms on zones 1..=n, sent one after another by `tx`; what pysiaalarm decoded, in
/// order, as zone numbers.
async fn send_zones(tx: &mut Transmitter, target: &Target, zones: std::ops::RangeInclusive<u16>) {
    for zone in zones {
        let data = codec::contact_id_data("1234", 1, 131, 1, zone);
        tx.send(target, message(Token::AdmCid, zone, "1234", data, vec![]))
            .await
            .unwrap_or_else(|e| panic!("zone {zone}: {e}"));
    }
}

async fn heard_zones(rx: &mut Receiver, n: usize) -> Vec<String> {
    let mut zones = Vec::new();
    while zones.len() < n {
        let got = rx.next_event().await;
        if got["message_type"] != "NULL" {
            zones.push(got["ri"].as_str().unwrap_or_default().to_string());
        }
    }
    zones
}

fn zones(range: std::ops::RangeInclusive<u16>) -> Vec<String> {
    range.map(|z| format!("{z:03}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_kept_connection_carries_message_after_message() {
    let mut rx = Receiver::start().await;
    let target = rx.target(None);
    let mut tx = Transmitter::default();
    send_zones(&mut tx, &target, 1..=5).await;
    assert_eq!(heard_zones(&mut rx, 5).await, zones(1..=5));
    assert_eq!(
        tx.connections_opened, 1,
        "no connection set-up in an alarm's way"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_to_a_restarted_receiver_is_reopened_with_nothing_lost() {
    let mut rx = Receiver::start().await;
    let port = rx.0.port.to_string();
    let target = rx.target(None);
    let mut tx = Transmitter::default();
    send_zones(&mut tx, &target, 1..=2).await;
    assert_eq!(heard_zones(&mut rx, 2).await, zones(1..=2));
    // The centre restarts: the kept connection is dead.
    rx.0.stop().await;
    let mut rx = Receiver(Peer::start("sia_receiver.py", &["tcp", &port]).await);
    send_zones(&mut tx, &target, 3..=4).await;
    assert_eq!(heard_zones(&mut rx, 2).await, zones(3..=4));
    assert_eq!(tx.connections_opened, 2);
}

/// In front of pysiaalarm: forwards one client's bytes, and closes the connection right
/// after each answer, as some receivers do. Counts the connections it took.
async fn closing_proxy(upstream: u16) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
                    .await
                    .unwrap();
                let (mut client_rd, mut client_wr) = client.into_split();
                let (mut server_rd, mut server_wr) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_rd, &mut server_wr).await;
                });
                let mut buf = [0u8; 1024];
                while let Ok(n) = server_rd.read(&mut buf).await {
                    if n == 0 || client_wr.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    if buf[..n].contains(&b'\r') {
                        break;
                    }
                }
                let _ = client_wr.shutdown().await;
                up.abort();
            });
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_closing_after_every_ack_gets_every_message_in_order() {
    let mut rx = Receiver::start().await;
    let (port, accepted) = closing_proxy(rx.0.port).await;
    let target = Target {
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        ..rx.target(None)
    };
    let mut tx = Transmitter::default();
    send_zones(&mut tx, &target, 1..=5).await;
    assert_eq!(heard_zones(&mut rx, 5).await, zones(1..=5));
    assert_eq!(tx.connections_opened, 5, "each closed connection reopened");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 5);
}
