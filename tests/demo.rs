//! `picket demo` runs the whole daemon on the simulated site: the scripted intrusion is
//! confirmed by a second detector, the fire drill sounds temporal-3, the status page it
//! announces takes each demo login and shows the scenario, and the journal it leaves
//! verifies.

mod common;

use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_plays_its_scenario_and_leaves_a_verified_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args([
            "demo",
            "--pace",
            "0.3",
            "--seconds",
            "120",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let wanted = [
        "[131 1]",
        "[139 1]",
        "[406 1]",
        "[111 1]",
        "fire (temporal-3)",
        "[120 1]",
        // The simulated camera's analysis sees someone crossing the yard.
        "Gate yard camera: motion detected",
    ];
    while !wanted
        .iter()
        .all(|w| seen.iter().any(|l: &String| l.contains(w)))
    {
        let line = tokio::time::timeout(std::time::Duration::from_secs(90), lines.next_line())
            .await
            .expect("demo went quiet")
            .unwrap()
            .unwrap_or_else(|| panic!("demo ended early:\n{}", seen.join("\n")));
        seen.push(line);
    }
    // Both languages on every event line.
    let alarm = seen.iter().find(|l| l.contains("[131 1]")).unwrap();
    assert!(
        alarm.contains("Đột nhập vành đai") && alarm.contains("Perimeter burglary"),
        "{alarm}"
    );

    // The page it announced, and one login per role that works on it.
    let url = seen
        .iter()
        .find_map(|l| l.split("status page: ").nth(1))
        .unwrap_or_else(|| panic!("no page address in:\n{}", seen.join("\n")));
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("{url}"));
    for (role, name, password) in [
        ("guard", "bao-ve", "bao-ve-demo-1"),
        ("supervisor", "giam-sat", "giam-sat-demo-2"),
        ("viewer", "an-ninh", "an-ninh-demo-3"),
        ("admin", "quan-tri", "quan-tri-demo-4"),
    ] {
        let printed = format!("{name} / {password}");
        assert!(
            seen.iter()
                .any(|l| l.trim_start().starts_with(role) && l.contains(&printed)),
            "{role} {printed} not printed"
        );
        let mut person = common::page::PageClient::new(port);
        assert_eq!(person.login(name, password).await.status, 303, "{name}");
        let log = person.get("/events").await;
        assert_eq!(log.status, 200, "{name}");
        assert!(
            log.body.contains("Đột nhập vành đai"),
            "{name}: {}",
            log.body
        );
    }

    // SAFETY: kill(2) on the child this test spawned.
    assert_eq!(
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGINT) },
        0
    );
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args([
            "verify-journal",
            dir.path().join("journal.db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The intrusion at the north fence, which the camera covers, left a clip and a snapshot.
    let evidence: Vec<String> = std::fs::read_dir(dir.path().join("evidence/yard_cam"))
        .expect("the camera's evidence directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for ext in [".mp4", ".jpg"] {
        assert!(evidence.iter().any(|f| f.ends_with(ext)), "{evidence:?}");
    }
}
