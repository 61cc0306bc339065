//! Life safety outranks bookkeeping: while the journal cannot be written, an alarm still
//! drives the sirens and is published, a system trouble (300) is raised, the sender is told
//! its input was not committed, and everything is written once the journal recovers.

use picket::config;
use picket::engine::*;
use picket::journal::{self, Journal, Writer};
use picket::runtime::{self, Effects, SubmitError};
use sqlx::Connection;
use std::sync::Arc;

const SITE: &str = r#"
[site]
name = "Kho"
[[areas]]
id = "wh"
name = "Kho"
[[zones]]
id = "fire"
name = "Cháy"
area = "wh"
type = "fire"
[[sensors]]
id = "smoke"
zone = "fire"
kind = "smoke"
source = { kind = "simulated" }
[[outputs]]
id = "siren"
kind = "siren"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_go_out_while_the_journal_is_locked_and_are_written_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let journal = Journal::open(&path).await.unwrap();
    let site = Arc::new(Site::from_config(&config::parse_str(SITE).unwrap()));
    let engine = Engine::new(site, SystemClock::new());
    let writer = Writer::new(journal.clone()).await.unwrap();
    let effects = Effects::new(&engine);
    let mut events = effects.events.subscribe();
    let mut outputs = effects.outputs.subscribe();
    let (task, handle) = runtime::spawn_engine(engine, writer, effects);

    // Another process holds the write lock (a stuck backup, a full disk…).
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .unwrap();

    let smoke = |active| Observation {
        sensor: "smoke".into(),
        reading: Reading::Smoke { active },
        source_ref: Some(format!("smoke-{active}")),
    };
    let result = handle.observe(smoke(true)).await;
    assert!(
        matches!(result, Err(SubmitError::NotCommitted(_))),
        "{result:?}"
    );

    // The effects went out regardless.
    outputs
        .wait_for(|o| o.get("siren") == Some(&OutputPattern::Temporal3))
        .await
        .unwrap();
    let mut published = Vec::new();
    while let Ok(p) = events.try_recv() {
        published.push(p);
    }
    assert!(
        published
            .iter()
            .any(|p| p.event.kind == EventKind::AlarmRaised
                && p.event.code == Some(ContactId::SMOKE)
                && p.seq.is_none())
    );
    assert!(
        published
            .iter()
            .any(|p| p.event.code == Some(ContactId::SYSTEM_TROUBLE)
                && p.event.qualifier == Qualifier::New)
    );

    // The lock goes away; the next input commits the backlog first.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    blocker.close().await.unwrap();
    let receipt = handle
        .observe(smoke(false))
        .await
        .expect("committed after recovery");
    assert!(receipt.events.iter().all(|p| p.seq.is_some()));
    drop(handle);
    task.await.unwrap();

    let kinds: Vec<(String, Option<i64>, i64)> =
        sqlx::query_as("SELECT kind, code, qualifier FROM events ORDER BY seq")
            .fetch_all(journal.pool())
            .await
            .unwrap();
    let has = |kind: &str, code: i64, q: i64| {
        kinds
            .iter()
            .any(|(k, c, qq)| k == kind && *c == Some(code) && *qq == q)
    };
    assert!(has("alarm_raised", 111, 1), "{kinds:?}");
    assert!(has("trouble", 300, 1), "{kinds:?}");
    assert!(has("trouble_restored", 300, 3), "{kinds:?}");
    assert!(has("alarm_zone_restored", 111, 3), "{kinds:?}");
    let alarms = journal.open_alarms().await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert!(journal::verify(&journal).await.unwrap().broken.is_none());
}
