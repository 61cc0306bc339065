//! `picket backup` and `picket restore`: the site's journal copied out while picket runs,
//! verified before anyone relies on it, and put back with picket stopped, keeping the
//! journal it replaces.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config;
use crate::journal::{self, Journal};

/// Where the journal is: from the configuration, or named directly.
#[derive(clap::Args)]
pub struct JournalArgs {
    /// Configuration file (its journal.path is used).
    #[arg(long, short, conflicts_with = "journal")]
    config: Option<PathBuf>,
    /// Journal file.
    #[arg(long)]
    journal: Option<PathBuf>,
}

/// `picket backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The copy to write (it must not exist).
    #[arg(long)]
    to: PathBuf,
    #[command(flatten)]
    journal: JournalArgs,
}

/// `picket restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The copy to put back (made by `picket backup`).
    #[arg(long)]
    from: PathBuf,
    #[command(flatten)]
    journal: JournalArgs,
}

/// The journal file and the control socket a running picket would answer on.
fn locate(args: JournalArgs) -> Result<(PathBuf, PathBuf), String> {
    match (args.config, args.journal) {
        (_, Some(journal)) => {
            let dir = journal.parent().unwrap_or_else(|| Path::new("."));
            let socket = dir.join("control.sock");
            Ok((journal, socket))
        }
        (Some(file), None) => config::load(&file)
            .map(|c| (c.journal.path.clone(), c.control_socket()))
            .map_err(|e| format!("{}: {e}", file.display())),
        (None, None) => Err("give --config FILE or --journal FILE".into()),
    }
}

/// Checks the hash chain of the journal at `path`: the events checked, or what is wrong.
async fn verified(path: &Path) -> Result<u64, String> {
    let copy = Journal::open_existing(path)
        .await
        .map_err(|e| e.to_string())?;
    let report = journal::verify(&copy).await.map_err(|e| e.to_string());
    copy.close().await;
    let report = report?;
    match report.broken {
        None => Ok(report.checked),
        Some(b) => Err(format!(
            "{}: the hash chain breaks at event {}: {}",
            path.display(),
            b.seq,
            b.reason
        )),
    }
}

/// `picket backup --to FILE`: exit 0 with the copy written and its chain verified.
pub async fn backup(args: BackupArgs) -> ExitCode {
    let result = async {
        let (path, _) = locate(args.journal)?;
        let live = Journal::open_existing(&path)
            .await
            .map_err(|e| e.to_string())?;
        let written = live.backup_to(&args.to).await.map_err(|e| e.to_string());
        live.close().await;
        written?;
        let events = verified(&args.to).await?;
        Ok::<_, String>(format!(
            "{}: backup of {} written and verified ({events} events, hash chain intact)",
            args.to.display(),
            path.display()
        ))
    };
    match result.await {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("picket backup: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `picket restore --from FILE`: refuses while picket runs or when the copy does not
/// verify; the journal it replaces is kept beside it.
pub async fn restore(args: RestoreArgs) -> ExitCode {
    let result = async {
        let (path, socket) = locate(args.journal)?;
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            return Err(format!(
                "picket is running (its control socket {} answers); stop it first: \
                 systemctl stop picket",
                socket.display()
            ));
        }
        let events = verified(&args.from).await?;
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let owner = std::fs::metadata(&path)
            .or_else(|_| std::fs::metadata(path.parent().unwrap_or_else(|| Path::new("."))))
            .ok();
        let kept =
            journal::backup::restore(&args.from, &path, &stamp).map_err(|e| e.to_string())?;
        // Restored by root for a journal picket's user owns: the copy gets the same owner.
        if let Some(owner) = owner {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid()))
                .map_err(|e| format!("{}: cannot give it its owner back: {e}", path.display()))?;
        }
        let kept = match kept {
            Some(k) => format!("; the journal it replaced is kept as {}", k.display()),
            None => String::new(),
        };
        Ok::<_, String>(format!(
            "{}: restored from {} ({events} events, hash chain intact){kept}",
            path.display(),
            args.from.display()
        ))
    };
    match result.await {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("picket restore: {e}");
            ExitCode::FAILURE
        }
    }
}
