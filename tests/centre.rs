//! What the receiving centre hears, checked at a real pysiaalarm: each area's number as
//! the Contact ID group, the person's user number in openings, closings, cancels and
//! duress, the code for how the area was armed (407 remote), the same extended data on
//! every message, a cancel before the disarm that caused it, a camera's video loss on a
//! point of its own, a tamper inside an open intrusion alarm as a report of its own, and
//! the path in trouble as the zone of 350.

mod common;

use common::Feed;
use common::broker::free_port;
use common::delivery::next_report;
use common::inproc::Picket;
use common::peers::Peer;
use picket::engine::{Actor, Command, CommandKind, Mode, Origin, Role};

fn site(dir: &std::path::Path, primary: u16, dead_backup: u16) -> picket::config::Config {
    let text = format!(
        r#"
[site]
name = "Nhà máy Sông Hồng"

[panel]
abort_window_s = 600

[journal]
path = "{journal}"

[feed]
socket = "{feed}"

[[areas]]
id = "office"
name = "Văn phòng"
exit_delay_s = 0

[[areas]]
id = "wh"
name = "Kho"
number = 7
exit_delay_s = 0

[[zones]]
id = "fence"
name = "Hàng rào kho"
area = "wh"
type = "perimeter"
number = 21

[[zones]]
id = "yard"
name = "Sân kho"
area = "wh"
type = "interior"
number = 22

[[sensors]]
id = "fence_c"
zone = "fence"
kind = "fence"
source = {{ kind = "feed" }}

[[sensors]]
id = "yard_pir"
zone = "yard"
kind = "motion"
source = {{ kind = "feed" }}

[[sensors]]
id = "yard_cam"
name = "Camera sân"
name_en = "Yard camera"
zone = "yard"
kind = "camera"
source = {{ kind = "feed" }}

[[channels]]
id = "arc"
type = "sia"
primary = "127.0.0.1:{primary}"
backup = "127.0.0.1:{dead_backup}"
account = "1234"
timeout_s = 2
supervision_s = 1
path_down_after_s = 2

[escalation]
events = ["arc"]
tiers = [{{ name = "police", delay_s = 0, channels = ["arc"] }}]
"#,
        journal = dir.join("journal.db").display(),
        feed = dir.join("feed.sock").display(),
    );
    picket::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// The person at the gate, user number 12, on the page (a remote command).
fn lan(duress: bool) -> Actor {
    Actor {
        user: "lan".into(),
        role: Role::Guard,
        duress,
        origin: Origin::Page,
        number: Some(12),
        address: None,
    }
}

/// The next report as `QEEE GG ZZZ`, with its extended data.
async fn next_cid(receiver: &mut Peer) -> (String, serde_json::Value) {
    let got = next_report(receiver).await;
    let field = |k: &str| got[k].as_str().unwrap_or_default().to_string();
    (
        format!(
            "{}{} {} {}",
            field("event_qualifier"),
            field("event_type"),
            field("partition"),
            field("ri")
        ),
        got["x_data"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_hears_areas_users_points_paths_and_order_as_a_panel_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let config = site(dir.path(), receiver.port, free_port());
    let (picket, console) = Picket::start_with_console(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    let mut heard = Vec::new();
    let mut expect = async |receiver: &mut Peer, what: &str| {
        let (cid, x_data) = next_cid(receiver).await;
        assert_eq!(
            x_data,
            serde_json::json!(["SNha may Song Hong"]),
            "{cid}: the same extended data on every message"
        );
        heard.push(cid.clone());
        assert_eq!(cid, what, "heard so far: {heard:?}");
    };

    // The backup path is dead: after its window, 350 with zone 002 over the primary.
    // The gateway's own trouble belongs to no area: group 00.
    expect(&mut receiver, "1350 00 002").await;

    // Armed from the page by user 12: a remote closing (407) for area 7.
    let command = |kind| Command {
        kind,
        actor: lan(false),
    };
    console
        .command(command(CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: false,
        }))
        .await
        .expect("armed");
    expect(&mut receiver, "3407 07 012").await;

    // The fence: a perimeter alarm on zone 21 of area 7.
    feed.send(r#"{"sensor":"fence_c","kind":"motion","active":true}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());
    expect(&mut receiver, "1131 07 021").await;

    // Someone prises the fence sensor's cover open while its alarm is still open: a tamper
    // is a report of its own (1144 on the same point), not a retrigger of the intrusion.
    feed.send(r#"{"sensor":"fence_c","kind":"tamper","active":true}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());
    expect(&mut receiver, "1144 07 021").await;

    // The camera over the yard loses its picture: a trouble on the camera's own point,
    // not the yard's PIR (zone 22); the first number after the zones.
    feed.send(r#"{"sensor":"yard_cam","kind":"video_loss","active":true}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());
    expect(&mut receiver, "1380 07 023").await;

    // Disarmed within the abort window: the cancel, then the opening, both by user 12.
    console
        .command(command(CommandKind::Disarm { area: "wh".into() }))
        .await
        .expect("disarmed");
    expect(&mut receiver, "1406 07 012").await;
    expect(&mut receiver, "1407 07 012").await;

    // A duress code at the page: the silent 121 names the person.
    console
        .command(Command {
            kind: CommandKind::Disarm {
                area: "office".into(),
            },
            actor: lan(true),
        })
        .await
        .expect("a duress code does what was asked");
    expect(&mut receiver, "1121 01 012").await;

    let journal = common::delivery::journal(dir.path()).await;
    let events = journal.recent_events(100).await.unwrap();
    let video = events
        .iter()
        .find(|e| e.code == Some(380))
        .expect("the video loss is journaled");
    assert!(
        video.message_en.contains("Yard camera: video lost")
            && video.message_vi.contains("mất hình"),
        "{video:?}"
    );
    drop(console);
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_hex_digits_is_text_as_the_centre_reads_it_and_a_wrong_form_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    // The centre's account takes "0123…CDEF" as 32 characters of text (AES-256). In
    // `key` picket reads it the same way; in `key_hex` the same digits are another key
    // (AES-128), and the failures say the key is the likely cause.
    let channel = |name: &str, form: &str| {
        format!(
            "[[channels]]\nid = \"{name}\"\ntype = \"sia\"\nprimary = \"127.0.0.1:{}\"\n\
             account = \"CCC3\"\n{form} = \"0123456789abcdef0123456789ABCDEF\"\n\
             timeout_s = 2\nsupervision_s = 0\n\n",
            receiver.port
        )
    };
    let text = format!(
        "[site]\nname = \"Kho\"\n[journal]\npath = \"{}\"\n[feed]\nsocket = \"{}\"\n\
         [[areas]]\nid = \"a\"\nname = \"A\"\n\
         [[zones]]\nid = \"z\"\nname = \"Két\"\narea = \"a\"\ntype = \"burglary_24h\"\n\
         [[sensors]]\nid = \"s\"\nzone = \"z\"\nkind = \"contact\"\nsource = {{ kind = \"feed\" }}\n\
         {}{}[escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"text\", \"hex\"] }}]\n",
        dir.path().join("journal.db").display(),
        dir.path().join("feed.sock").display(),
        channel("text", "key"),
        channel("hex", "key_hex"),
    );
    let config = picket::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    feed.send(r#"{"sensor":"s","kind":"contact","active":true}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());
    let got = next_report(&mut receiver).await;
    assert_eq!(
        (
            got["account"].as_str(),
            got["encrypted"].as_bool(),
            got["event_type"].as_str()
        ),
        (Some("CCC3"), Some(true), Some("133")),
        "{got}"
    );
    let journal = common::delivery::journal(dir.path()).await;
    common::delivery::wait_for("the hex channel's attempt failed", async || {
        let rows = journal.deliveries(Some("hex")).await.unwrap();
        rows.first().is_some_and(|r| r.attempts > 0)
    })
    .await;
    let rows = journal.deliveries(Some("hex")).await.unwrap();
    assert_eq!(rows[0].state, picket::journal::DeliveryState::Pending);
    let health = picket.effects.health.channels.get().unwrap()[1]
        .lock()
        .unwrap()
        .clone();
    // The centre's answer cannot be read (it speaks AES-256): the row and the channel's
    // health say so and point at the key.
    let error = health.last_error.unwrap_or_default();
    for said in [
        error.as_str(),
        rows[0].last_error.as_deref().unwrap_or_default(),
    ] {
        assert!(
            said.contains("answered something unreadable") && said.contains("`key_hex` hex digits"),
            "{said}"
        );
    }
    picket.stop().await;
    receiver.stop().await;
}
