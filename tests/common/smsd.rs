//! A real gammu-smsd (Debian's `gammu-smsd`) with Gammu's `dummy` phone driver, which keeps
//! the phone's messages in a directory: its SQL backend on an SQLite file made from the
//! schema Gammu ships, polling every second. Messages "received" by the phone are SMS
//! backup files placed in the dummy's inbox folder, as Gammu's own smsd tests do; what the
//! phone transmitted is in gammu-smsd's `sentitems`.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Where Debian's gammu-smsd keeps the SQLite schema.
const SCHEMA: &str = "/usr/share/doc/gammu-smsd/examples/sqlite.sql";

/// A running (or stopped) gammu-smsd.
pub struct Smsd {
    /// Its directory: `smsd.db`, `smsdrc`, `phone/` (the dummy phone), `smsd.log`.
    pub dir: PathBuf,
    /// Its database, which picket is configured with.
    pub db: PathBuf,
    child: Option<tokio::process::Child>,
    /// Received messages placed so far (their file names in the dummy's inbox).
    received: AtomicU32,
}

/// One part of a message gammu-smsd transmitted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SentPart {
    /// gammu-smsd's message id.
    #[sqlx(rename = "ID")]
    pub id: i64,
    /// The recipient.
    #[sqlx(rename = "DestinationNumber")]
    pub number: String,
    /// The part's text.
    #[sqlx(rename = "TextDecoded")]
    pub text: String,
    /// Its concatenation header, hex.
    #[sqlx(rename = "UDH")]
    pub udh: String,
    /// `Unicode_No_Compression` or `Default_No_Compression`.
    #[sqlx(rename = "Coding")]
    pub coding: String,
    /// Who queued it.
    #[sqlx(rename = "CreatorID")]
    pub creator: String,
    /// Part number.
    #[sqlx(rename = "SequencePosition")]
    pub position: i64,
    /// `SendingOK`, `SendingOKNoReport`, …
    #[sqlx(rename = "Status")]
    pub status: String,
}

impl Smsd {
    /// Makes the database and starts gammu-smsd in `dir`, once it has reported its phone.
    pub async fn start(dir: &Path) -> Smsd {
        std::fs::create_dir_all(dir.join("phone")).unwrap();
        std::fs::create_dir_all(dir.join("stage")).unwrap();
        let db = dir.join("smsd.db");
        let schema = std::fs::read_to_string(SCHEMA)
            .unwrap_or_else(|e| panic!("{SCHEMA}: {e} (tests/run.sh installs gammu-smsd)"));
        let pool = pool(&db, true).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        std::fs::write(
            dir.join("smsdrc"),
            format!(
                "[gammu]\nmodel = dummy\nconnection = none\ndevice = {phone}\n\n\
                 [smsd]\nservice = sql\ndriver = sqlite3\ndatabase = smsd.db\ndbdir = {dir}\n\
                 logfile = {dir}/smsd.log\ndebuglevel = 1\nCommTimeout = 1\n\
                 ReceiveFrequency = 1\nStatusFrequency = 1\nLoopSleep = 1\nCheckSecurity = 0\n\
                 PhoneID = picket-test\n",
                phone = dir.join("phone").display(),
                dir = dir.display(),
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("stagerc"),
            format!(
                "[gammu]\nmodel = dummy\nconnection = none\ndevice = {}\n",
                dir.join("stage").display()
            ),
        )
        .unwrap();
        let mut smsd = Smsd {
            dir: dir.to_path_buf(),
            db,
            child: None,
            received: AtomicU32::new(0),
        };
        smsd.resume().await;
        smsd
    }

    /// Starts gammu-smsd again after [`Smsd::stop`], once it has reported its phone.
    pub async fn resume(&mut self) {
        let child = tokio::process::Command::new("gammu-smsd")
            .arg("-c")
            .arg(self.dir.join("smsdrc"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("gammu-smsd (tests/run.sh installs it)");
        self.child = Some(child);
        let pool = pool(&self.db, false).await;
        super::delivery::wait_for("gammu-smsd to report its phone", async || {
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM phones WHERE TimeOut > datetime('now', 'localtime')")
                    .fetch_optional(&pool)
                    .await
                    .unwrap_or(None);
            row.is_some()
        })
        .await;
        pool.close().await;
    }

    /// Stops gammu-smsd (SIGTERM, as systemd would) and waits for it to end.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                super::send_signal(pid, libc::SIGTERM);
            }
            tokio::time::timeout(Duration::from_secs(20), child.wait())
                .await
                .expect("gammu-smsd stops")
                .unwrap();
        }
    }

    /// The phone receives `text` from `sender`: written by `gammu savesms` (Gammu's own
    /// encoding of the message) as a delivered message, and placed in the dummy phone's
    /// inbox.
    pub async fn receive(&self, sender: &str, text: &str) {
        let stage = self.dir.join("stage/sms/1");
        let _ = std::fs::remove_dir_all(&stage);
        let out = tokio::process::Command::new("gammu")
            .arg("-c")
            .arg(self.dir.join("stagerc"))
            .args(["savesms", "TEXT", "-folder", "1", "-unread", "-unicode"])
            .args(["-sender", sender, "-text", text])
            .output()
            .await
            .expect("gammu (tests/run.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let saved = std::fs::read_to_string(stage.join("1")).unwrap();
        // `savesms` writes a message to send; a received one is a Deliver PDU.
        assert!(saved.contains("PDU = Submit"), "{saved}");
        self.place_in_inbox(&saved.replace("PDU = Submit", "PDU = Deliver"));
    }

    /// The network reports the message last sent to `number` delivered: a status report
    /// (a `Status_Report` PDU matching the message's reference and SMSC) arrives at the
    /// dummy phone, and gammu-smsd matches it to the sent message.
    pub async fn report_delivered(&self, number: &str) {
        let pool = pool(&self.db, false).await;
        let (tpmr, smsc): (i64, String) = sqlx::query_as(
            "SELECT TPMR, SMSCNumber FROM sentitems WHERE DestinationNumber = ? \
             ORDER BY ID DESC LIMIT 1",
        )
        .bind(number)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        let now = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let text: String = "Delivered"
            .encode_utf16()
            .map(|u| format!("{u:04X}"))
            .collect();
        let report = format!(
            "[SMSBackup000]\nPDU = Status_Report\nDateTime = {now}\nSMSCDateTime = {now}\n\
             State = UnRead\nNumber = \"{number}\"\nSMSC = \"{smsc}\"\nText00 = {text}\n\
             Coding = Default_No_Compression\nFolder = 1\nLength = 9\nClass = -1\n\
             MessageReference = {tpmr}\n"
        );
        self.place_in_inbox(&report);
    }

    /// Fails every queued message as gammu-smsd does when the modem refuses to send one
    /// (after its retries): moved from `outbox` to `sentitems` with status `SendingError`
    /// and the modem's error code. Gammu's dummy phone never refuses, so this is written
    /// here, with gammu-smsd stopped; returns how many were failed.
    pub async fn fail_queued(&self, error: i64) -> u64 {
        assert!(self.child.is_none(), "stop gammu-smsd first");
        let pool = pool(&self.db, false).await;
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO sentitems (ID, SequencePosition, DestinationNumber, TextDecoded, Text, \
             Coding, UDH, SenderID, CreatorID, Status, StatusError) \
             SELECT ID, 1, DestinationNumber, TextDecoded, '', Coding, COALESCE(UDH, ''), \
             COALESCE(SenderID, ''), CreatorID, 'SendingError', ? FROM outbox",
        )
        .bind(error)
        .execute(&mut *tx)
        .await
        .unwrap();
        let failed = sqlx::query("DELETE FROM outbox")
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        tx.commit().await.unwrap();
        pool.close().await;
        failed
    }

    /// Messages waiting in gammu-smsd's outbox.
    pub async fn queued(&self) -> i64 {
        let pool = pool(&self.db, false).await;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    /// Puts an SMS backup file into the dummy phone's inbox in one rename, so gammu-smsd
    /// never reads half a file.
    fn place_in_inbox(&self, backup: &str) {
        let n = 100 + self.received.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!("phone/incoming-{n}"));
        std::fs::write(&tmp, backup).unwrap();
        std::fs::rename(&tmp, self.dir.join("phone/sms/1").join(n.to_string())).unwrap();
    }

    /// Every part gammu-smsd transmitted, in the order it sent them.
    pub async fn sent(&self) -> Vec<SentPart> {
        let pool = pool(&self.db, false).await;
        let rows = sqlx::query_as(
            "SELECT ID, DestinationNumber, TextDecoded, UDH, Coding, CreatorID, \
             SequencePosition, Status FROM sentitems ORDER BY ID, SequencePosition",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows
    }

    /// Received messages picket has not yet read.
    pub async fn unread(&self) -> i64 {
        let pool = pool(&self.db, false).await;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM inbox WHERE Processed = 'false'")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    /// Waits until the messages transmitted to `number` satisfy `done`; returns them.
    pub async fn wait_sent_to(
        &self,
        number: &str,
        what: &str,
        done: impl Fn(&[SentPart]) -> bool,
    ) -> Vec<SentPart> {
        let mut found = Vec::new();
        super::delivery::wait_for(what, async || {
            found = self
                .sent()
                .await
                .into_iter()
                .filter(|p| p.number == number)
                .collect();
            done(&found)
        })
        .await;
        found
    }
}

/// The text of each message (parts joined in order), by gammu-smsd's id.
pub fn messages(parts: &[SentPart]) -> Vec<String> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for p in parts {
        match out.last_mut() {
            Some((id, text)) if *id == p.id => text.push_str(&p.text),
            _ => out.push((p.id, p.text.clone())),
        }
    }
    out.into_iter().map(|(_, t)| t).collect()
}

async fn pool(db: &Path, create: bool) -> SqlitePool {
    SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(create)
            .busy_timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap()
}
