//! `picket alarm list|ack|resolve`: open alarms from the journal, and acknowledging and
//! resolving them through the running daemon's control socket with the person's code, so
//! the command line takes the same path (code check, lockout, engine, audit) as the page,
//! MQTT and a keypad.

use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::config::{self, Config};
use crate::journal::Journal;

/// What to do with alarms.
#[derive(Subcommand)]
pub enum AlarmCmd {
    /// List the open alarms (raised or acknowledged, not yet resolved).
    List {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Acknowledge an alarm: asks for your code (or reads it from standard input).
    Ack {
        /// Alarm number.
        alarm: u64,
        /// A note for the alarm.
        #[arg(long, default_value = "")]
        note: String,
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Resolve an acknowledged alarm: asks for your code (or reads it from standard input).
    Resolve {
        /// Alarm number.
        alarm: u64,
        /// real, false, test or unknown.
        #[arg(long)]
        resolution: String,
        /// What was found.
        #[arg(long, default_value = "")]
        note: String,
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// Runs an alarm subcommand.
pub async fn run(command: AlarmCmd) -> ExitCode {
    let result = match command {
        AlarmCmd::List { config } => list(&config).await,
        AlarmCmd::Ack {
            alarm,
            note,
            config,
        } => {
            let request = serde_json::json!({"action": "ack", "alarm": alarm, "note": note});
            send(&config, request).await
        }
        AlarmCmd::Resolve {
            alarm,
            resolution,
            note,
            config,
        } => {
            let request = serde_json::json!({
                "action": "resolve", "alarm": alarm, "resolution": resolution, "note": note,
            });
            send(&config, request).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("picket alarm: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<Config, String> {
    config::load(path).map_err(|e| format!("{}: {e}", path.display()))
}

async fn list(path: &Path) -> Result<(), String> {
    let config = load(path)?;
    let tz = jiff::tz::TimeZone::get(&config.site.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let journal = Journal::open_existing(&config.journal.path)
        .await
        .map_err(|e| e.to_string())?;
    let alarms = journal.open_alarms().await.map_err(|e| e.to_string())?;
    journal.close().await;
    if alarms.is_empty() {
        println!("Không có báo động mở. / No open alarms.");
        return Ok(());
    }
    println!("#\tstate\tcode\tcategory\tarea\tzone\traised\tacknowledged by");
    for a in alarms {
        let raised = jiff::Timestamp::from_millisecond(a.raised_at.0)
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %:z")
                    .to_string()
            })
            .unwrap_or_default();
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}{}",
            a.id,
            a.state.as_str(),
            a.code.0,
            a.category.as_str(),
            a.area,
            a.zone.as_deref().unwrap_or("-"),
            raised,
            a.acknowledged_by.as_deref().unwrap_or("-"),
            if a.confirmed { "\tconfirmed" } else { "" }
        );
    }
    Ok(())
}

/// Sends one request with the person's code to the daemon and prints its answer.
async fn send(path: &Path, mut request: serde_json::Value) -> Result<(), String> {
    let config = load(path)?;
    let socket = config.control_socket();
    let code = super::ask("Code (digits): ")?;
    request["code"] = serde_json::Value::String(code);
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|e| {
            format!(
                "cannot reach the running picket at {} ({e}); is it running, and may you use \
             its control socket?",
                socket.display()
            )
        })?;
    let (read, mut write) = stream.into_split();
    let mut line = request.to_string();
    line.push('\n');
    write
        .write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    BufReader::new(read)
        .read_line(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let answer: serde_json::Value =
        serde_json::from_str(&answer).map_err(|e| format!("unreadable answer: {e}"))?;
    if answer["ok"] == true {
        println!(
            "Đã thực hiện. / Done (by {}).",
            answer["user"].as_str().unwrap_or("?")
        );
        Ok(())
    } else {
        Err(format!(
            "{} / {}",
            answer["reason_vi"].as_str().unwrap_or_default(),
            answer["reason_en"].as_str().unwrap_or_default()
        ))
    }
}
