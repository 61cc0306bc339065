//! The DC-09 transmitter against a real receiver: pysiaalarm (the receiver Home Assistant
//! uses), started by the test on an ephemeral port. It must accept every event category,
//! in clear and with AES-128 and AES-256, and the test checks the account, code, zone and
//! qualifier it decoded. A NAK for a wrong clock is answered by adopting the receiver's time.

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
    let mut tx = Transmitter {
        clock_offset: jiff::SignedDuration::from_secs(-600),
    };
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
