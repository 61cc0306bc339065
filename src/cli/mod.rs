//! The `picket` command line: `run`, `check-config`, `verify-journal`, `user`, `alarm`,
//! `report`, `demo` and `bench`. Each subcommand is a thin layer over the library.

mod alarms;
mod backup;
mod bench;
mod bench_all;
mod bench_cameras;
mod bench_codes;
mod bench_delivery;
mod bench_heartbeats;
mod bench_mail;
mod bench_mqtt;
mod bench_report;
mod bench_startup;
mod bench_web;
mod demo;
mod report;
pub mod sample_history;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config;
use crate::engine::{Clock, Role, SystemClock};
use crate::journal::users::By;
use crate::journal::{self, Journal};
use crate::runtime::{self, RunOptions};

/// picket — security gateway: sensors and cameras in, alarms out.
#[derive(Parser)]
#[command(name = "picket", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon.
    Run {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a configuration file; prints every problem with its key and line:col.
    /// Exits 0 when valid, 2 when not.
    CheckConfig {
        /// Configuration file.
        file: PathBuf,
    },
    /// Copy the journal while picket runs (one consistent snapshot), then verify the copy.
    Backup(backup::BackupArgs),
    /// Put a backup in place of the journal, with picket stopped; the journal it replaces
    /// is kept beside it.
    Restore(backup::RestoreArgs),
    /// Check the journal's hash chain; names the first broken row.
    VerifyJournal {
        /// Journal file.
        file: PathBuf,
    },
    /// Manage people and their arming codes.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// List, acknowledge and resolve alarms.
    Alarm {
        #[command(subcommand)]
        command: alarms::AlarmCmd,
    },
    /// The security review's report for a month, quarter or assessment year.
    Report(report::ReportArgs),
    /// Run the whole daemon on a simulated factory gate and warehouse.
    Demo(demo::DemoArgs),
    /// Measure engine + journal throughput and commit latency against plain SQLite.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user. Asks for the code and an optional duress code (or reads two lines
    /// from standard input when it is not a terminal).
    Add {
        /// User name.
        name: String,
        /// guard, supervisor, installer or admin.
        #[arg(long)]
        role: String,
        /// User number at the receiving centre (1–999); default the lowest free one.
        #[arg(long)]
        number: Option<u16>,
        /// Phone number (`0901 234 567` or `+84…`): SMS commands are taken from it.
        #[arg(long)]
        phone: Option<String>,
        /// Also set the page password, read from this file (first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Configuration file (its journal.path is used).
        #[arg(long, short, conflicts_with = "journal")]
        config: Option<PathBuf>,
        /// Journal file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
    /// Set a user's page password (at least 10 characters): asked twice at a terminal,
    /// one line from standard input otherwise, or the first line of `--password-file`.
    Passwd {
        /// User name.
        name: String,
        /// Read the password from this file's first line.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Configuration file (its journal.path is used).
        #[arg(long, short, conflicts_with = "journal")]
        config: Option<PathBuf>,
        /// Journal file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
    /// Give a user another user number (1–999): the number the receiving centre knows
    /// them by.
    Number {
        /// User name.
        name: String,
        /// The new number.
        number: u16,
        /// Configuration file (its journal.path is used).
        #[arg(long, short, conflicts_with = "journal")]
        config: Option<PathBuf>,
        /// Journal file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
    /// Give a user a phone number, from which SMS commands are taken; `none` removes it.
    Phone {
        /// User name.
        name: String,
        /// `0901 234 567`, `+84901234567`, or `none`.
        phone: String,
        /// Configuration file (its journal.path is used).
        #[arg(long, short, conflicts_with = "journal")]
        config: Option<PathBuf>,
        /// Journal file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
    /// List users.
    List {
        /// Configuration file (its journal.path is used).
        #[arg(long, short, conflicts_with = "journal")]
        config: Option<PathBuf>,
        /// Journal file.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    runtime::malloc::return_large_blocks();
    let cli = Cli::parse();
    let quiet = matches!(cli.command, Cmd::Demo(_) | Cmd::Bench(_));
    runtime::logging::init(if quiet { "warn" } else { "info" });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(dispatch(cli.command))
}

async fn dispatch(command: Cmd) -> ExitCode {
    match command {
        Cmd::Run { config } => run(&config).await,
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::Backup(args) => backup::backup(args).await,
        Cmd::Restore(args) => backup::restore(args).await,
        Cmd::VerifyJournal { file } => verify_journal(&file).await,
        Cmd::User { command } => user(command).await,
        Cmd::Alarm { command } => alarms::run(command).await,
        Cmd::Report(args) => report::run(args).await,
        Cmd::Demo(args) => demo::run(args).await,
        Cmd::Bench(args) => bench::run(args).await,
    }
}

async fn run(path: &Path) -> ExitCode {
    let config = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let faults = match std::env::var(crate::fault::FAULTS_ENV) {
        Ok(spec) => match crate::fault::FaultHooks::from_spec(&spec) {
            Ok(hooks) => {
                tracing::warn!(
                    spec = %crate::text::for_log(&spec),
                    "{} is set: test faults are armed",
                    crate::fault::FAULTS_ENV
                );
                hooks
            }
            Err(e) => {
                eprintln!("{}: {e}", crate::fault::FAULTS_ENV);
                return ExitCode::from(2);
            }
        },
        Err(_) => crate::fault::FaultHooks::default(),
    };
    let mut config = config;
    // The configuration that ran before a reload, to go back to if the new one loads but
    // cannot start (a port taken, a device missing).
    let mut before: Option<config::Config> = None;
    loop {
        let file = path.to_path_buf();
        let options = RunOptions {
            faults: faults.clone(),
            reload: Some(Box::new(move || {
                config::load(&file).map_err(|e| one_line_problems(&file, &e))
            })),
            ..RunOptions::default()
        };
        let running = config.clone();
        match runtime::run(config, options).await {
            Ok(runtime::Ended::Reload(new)) => {
                tracing::info!(config = %path.display(), "running with the new configuration");
                before = Some(running);
                config = *new;
            }
            Ok(runtime::Ended::Stopped) => return ExitCode::SUCCESS,
            Err(e) if before.is_some() && !matches!(e, runtime::RunError::EngineFault(_)) => {
                tracing::error!(
                    error = %e,
                    "the new configuration could not start; running the one before again"
                );
                config = before.take().unwrap_or(running);
            }
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("picket: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// A configuration's problems on one log line, each as `check-config` prints it
/// (`FILE:LINE:COL: KEY: what`), separated by `; `.
fn one_line_problems(path: &Path, e: &config::ConfigError) -> String {
    match e {
        config::ConfigError::Invalid(issues) => issues
            .iter()
            .map(|issue| format!("{}:{issue}", path.display()))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// `n` and the noun in the form its count needs: "1 zone", "2 zones".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn check_config(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(c) => {
            println!(
                "{}: OK ({}, {}, {}, {})",
                path.display(),
                counted(c.areas.len(), "area", "areas"),
                counted(c.zones.len(), "zone", "zones"),
                counted(c.sensors.len(), "sensor", "sensors"),
                counted(c.outputs.len(), "output", "outputs")
            );
            ExitCode::SUCCESS
        }
        Err(config::ConfigError::Invalid(issues)) => {
            for issue in &issues {
                println!("{}:{issue}", path.display());
            }
            println!("{}", counted(issues.len(), "problem", "problems"));
            ExitCode::from(2)
        }
        Err(e) => {
            println!("{e}");
            ExitCode::from(2)
        }
    }
}

async fn verify_journal(path: &Path) -> ExitCode {
    let journal = match Journal::open_existing(path).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let report = match journal::verify(&journal).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(b) = report.broken {
        println!(
            "BROKEN at event seq {}: {} ({} events before it verified)",
            b.seq, b.reason, report.checked
        );
        return ExitCode::FAILURE;
    }
    let evidence = match journal::verify_evidence(&journal).await {
        Ok(evidence) => evidence,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if evidence.problems.is_empty() {
        println!(
            "OK: {} events, hash chain intact; {} evidence files listed, {} kept and matching the chain",
            report.checked, evidence.listed, evidence.matched
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "EVIDENCE DOES NOT MATCH: {} events, hash chain intact; {} of {} evidence files do not fit:",
        report.checked,
        evidence.problems.len(),
        evidence.listed
    );
    for p in &evidence.problems {
        println!("  alarm {}: {}: {}", p.alarm, p.path, p.problem);
    }
    ExitCode::FAILURE
}

fn journal_path(config: Option<PathBuf>, journal: Option<PathBuf>) -> Result<PathBuf, String> {
    match (config, journal) {
        (_, Some(j)) => Ok(j),
        (Some(c), None) => config::load(&c)
            .map(|cfg| cfg.journal.path)
            .map_err(|e| format!("{}: {e}", c.display())),
        (None, None) => Err("give --config FILE or --journal FILE".into()),
    }
}

async fn user(command: UserCmd) -> ExitCode {
    let result = match command {
        UserCmd::Add {
            name,
            role,
            number,
            phone,
            password_file,
            config,
            journal,
        } => {
            add_user(
                NewUserArgs {
                    name,
                    role,
                    number,
                    phone,
                    password_file,
                },
                config,
                journal,
            )
            .await
        }
        UserCmd::Phone {
            name,
            phone,
            config,
            journal,
        } => phone_user(name, phone, config, journal).await,
        UserCmd::Passwd {
            name,
            password_file,
            config,
            journal,
        } => passwd(name, password_file, config, journal).await,
        UserCmd::Number {
            name,
            number,
            config,
            journal,
        } => number_user(name, number, config, journal).await,
        UserCmd::List { config, journal } => list_users(config, journal).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("picket user: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Who runs the command, for the audit log.
fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "cli".into())
}

async fn number_user(
    name: String,
    number: u16,
    config: Option<PathBuf>,
    journal: Option<PathBuf>,
) -> Result<(), String> {
    let path = journal_path(config, journal)?;
    let journal = Journal::open(&path).await.map_err(|e| e.to_string())?;
    journal
        .set_user_number(
            &name,
            number,
            By::cli(&operator()),
            SystemClock::new().now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    journal.close().await;
    println!("{name} is user number {number}");
    Ok(())
}

/// A new page password: the file's first line, or asked (twice at a terminal).
fn new_password(file: Option<&Path>) -> Result<String, String> {
    use std::io::IsTerminal;
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().trim().to_string());
    }
    let first = ask("Page password (at least 10 characters): ")?;
    if std::io::stdin().is_terminal() && ask("The same again: ")? != first {
        return Err("the two passwords differ".into());
    }
    Ok(first)
}

async fn passwd(
    name: String,
    password_file: Option<PathBuf>,
    config: Option<PathBuf>,
    journal: Option<PathBuf>,
) -> Result<(), String> {
    let path = journal_path(config, journal)?;
    let password = new_password(password_file.as_deref())?;
    let journal = Journal::open(&path).await.map_err(|e| e.to_string())?;
    journal
        .set_password(
            &name,
            &password,
            By::cli(&operator()),
            SystemClock::new().now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    journal.close().await;
    println!("{name} has a new page password");
    Ok(())
}

/// What `picket user add` was told about the person.
struct NewUserArgs {
    /// User name.
    name: String,
    /// Role, as written.
    role: String,
    /// User number, when given.
    number: Option<u16>,
    /// Phone, when given.
    phone: Option<String>,
    /// Page password file, when given.
    password_file: Option<PathBuf>,
}

async fn phone_user(
    name: String,
    phone: String,
    config: Option<PathBuf>,
    journal: Option<PathBuf>,
) -> Result<(), String> {
    let path = journal_path(config, journal)?;
    let journal = Journal::open(&path).await.map_err(|e| e.to_string())?;
    let phone = (phone != "none").then_some(phone);
    journal
        .set_phone(
            &name,
            phone.as_deref(),
            By::cli(&operator()),
            SystemClock::new().now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    journal.close().await;
    match phone {
        Some(_) => println!("{name} takes SMS commands from their phone"),
        None => println!("{name} has no phone"),
    }
    Ok(())
}

async fn add_user(
    args: NewUserArgs,
    config: Option<PathBuf>,
    journal: Option<PathBuf>,
) -> Result<(), String> {
    let NewUserArgs {
        name,
        role,
        number,
        phone,
        password_file,
    } = args;
    if let Some(p) = &phone {
        crate::phone::normalize(p)?;
    }
    let role = Role::parse(&role).ok_or_else(|| {
        format!("unknown role `{role}`; use viewer, guard, supervisor, installer or admin")
    })?;
    let path = journal_path(config, journal)?;
    let (code, duress) = if role == Role::Viewer {
        // A viewer gives no commands: no arming code.
        (String::new(), None)
    } else {
        let code = ask("Code (digits): ")?;
        let duress = ask("Duress code (digits; empty for none): ")?;
        (code, (!duress.is_empty()).then_some(duress))
    };
    let journal = Journal::open(&path).await.map_err(|e| e.to_string())?;
    let number = journal
        .add_user_numbered(
            &name,
            role,
            &code,
            duress.as_deref(),
            number,
            By::cli(&operator()),
            SystemClock::new().now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    if let Some(file) = &password_file {
        let password = new_password(Some(file))?;
        journal
            .set_password(
                &name,
                &password,
                By::cli(&operator()),
                SystemClock::new().now(),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    if let Some(p) = &phone {
        journal
            .set_phone(
                &name,
                Some(p),
                By::cli(&operator()),
                SystemClock::new().now(),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    journal.close().await;
    println!("added {name} ({}), user number {number}", role.as_str());
    Ok(())
}

/// Reads a secret: hidden at a terminal, one line from standard input otherwise.
pub(crate) fn ask(prompt: &str) -> Result<String, String> {
    use std::io::IsTerminal;
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| e.to_string())?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line
    };
    Ok(text.trim().to_string())
}

async fn list_users(config: Option<PathBuf>, journal: Option<PathBuf>) -> Result<(), String> {
    let path = journal_path(config, journal)?;
    let journal = Journal::open_existing(&path)
        .await
        .map_err(|e| e.to_string())?;
    for p in journal.people().await.map_err(|e| e.to_string())? {
        println!(
            "{:03}\t{}\t{}\t{}\t{}",
            p.number,
            p.name,
            p.role.as_str(),
            p.phone.as_deref().unwrap_or("-"),
            if p.has_duress { "duress code set" } else { "" }
        );
    }
    Ok(())
}
