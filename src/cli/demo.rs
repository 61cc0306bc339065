//! `picket demo`: the whole daemon on a simulated factory gate and warehouse, driven by a
//! scripted scenario (intrusion confirmed by a second detector, a fire drill, a silent
//! panic, a low battery) and random background traffic. Events print in both languages.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::config;
use crate::engine::{Actor, CommandKind, Mode, Origin, OutputPattern, Reading, Resolution, Role};
use crate::runtime::{self, Effects, Published, RunOptions};
use crate::sources::simulated::{RandomTraffic, ScriptStep, SimAction, SimulatedSource};

/// The demo site.
const DEMO_SITE: &str = include_str!("../../config/demo.toml");

/// Options of `picket demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Directory for the demo journal (default: a new directory under /tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Scenario speed: 0.1 plays it ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pace: f64,
    /// Seed for the background traffic.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Address of the status page (default 127.0.0.1:8080, or a free port if that one is
    /// taken).
    #[arg(long)]
    listen: Option<String>,
}

/// The demo's people, one per role: (name, role, arming code, duress code, page password).
pub const DEMO_PEOPLE: &[(&str, Role, &str, Option<&str>, &str)] = &[
    ("bao-ve", Role::Guard, "1111", Some("1119"), "bao-ve-demo-1"),
    (
        "giam-sat",
        Role::Supervisor,
        "2222",
        None,
        "giam-sat-demo-2",
    ),
    ("an-ninh", Role::Viewer, "", None, "an-ninh-demo-3"),
    ("quan-tri", Role::Admin, "9999", None, "quan-tri-demo-4"),
];

/// The page's address: the one asked for, else 8080 when free, else any free port.
fn page_address(asked: Option<String>) -> String {
    if let Some(a) = asked {
        return a;
    }
    let free = |addr: &str| {
        std::net::TcpListener::bind(addr)
            .ok()
            .and_then(|l| l.local_addr().ok())
    };
    free("127.0.0.1:8080")
        .or_else(|| free("127.0.0.1:0"))
        .map(|a| a.to_string())
        .unwrap_or_else(|| "127.0.0.1:8080".into())
}

/// Adds the demo's people to the journal (those it has already are kept as they are).
async fn add_people(path: &std::path::Path) -> Result<(), String> {
    let journal = crate::journal::Journal::open(path)
        .await
        .map_err(|e| e.to_string())?;
    let known: Vec<String> = journal
        .people()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let at = crate::engine::Timestamp(jiff::Timestamp::now().as_millisecond());
    let by = crate::journal::users::By::cli("demo");
    for (name, role, code, duress, password) in DEMO_PEOPLE {
        if known.iter().any(|k| k == name) {
            continue;
        }
        journal
            .add_user_numbered(name, *role, code, *duress, None, by, at)
            .await
            .map_err(|e| e.to_string())?;
        journal
            .set_password(name, password, by, at)
            .await
            .map_err(|e| e.to_string())?;
    }
    journal.close().await;
    Ok(())
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> ExitCode {
    let dir = args.dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("picket-demo-{}", std::process::id()))
    });
    let mut config = match config::parse_str(DEMO_SITE) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("the built-in demo site is invalid: {e}");
            return ExitCode::FAILURE;
        }
    };
    config.journal.path = dir.join("journal.db");
    let listen = page_address(args.listen);
    config.web = Some(crate::config::Web {
        listen: listen.clone(),
        public_url: None,
        session_idle_min: 60,
        tls: None,
    });
    if let Err(e) = add_people(&config.journal.path).await {
        eprintln!("picket demo: cannot add the demo's people: {e}");
        return ExitCode::FAILURE;
    }
    println!("picket demo — {}", config.site.name);
    println!("Nhật ký / journal: {}", config.journal.path.display());
    println!("Trang trạng thái / status page: http://{listen}/");
    println!("Đăng nhập / logins (tên / mật khẩu, mã):");
    for (name, role, code, duress, password) in DEMO_PEOPLE {
        let duress = duress.map(|d| format!(", duress {d}")).unwrap_or_default();
        let code = if code.is_empty() {
            "-".to_string()
        } else {
            code.to_string()
        };
        println!(
            "  {:<10} {name} / {password}  (code {code}{duress})",
            role.as_str()
        );
    }
    println!("Dừng bằng Ctrl-C / stop with Ctrl-C\n");
    let timezone = config.site.timezone.clone();
    let simulator = SimulatedSource {
        script: scenario(),
        repeat: true,
        pace: args.pace,
        random: RandomTraffic {
            heartbeats: config.sensors.iter().map(|s| s.id.clone()).collect(),
            flappers: vec!["office_door_contact".into()],
            mean_interval: Duration::from_secs(3),
            seed: args.seed,
        },
        actor: Actor {
            user: "bao-ve-demo".into(),
            role: Role::Guard,
            duress: false,
            origin: Origin::Simulator,
            number: Some(1),
            address: None,
        },
    };
    let options = RunOptions {
        sources: vec![Box::new(simulator)],
        stop_after: args.seconds.map(Duration::from_secs),
        on_effects: Some(Box::new(move |effects: &Effects| {
            print_effects(effects, timezone)
        })),
        ..RunOptions::default()
    };
    match runtime::run(config, options).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("picket demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn step(after_s: f64, action: SimAction) -> ScriptStep {
    ScriptStep {
        after: Duration::from_secs_f64(after_s),
        action,
    }
}

fn reading(sensor: &str, reading: Reading) -> SimAction {
    SimAction::Reading {
        sensor: sensor.into(),
        reading,
    }
}

/// The scenario, about two minutes at pace 1, repeated.
fn scenario() -> Vec<ScriptStep> {
    let motion = |active| Reading::Motion { active };
    vec![
        step(
            3.0,
            SimAction::Command(CommandKind::Arm {
                area: "warehouse".into(),
                mode: Mode::ArmedAway,
                force: false,
            }),
        ),
        step(14.0, reading("fence_n1", motion(true))),
        step(2.0, reading("fence_n1", motion(false))),
        step(4.0, reading("wh_pir_1", motion(true))),
        step(2.0, reading("wh_pir_1", motion(false))),
        step(
            6.0,
            SimAction::AcknowledgeAll {
                note: "Bảo vệ đang kiểm tra / guard on the way".into(),
            },
        ),
        step(
            6.0,
            SimAction::Command(CommandKind::Disarm {
                area: "warehouse".into(),
            }),
        ),
        step(
            2.0,
            SimAction::ResolveAll {
                resolution: Resolution::Real,
                note: "Người trèo rào, đã báo 113 / fence climber, 113 called".into(),
            },
        ),
        step(
            5.0,
            reading("gate_smoke_1", Reading::Smoke { active: true }),
        ),
        step(
            6.0,
            SimAction::AcknowledgeAll {
                note: "Diễn tập PCCC / fire drill".into(),
            },
        ),
        step(
            3.0,
            reading("gate_smoke_1", Reading::Smoke { active: false }),
        ),
        step(
            2.0,
            SimAction::ResolveAll {
                resolution: Resolution::Test,
                note: "Diễn tập / drill".into(),
            },
        ),
        step(5.0, reading("guard_panic", Reading::Panic { active: true })),
        step(
            1.0,
            reading("guard_panic", Reading::Panic { active: false }),
        ),
        step(
            4.0,
            SimAction::AcknowledgeAll {
                note: String::new(),
            },
        ),
        step(
            2.0,
            SimAction::ResolveAll {
                resolution: Resolution::False,
                note: "Bấm nhầm / pressed by mistake".into(),
            },
        ),
        step(
            5.0,
            reading(
                "wh_pir_2",
                Reading::Battery {
                    low: true,
                    percent: Some(7),
                },
            ),
        ),
        step(
            10.0,
            reading(
                "wh_pir_2",
                Reading::Battery {
                    low: false,
                    percent: Some(100),
                },
            ),
        ),
        step(20.0, reading("fence_e1", Reading::Heartbeat)),
    ]
}

/// Prints every event and output change as it is committed.
fn print_effects(effects: &Effects, timezone: String) {
    let mut events = effects.events.subscribe();
    let mut outputs = effects.outputs.subscribe();
    let tz = jiff::tz::TimeZone::get(&timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    tokio::spawn(async move {
        let mut shown = outputs.borrow().clone();
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(p) => println!("{}", line(&p, &tz)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                changed = outputs.changed() => {
                    if changed.is_err() { break; }
                    let now = outputs.borrow_and_update().clone();
                    for (id, pattern) in &now {
                        if shown.get(id) == Some(pattern) {
                            continue;
                        }
                        let (vi, en) = match pattern {
                            OutputPattern::Off => ("tắt", "off"),
                            OutputPattern::Steady => ("bật", "on"),
                            OutputPattern::Temporal3 => ("báo cháy (temporal-3)", "fire (temporal-3)"),
                        };
                        println!("           ▶ {id}: {vi} / {en}");
                    }
                    shown = now;
                }
            }
        }
    });
}

fn line(p: &Arc<Published>, tz: &jiff::tz::TimeZone) -> String {
    let e = &p.event;
    let time = jiff::Timestamp::from_millisecond(e.at.0)
        .map(|t| t.to_zoned(tz.clone()).strftime("%H:%M:%S").to_string())
        .unwrap_or_default();
    let code = e
        .code
        .map(|c| format!("[{c} {}]", e.qualifier.digit()))
        .unwrap_or_else(|| "       ".into());
    let seq = p
        .seq
        .map(|s| format!("#{s}"))
        .unwrap_or_else(|| "#?".into());
    format!("{time} {seq:>6} {code} {} | {}", e.message_vi, e.message_en)
}
