//! The journal on real SQLite files: commits survive reopening, the hash chain detects
//! tampering and names the row, evidence files are checked against the chain, schema
//! versions are enforced, users' codes are hashed.

mod common;

use picket::config;
use picket::engine::*;
use picket::journal::{self, Journal, JournalErrorKind, Writer};
use std::sync::Arc;
use std::time::Duration;

const SITE: &str = r#"
[site]
name = "Kho thử"
[[areas]]
id = "wh"
name = "Kho"
exit_delay_s = 0
[[zones]]
id = "fence"
name = "Hàng rào"
area = "wh"
type = "perimeter"
[[zones]]
id = "smoke"
name = "Khói"
area = "wh"
type = "fire"
[[sensors]]
id = "fence_a"
zone = "fence"
kind = "fence"
source = { kind = "simulated" }
[[sensors]]
id = "smoke_1"
zone = "smoke"
kind = "smoke"
source = { kind = "simulated" }
"#;

fn site() -> Arc<Site> {
    Arc::new(Site::from_config(&config::parse_str(SITE).unwrap()))
}

fn guard() -> Actor {
    Actor {
        user: "an".into(),
        role: Role::Guard,
        duress: false,
        origin: Origin::Page,
        number: Some(7),
        address: None,
    }
}

fn obs(sensor: &str, reading: Reading) -> Input {
    Input::Observation(Observation {
        sensor: sensor.into(),
        reading,
        source_ref: Some(format!("ref-{sensor}")),
    })
}

/// Runs inputs through an engine and commits each outcome.
async fn drive(
    journal: &Journal,
    engine: &mut Engine<ManualClock>,
    clock: &ManualClock,
    inputs: Vec<Input>,
) -> Vec<Outcome> {
    let mut writer = Writer::new(journal.clone()).await.unwrap();
    let mut outs = Vec::new();
    for input in inputs {
        clock.advance(Duration::from_secs(1));
        let out = engine.handle(input);
        writer.commit(&[&out]).await.unwrap();
        outs.push(out);
    }
    outs
}

async fn scenario(path: &std::path::Path) -> (Journal, Engine<ManualClock>, ManualClock) {
    let journal = Journal::open(path).await.unwrap();
    let clock = ManualClock::new(Timestamp(1_763_700_000_000));
    let mut engine = Engine::new(site(), clock.clone());
    drive(
        &journal,
        &mut engine,
        &clock,
        vec![
            Input::Command(Command {
                kind: CommandKind::Arm {
                    area: "wh".into(),
                    mode: Mode::ArmedAway,
                    force: false,
                },
                actor: guard(),
            }),
            obs("fence_a", Reading::Motion { active: true }),
            obs("fence_a", Reading::Motion { active: false }),
            obs("smoke_1", Reading::Smoke { active: true }),
            obs("smoke_1", Reading::Heartbeat),
        ],
    )
    .await;
    (journal, engine, clock)
}

async fn count(journal: &Journal, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(journal.pool()).await.unwrap();
    n
}

#[tokio::test]
async fn committed_state_survives_reopening_and_restores_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let (journal, engine, _) = scenario(&path).await;
    let open_before: Vec<Alarm> = engine.open_alarms().cloned().collect();
    assert_eq!(open_before.len(), 2);
    journal.close().await;

    let journal = Journal::open(&path).await.unwrap();
    let snapshot = journal.load_snapshot().await.unwrap();
    assert_eq!(snapshot.open_alarms, open_before);
    assert_eq!(snapshot.next_alarm, 3);
    let restored = Engine::restore(
        site(),
        ManualClock::new(Timestamp(1_763_700_100_000)),
        snapshot,
    );
    assert_eq!(
        restored.areas().find(|a| a.area == "wh").map(|a| a.mode),
        Some(Mode::ArmedAway)
    );
    assert!(
        restored
            .sensors()
            .any(|s| s.sensor == "smoke_1" && s.active)
    );
    let events = journal.recent_events(100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.code == Some(131) && e.source_ref.as_deref() == Some("ref-fence_a"))
    );
    assert_eq!(
        count(
            &journal,
            "SELECT COUNT(*) FROM audit WHERE action = 'arm' AND user_name = 'an'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn heartbeats_update_last_seen_without_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _, _) = scenario(&dir.path().join("j.db")).await;
    let clock = ManualClock::new(Timestamp(1_763_700_500_000));
    let mut engine = Engine::restore(
        site(),
        clock.clone(),
        journal.load_snapshot().await.unwrap(),
    );
    // Let due timers (the sirens' limit) fire first.
    drive(&journal, &mut engine, &clock, vec![Input::Tick]).await;
    let events_before = count(&journal, "SELECT COUNT(*) FROM events").await;
    drive(
        &journal,
        &mut engine,
        &clock,
        vec![
            obs("fence_a", Reading::Heartbeat),
            obs("fence_a", Reading::Motion { active: false }),
        ],
    )
    .await;
    assert_eq!(
        count(&journal, "SELECT COUNT(*) FROM events").await,
        events_before
    );
    let (seen,): (i64,) =
        sqlx::query_as("SELECT last_seen_ms FROM sensor_state WHERE sensor = 'fence_a'")
            .fetch_one(journal.pool())
            .await
            .unwrap();
    assert_eq!(seen, 1_763_700_503_000);
}

#[tokio::test]
async fn intact_chain_verifies_and_an_altered_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _, _) = scenario(&dir.path().join("j.db")).await;
    let report = journal::verify(&journal).await.unwrap();
    assert!(report.broken.is_none());
    assert!(report.checked >= 6, "{report:?}");

    // The journal refuses edits outright...
    let refused = sqlx::query("UPDATE events SET message_en = 'nothing happened' WHERE seq = 3")
        .execute(journal.pool())
        .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    // ...so a tamperer drops the guard first; the chain still names the row.
    sqlx::query("DROP TRIGGER events_append_only_update")
        .execute(journal.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE events SET message_en = 'nothing happened' WHERE seq = 3")
        .execute(journal.pool())
        .await
        .unwrap();
    let report = journal::verify(&journal).await.unwrap();
    let broken = report.broken.expect("tampering found");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("altered"), "{}", broken.reason);
    assert_eq!(report.checked, 2);
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _, _) = scenario(&dir.path().join("j.db")).await;
    sqlx::query("DROP TRIGGER events_append_only_delete")
        .execute(journal.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE seq = 4")
        .execute(journal.pool())
        .await
        .unwrap();
    let broken = journal::verify(&journal)
        .await
        .unwrap()
        .broken
        .expect("deletion found");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("missing"));
}

#[tokio::test]
async fn verify_journal_command_says_ok_or_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let (journal, _, _) = scenario(&path).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["verify-journal", path.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = run();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK:"));
    sqlx::query("DROP TRIGGER events_append_only_update")
        .execute(journal.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE events SET zone = 'smoke' WHERE seq = 2")
        .execute(journal.pool())
        .await
        .unwrap();
    journal.close().await;
    let bad = run();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("BROKEN at event seq 2"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
}

#[tokio::test]
async fn a_journal_from_a_newer_picket_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let journal = Journal::open(&path).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (999, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)")
        .execute(journal.pool()).await.unwrap();
    journal.close().await;
    let err = Journal::open(&path).await.err().expect("refused");
    assert_eq!(err.kind, JournalErrorKind::SchemaTooNew);
    let text = err.to_string();
    assert!(
        text.contains("999") && text.contains("newer picket") && text.contains("j.db"),
        "{text}"
    );
}

#[tokio::test]
async fn an_older_journal_is_backed_up_and_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        journal::schema::create_at_version(&pool, 1).await.unwrap();
        sqlx::query("INSERT INTO users (name, role, code_hash, created_at_ms) VALUES ('old', 'guard', 'x', 0)").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let journal = Journal::open(&path).await.unwrap();
    let versions = journal::schema::applied_versions(journal.pool(), &path)
        .await
        .unwrap();
    assert_eq!(
        versions.last().copied(),
        Some(journal::schema::latest_version())
    );
    assert_eq!(count(&journal, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(
        count(&journal, "SELECT COUNT(*) FROM users WHERE name = 'old'").await,
        1
    );
    assert!(
        dir.path().join("j.v1.bak").exists(),
        "no backup before the upgrade"
    );
}

#[tokio::test]
async fn users_codes_are_hashed_unique_and_duress_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db")).await.unwrap();
    let at = Timestamp(1);
    journal
        .add_user("an", Role::Guard, "1234", Some("1299"), "admin", at)
        .await
        .unwrap();
    journal
        .add_user("binh", Role::Supervisor, "5678", None, "admin", at)
        .await
        .unwrap();
    let found = journal.find_by_code("1234").await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.role, found.duress),
        ("an", Role::Guard, false)
    );
    let duress = journal.find_by_code("1299").await.unwrap().unwrap();
    assert_eq!((duress.name.as_str(), duress.duress), ("an", true));
    assert!(journal.find_by_code("0000").await.unwrap().is_none());
    let taken = journal
        .add_user("chi", Role::Guard, "5678", None, "admin", at)
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("already used"));
    assert!(
        journal
            .add_user("dung", Role::Guard, "12", None, "admin", at)
            .await
            .is_err()
    );
    assert!(
        journal
            .add_user("an", Role::Guard, "4444", None, "admin", at)
            .await
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    let (hash,): (String,) = sqlx::query_as("SELECT code_hash FROM users WHERE name = 'an'")
        .fetch_one(journal.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("1234"));
    assert_eq!(
        count(
            &journal,
            "SELECT COUNT(*) FROM audit WHERE action = 'user_add'"
        )
        .await,
        2
    );
}

/// A code typed at a keypad is found through the code index, not by checking every user's
/// hash in turn (with 50 users a wrong code cost 100 argon2id checks, seconds on a Pi).
/// Each code's tag is keyed by the installation's own salt, and a user from before the
/// index is still found, and indexed then.
#[tokio::test]
async fn codes_are_found_through_the_index_and_people_from_before_it_are_indexed_on_use() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db")).await.unwrap();
    let at = Timestamp(1);
    for n in 0..5 {
        journal
            .add_user(
                &format!("u{n}"),
                Role::Guard,
                &format!("40{n}0"),
                Some(&format!("49{n}9")),
                "admin",
                at,
            )
            .await
            .unwrap();
    }
    let tags = async || -> Vec<(String, Option<String>, Option<String>)> {
        sqlx::query_as("SELECT name, code_tag, duress_tag FROM users ORDER BY name")
            .fetch_all(journal.pool())
            .await
            .unwrap()
    };
    let indexed = tags().await;
    assert!(
        indexed
            .iter()
            .all(|(_, c, d)| c.as_ref().is_some_and(|t| t.len() == 64) && d.is_some()),
        "every code has its tag: {indexed:?}"
    );
    let hashes: Vec<(String, String)> = sqlx::query_as("SELECT code_tag, code_hash FROM users")
        .fetch_all(journal.pool())
        .await
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|(tag, hash)| hash.starts_with("$argon2id$") && !hash.contains(tag.as_str())),
        "the tag is an index beside the user's own salted hash: {hashes:?}"
    );

    // As a user added before the index: no tags.
    sqlx::query("UPDATE users SET code_tag = NULL, duress_tag = NULL WHERE name = 'u3'")
        .execute(journal.pool())
        .await
        .unwrap();
    let u3 = journal
        .find_by_code("4939")
        .await
        .unwrap()
        .expect("found by its hash");
    assert_eq!((u3.name.as_str(), u3.duress), ("u3", true));
    let after = tags().await;
    assert!(after[3].2.is_some(), "the duress code is indexed once used");
    assert_eq!(after[3].1, None, "the code not yet");
    assert_eq!(after[3].2, indexed[3].2, "the same tag as when it was set");
    let u3 = journal.find_by_code("4030").await.unwrap().expect("found");
    assert_eq!((u3.name.as_str(), u3.duress), ("u3", false));
    assert_eq!(tags().await, indexed, "all indexed again");

    let u1 = journal
        .find_by_code("4010")
        .await
        .unwrap()
        .expect("found by its tag");
    assert_eq!(
        (u1.name.as_str(), u1.role, u1.duress),
        ("u1", Role::Guard, false)
    );
    assert!(journal.find_by_code("4011").await.unwrap().is_none());

    // Another installation's salt gives other tags for the same codes.
    let other = Journal::open(&dir.path().join("other.db")).await.unwrap();
    other
        .add_user("u0", Role::Guard, "4000", None, "admin", at)
        .await
        .unwrap();
    let (theirs,): (String,) = sqlx::query_as("SELECT code_tag FROM users")
        .fetch_one(other.pool())
        .await
        .unwrap();
    assert_ne!(Some(theirs), indexed[0].1);
}

#[tokio::test]
async fn user_add_command_reads_codes_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let journal_arg = path.to_str().unwrap();
    let out = common::picket_with_stdin(
        &[
            "user",
            "add",
            "lan",
            "--role",
            "supervisor",
            "--journal",
            journal_arg,
        ],
        "246810\n135790\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("user number 1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = common::picket_with_stdin(
        &["user", "number", "lan", "7", "--journal", journal_arg],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::picket_with_stdin(
        &[
            "user",
            "phone",
            "lan",
            "0901 234 567",
            "--journal",
            journal_arg,
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::picket_with_stdin(&["user", "list", "--journal", journal_arg], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "007\tlan\tsupervisor\t+84901234567\tduress code set\n"
    );
    let journal = Journal::open(&path).await.unwrap();
    let u = journal.find_by_code("135790").await.unwrap().unwrap();
    assert_eq!(
        (u.name.as_str(), u.role, u.duress),
        ("lan", Role::Supervisor, true)
    );
}

#[tokio::test]
async fn upgrading_schema_2_keeps_pending_deliveries_and_allows_skipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        journal::schema::create_at_version(&pool, 2).await.unwrap();
        sqlx::query(
            "INSERT INTO outbox (message_id, channel, alarm_id, event_seq, tier, due_at_ms, \
             state, attempts, last_error, payload_json, created_at_ms, updated_at_ms) \
             VALUES ('site:7:arc', 'arc', 3, 7, 2, 1000, 'pending', 4, 'refused', '{}', 1, 2)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let journal = Journal::open(&path).await.unwrap();
    let rows = journal.deliveries(Some("arc")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.message_id.as_str(),
            row.alarm_id,
            row.event_seq,
            row.tier,
            row.due_at_ms,
            row.state,
            row.attempts,
            row.last_error.as_deref()
        ),
        (
            "site:7:arc",
            Some(3),
            Some(7),
            2,
            1000,
            picket::journal::DeliveryState::Pending,
            4,
            Some("refused")
        )
    );
    sqlx::query("UPDATE outbox SET state = 'skipped'")
        .execute(journal.pool())
        .await
        .expect("schema 3 accepts skipped deliveries");
    assert!(dir.path().join("j.v2.bak").exists());
}

#[tokio::test]
async fn users_get_numbers_for_the_centre_and_an_upgrade_numbers_existing_people() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        journal::schema::create_at_version(&pool, 4).await.unwrap();
        for (name, code) in [("an", "h1"), ("binh", "h2")] {
            sqlx::query(
                "INSERT INTO users (name, role, code_hash, created_at_ms) VALUES (?, 'guard', ?, 1)",
            )
            .bind(name)
            .bind(code)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let journal = Journal::open(&path).await.unwrap();
    let numbers = |users: Vec<picket::journal::users::UserSummary>| -> Vec<(String, u16)> {
        users.into_iter().map(|u| (u.name, u.number)).collect()
    };
    assert_eq!(
        numbers(journal.users().await.unwrap()),
        [("an".to_string(), 1), ("binh".to_string(), 2)]
    );
    let at = Timestamp(1);
    let chi = journal
        .add_user_numbered(
            "chi",
            Role::Guard,
            "4321",
            None,
            None,
            picket::journal::users::By::cli("admin"),
            at,
        )
        .await
        .unwrap();
    assert_eq!(chi, 3, "the lowest free number");
    journal
        .set_user_number("an", 17, picket::journal::users::By::cli("admin"), at)
        .await
        .unwrap();
    let taken = journal
        .set_user_number("binh", 17, picket::journal::users::By::cli("admin"), at)
        .await;
    assert!(
        taken
            .unwrap_err()
            .to_string()
            .contains("already someone else's")
    );
    assert!(
        journal
            .set_user_number("binh", 1000, picket::journal::users::By::cli("admin"), at)
            .await
            .is_err()
    );
    let dung = journal
        .add_user_numbered(
            "dung",
            Role::Viewer,
            "8765",
            None,
            Some(42),
            picket::journal::users::By::cli("admin"),
            at,
        )
        .await
        .unwrap();
    assert_eq!(dung, 42);
    assert_eq!(
        journal
            .find_by_code("4321")
            .await
            .unwrap()
            .map(|u| u.number),
        Some(3)
    );
    assert_eq!(
        numbers(journal.users().await.unwrap()),
        [
            ("binh".to_string(), 2),
            ("chi".to_string(), 3),
            ("an".to_string(), 17),
            ("dung".to_string(), 42)
        ]
    );
    assert_eq!(
        count(
            &journal,
            "SELECT COUNT(*) FROM audit WHERE action = 'user_number'"
        )
        .await,
        1
    );
    assert!(dir.path().join("j.v4.bak").exists());
}

#[tokio::test]
async fn evidence_that_does_not_fit_the_chain_is_named() {
    use picket::journal::EvidenceFile;
    use picket::sources::camera::evidence::note_of;
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let (journal, mut engine, clock) = scenario(&dir.path().join("j.db")).await;
    // Five files of alarm 1: what each one's story is.
    let mut files = Vec::new();
    for (i, name) in ["kept", "unchained", "retired", "vanished", "unlisted"]
        .iter()
        .enumerate()
    {
        let path = dir.path().join(format!("{name}.mp4"));
        let bytes = format!("clip {name}").into_bytes();
        std::fs::write(&path, &bytes).unwrap();
        files.push(EvidenceFile {
            id: i as i64 + 1,
            alarm_id: 1,
            camera: "gate".into(),
            kind: "clip".into(),
            path: path.display().to_string(),
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            bytes: bytes.len() as i64,
            duration_ms: Some(1000),
            created_at_ms: 1,
            deleted_at_ms: None,
        });
    }
    let chain = |i: usize, deleted: Option<(&str, &str)>| {
        Input::Evidence(note_of(
            &files[i],
            dir.path(),
            deleted.map(|(vi, en)| (vi.to_string(), en.to_string())),
        ))
    };
    let inputs = vec![
        chain(0, None),
        chain(2, None),
        chain(2, Some(("quá 30 ngày", "older than 30 days"))),
        chain(3, None),
        chain(4, None),
    ];
    drive(&journal, &mut engine, &clock, inputs).await;
    for file in &files[..4] {
        journal.record_evidence(file).await.unwrap();
    }
    // "retired" was deleted by retention; "vanished" by someone else.
    for i in [2, 3] {
        std::fs::remove_file(&files[i].path).unwrap();
    }
    journal
        .evidence_deleted(3, 5, "older than 30 days")
        .await
        .unwrap();

    let report = journal::verify_evidence(&journal).await.unwrap();
    assert_eq!((report.listed, report.matched), (4, 1), "{report:?}");
    let problems: Vec<(String, &str)> = report
        .problems
        .iter()
        .map(|p| {
            let name = std::path::Path::new(&p.path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let what = [
                "is not in the hash chain",
                "missing: deleted, but not by retention",
                "in the hash chain but no longer in the evidence list",
            ]
            .into_iter()
            .find(|w| p.problem.contains(w))
            .unwrap_or(p.problem.as_str());
            (name, what)
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("unchained".to_string(), "is not in the hash chain"),
            (
                "vanished".to_string(),
                "missing: deleted, but not by retention"
            ),
            (
                format!("sha256:{}", files[4].sha256),
                "in the hash chain but no longer in the evidence list"
            ),
        ]
    );
}
