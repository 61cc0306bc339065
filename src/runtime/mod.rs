//! The running daemon: opens the journal, restores the engine, starts the engine task and
//! the sources, tells systemd it is ready, and shuts down in order on a signal — the first
//! SIGTERM/SIGINT drains, a second one exits at once. SIGHUP re-reads the configuration:
//! a valid one replaces the running daemon after the same drain ([`Ended::Reload`]); one
//! that does not load is named in the log, and the running one goes on.

mod delivery;
mod engine_task;
pub mod logging;
pub mod malloc;
pub mod notify;
pub mod scheduled_reports;
pub mod supervisor;
mod watchdog;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub use crate::shared::changes::{ChangeSet, Changes, PanelView, Published};
pub use crate::shared::effects::{Effects, EngineStats};
pub use crate::shared::engine_handle::{EngineHandle, Receipt, SubmitError, WeakEngineHandle};
pub use crate::shared::health::Health;
pub use crate::shared::shutdown::{Shutdown, ShutdownTrigger, channel as shutdown_channel};
pub use engine_task::MAX_BATCH;

use crate::config::Config;
use crate::engine::{Engine, Site, SystemClock};
use crate::escalation::EvidenceLinks;
use crate::journal::{Journal, JournalError, Writer};
use crate::shared::health::TaskKind;
use crate::sources::camera::CameraSource;
use crate::sources::camera::evidence::EvidenceRetention;
use crate::sources::control::ControlSource;
use crate::sources::feed::FeedSource;
use crate::sources::mqtt::MqttSource;
use crate::sources::{Source, SourceContext, SourceError, supervise};
use supervisor::{Supervised, Supervisor};
use tokio::task::JoinSet;

/// Why the daemon could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration asks for something this build cannot do.
    #[error("configuration: {0}")]
    Config(String),
    /// The journal could not be opened or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A source could not start.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Signal handling could not be set up.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The web server could not listen.
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    /// The evidence link key could not be read or made.
    #[error(transparent)]
    LinkKey(#[from] crate::escalation::evidence::LinkKeyError),
    /// The engine task panicked: the daemon stops so systemd starts it again from the
    /// journal.
    #[error("the engine task stopped on a fault ({0}); exiting so that picket is restarted")]
    EngineFault(String),
}

/// Reads the configuration again, on SIGHUP: the new one, or why it cannot be used (with
/// its key and line).
pub type ReloadCheck = Box<dyn FnMut() -> Result<Config, String> + Send>;

/// How a run ended well.
#[derive(Debug)]
pub enum Ended {
    /// Stopped on a signal or when asked: the process exits.
    Stopped,
    /// SIGHUP brought a valid new configuration: run again with it.
    Reload(Box<Config>),
}

/// A hook that sees the effects channels before the first input.
pub type EffectsHook = Box<dyn FnOnce(&Effects) + Send>;

/// How to run, beyond the configuration.
#[derive(Default)]
pub struct RunOptions {
    /// Extra sources (the demo's scripted simulator).
    pub sources: Vec<Box<dyn Source>>,
    /// Stop by itself after this long (demo, tests).
    pub stop_after: Option<Duration>,
    /// Called once the effects exist, before any input is processed (the demo's printer).
    pub on_effects: Option<EffectsHook>,
    /// Stop when this resolves (embedding, tests).
    pub stop: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Fault hooks a test arms to make tasks panic (none by default).
    pub faults: crate::fault::FaultHooks,
    /// How panicked tasks are restarted (tests shorten it).
    pub restart_timing: supervisor::RestartTiming,
    /// Re-reads the configuration on SIGHUP; without it SIGHUP is logged and ignored.
    pub reload: Option<ReloadCheck>,
}

/// The signer of evidence links, when the web server has a public address.
fn evidence_links(config: &Config) -> Result<Option<EvidenceLinks>, RunError> {
    let Some(public_url) = config.web.as_ref().and_then(|w| w.public_url.as_ref()) else {
        return Ok(None);
    };
    let key = EvidenceLinks::load_or_create_key(&config.evidence_link_key_path())?;
    Ok(Some(EvidenceLinks::new(public_url, key)))
}

/// Runs the daemon until a signal (or `stop_after`); a SIGHUP with a valid new
/// configuration also ends it, as [`Ended::Reload`], for the caller to run it again.
pub async fn run(config: Config, mut options: RunOptions) -> Result<Ended, RunError> {
    let gpio = crate::gpio::backend(&config).map_err(|e| RunError::Config(e.0))?;
    let journal = Journal::open(&config.journal.path).await?;
    let snapshot = journal.load_snapshot().await?;
    let site = Arc::new(Site::from_config(&config));
    let engine = Engine::restore(site.clone(), SystemClock::new(), snapshot);
    let open_alarms = engine.open_alarms().count();
    let mut writer = Writer::new(journal.clone()).await?;
    let links = evidence_links(&config)?;
    let policy = delivery::install_planner(&config, links.as_ref(), &mut writer);
    let shadow = writer.shadow();
    let web_listener = match &config.web {
        Some(web) => Some(crate::web::bind(&web.listen).await?),
        None => None,
    };
    let page = page_address(config.web.as_ref(), web_listener.as_ref());
    let effects = Effects::new(&engine);
    let mut sources = options.sources;
    sources.extend(configured_sources(&config, &site, &effects, &journal)?);
    if let Some(source) = gpio
        .clone()
        .and_then(|b| crate::gpio::inputs::GpioSource::new(b, &config))
    {
        sources.push(Box::new(source));
    }
    if let Some(hook) = options.on_effects.take() {
        hook(&effects);
    }
    let faults = options.faults.clone();
    let (task, handle) = engine_task::spawn_parts(
        engine,
        writer,
        effects.clone(),
        watchdog::Watchdog::from_systemd(),
    );
    let (trigger, shutdown) = shutdown_channel();
    let supervisor = Supervisor::new(
        effects.health.tasks.clone(),
        handle.downgrade(),
        Arc::new(SystemClock::new()),
        shutdown.clone(),
        faults.clone(),
    )
    .with_timing(options.restart_timing);
    // The event log outlives the drain: it stops once the engine has ended.
    let (log_stop, log_shutdown) = shutdown_channel();
    let mut log_task = JoinSet::new();
    spawn_event_log(&supervisor, &mut log_task, &effects, log_shutdown);
    let mut engine_task = tokio::spawn(task.with_faults(faults.clone()).run());
    let mut service_tasks = JoinSet::new();
    let mut output_tasks = JoinSet::new();
    if let Some(backend) = &gpio {
        let drivers = crate::gpio::outputs::drivers(
            backend.as_ref(),
            &config,
            effects.outputs.subscribe(),
            shutdown.clone(),
        )
        .map_err(|e| RunError::Config(e.0))?;
        for driver in drivers {
            let name = format!("service:output:{}", driver.id);
            supervisor.spawn(
                &mut output_tasks,
                Supervised {
                    name,
                    kind: TaskKind::Service,
                    channel: None,
                },
                move || driver.run(),
            );
        }
    }
    let mut channel_tasks = delivery::spawn(delivery::DeliveryDeps {
        config: &config,
        policy: &policy,
        journal: &journal,
        shadow: &shadow,
        effects: &effects,
        engine: &handle,
        shutdown: &shutdown,
        supervisor: &supervisor,
        faults: &faults,
    })?;
    if let Some(listener) = web_listener {
        let tls = match config.web.as_ref().and_then(|w| w.tls.as_ref()) {
            Some(tls) => Some(crate::web::server_config(tls).map_err(RunError::Config)?),
            None => None,
        };
        let state = crate::web::WebState {
            effects: effects.clone(),
            evidence: links.clone().map(|links| crate::web::EvidenceServer {
                journal: journal.clone(),
                links,
            }),
            page: Some(Arc::new(crate::web::PageState::new(
                &config,
                site.clone(),
                journal.clone(),
                handle.downgrade(),
            ))),
            stopping: shutdown.clone(),
        };
        let listener = listener.into_std().map_err(|source| {
            RunError::Web(crate::web::WebError {
                listen: config
                    .web
                    .as_ref()
                    .map(|w| w.listen.clone())
                    .unwrap_or_default(),
                source,
            })
        })?;
        let shutdown = shutdown.clone();
        supervisor.spawn(
            &mut service_tasks,
            Supervised {
                name: "service:web".into(),
                kind: TaskKind::Service,
                channel: None,
            },
            move || {
                crate::web::serve_again(
                    listener.try_clone(),
                    state.clone(),
                    tls.clone(),
                    shutdown.clone(),
                )
            },
        );
    }
    let mut source_tasks = JoinSet::new();
    for source in sources {
        let name = format!("source:{}", source.name());
        let source = Arc::new(tokio::sync::Mutex::new(source));
        let ctx = SourceContext {
            engine: handle.clone(),
            shutdown: shutdown.clone(),
        };
        supervisor.spawn(
            &mut source_tasks,
            Supervised {
                name,
                kind: TaskKind::Source,
                channel: None,
            },
            move || {
                let (source, ctx) = (source.clone(), ctx.clone());
                async move {
                    let mut source = source.lock_owned().await;
                    supervise(source.as_mut(), ctx).await;
                }
            },
        );
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(RunError::Signals)?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(RunError::Signals)?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(RunError::Signals)?;
    notify::ready();
    tracing::info!(
        journal = %journal.path().display(),
        open_alarms,
        page = %page,
        "picket running"
    );
    let stop_after = async {
        match options.stop_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let stop = async {
        match options.stop.take() {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop_after, stop);
    let ended = loop {
        tokio::select! {
            _ = terminate.recv() => {
                tracing::info!("SIGTERM: draining (send again to exit at once)");
                break Ended::Stopped;
            }
            _ = interrupt.recv() => {
                tracing::info!("SIGINT: draining (send again to exit at once)");
                break Ended::Stopped;
            }
            _ = hangup.recv() => match options.reload.as_mut().map(|check| check()) {
                Some(Ok(config)) => {
                    tracing::info!("SIGHUP: the configuration is valid; draining to run with it");
                    notify::reloading();
                    break Ended::Reload(Box::new(config));
                }
                Some(Err(e)) => tracing::error!(
                    error = %e,
                    "SIGHUP: the configuration does not load; the running one goes on"
                ),
                None => tracing::warn!("SIGHUP: no configuration file to read again; ignored"),
            },
            _ = &mut stop_after => {
                tracing::info!("run time over: draining");
                break Ended::Stopped;
            }
            _ = &mut stop => {
                tracing::info!("asked to stop: draining");
                break Ended::Stopped;
            }
            ended = &mut engine_task => {
                // The engine only ends by itself on a panic: nothing could be committed any
                // more, so stop everything and let systemd start picket again.
                let why = match ended {
                    Err(e) if e.is_panic() => crate::text::panic_message(e.into_panic()),
                    Err(e) => e.to_string(),
                    Ok(()) => "it ended while the daemon was running".to_string(),
                };
                tracing::error!(panic = %why, "the engine task stopped; exiting so that picket is restarted");
                trigger.trigger();
                notify::stopping();
                return Err(RunError::EngineFault(why));
            }
        }
    };
    if matches!(ended, Ended::Stopped) {
        notify::stopping();
    }
    // A second signal during the drain exits at once; this run's watch on that ends with it.
    let second_signal = tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::warn!("second signal: exiting at once");
        std::process::exit(130);
    });
    trigger.trigger();
    drop(handle);
    drop(supervisor);
    while source_tasks.join_next().await.is_some() {}
    while channel_tasks.join_next().await.is_some() {}
    while service_tasks.join_next().await.is_some() {}
    let _ = engine_task.await;
    log_stop.trigger();
    while log_task.join_next().await.is_some() {}
    while output_tasks.join_next().await.is_some() {}
    journal.close().await;
    second_signal.abort();
    tracing::info!("picket stopped");
    Ok(ended)
}

/// Starts the engine task on its own; for benchmarks and embedding. The task ends once
/// every handle is dropped.
pub fn spawn_engine<C: crate::engine::Clock + 'static>(
    engine: Engine<C>,
    writer: Writer,
    effects: Effects,
) -> (tokio::task::JoinHandle<()>, EngineHandle) {
    let (task, handle) = engine_task::spawn_parts(engine, writer, effects, None);
    (tokio::spawn(task.run()), handle)
}

/// Where the guards' page listens, for the start-up line an installer reads first.
fn page_address(
    web: Option<&crate::config::Web>,
    listener: Option<&tokio::net::TcpListener>,
) -> String {
    match (web, listener) {
        (Some(web), Some(listener)) => {
            let scheme = if web.tls.is_some() { "https" } else { "http" };
            match listener.local_addr() {
                Ok(at) => format!("{scheme}://{at}"),
                Err(_) => format!("{scheme}://{}", web.listen),
            }
        }
        _ => "off (no [web] in the configuration)".to_string(),
    }
}

/// Sources named by sensor bindings that this build has.
fn configured_sources(
    config: &Config,
    site: &Arc<Site>,
    effects: &Effects,
    journal: &Journal,
) -> Result<Vec<Box<dyn Source>>, RunError> {
    let bound = |kind: &str| -> Vec<String> {
        config
            .sensors
            .iter()
            .filter(|s| s.source.kind_name() == kind)
            .map(|s| s.id.clone())
            .collect()
    };
    let mut sources: Vec<Box<dyn Source>> = vec![Box::new(ControlSource::bind(
        &config.control_socket(),
        journal.clone(),
    )?)];
    if let Some(feed) = &config.feed {
        let sensors: BTreeSet<String> = bound("feed").into_iter().collect();
        let feed = FeedSource::bind(&feed.socket, sensors)?;
        let _ = effects.health.feed.set(feed.stats.clone());
        sources.push(Box::new(feed));
    }
    let deps = crate::sources::mqtt::interface::InterfaceDeps {
        site: site.clone(),
        effects: effects.clone(),
        journal: journal.clone(),
    };
    if let Some(mqtt) = MqttSource::from_config(config, Some(deps)) {
        let _ = effects.health.mqtt.set(mqtt.health.clone());
        let _ = effects.health.mqtt_commands.set(mqtt.commands.clone());
        sources.push(Box::new(mqtt));
    }
    let cameras = CameraSource::from_config(config, &effects.changes, journal)
        .map_err(|e| RunError::Config(e.to_string()))?;
    if !cameras.is_empty() {
        sources.push(Box::new(EvidenceRetention {
            journal: journal.clone(),
            dir: config.evidence_dir(),
            max_age: Duration::from_secs(u64::from(config.evidence.retention_days) * 86_400),
            max_bytes: u64::from(config.evidence.max_total_mb) * 1024 * 1024,
        }));
    }
    let _ = effects
        .health
        .cameras
        .set(cameras.iter().map(|c| c.health.clone()).collect());
    for camera in cameras {
        sources.push(Box::new(camera));
    }
    Ok(sources)
}

/// Logs every event, so `journalctl -u picket` reads like the panel's history. Its first
/// run subscribes now, before the engine starts, so it misses nothing; a run after a
/// panic picks up from the next event.
fn spawn_event_log(
    supervisor: &Supervisor,
    tasks: &mut JoinSet<()>,
    effects: &Effects,
    shutdown: Shutdown,
) {
    let mut first = Some((effects.events.subscribe(), effects.outputs.subscribe()));
    let effects = effects.clone();
    supervisor.spawn(
        tasks,
        Supervised {
            name: "service:event-log".into(),
            kind: TaskKind::Service,
            channel: None,
        },
        move || {
            let (events, outputs) = first
                .take()
                .unwrap_or_else(|| (effects.events.subscribe(), effects.outputs.subscribe()));
            log_events(events, outputs, shutdown.clone())
        },
    );
}

async fn log_events(
    mut events: tokio::sync::broadcast::Receiver<Arc<Published>>,
    mut outputs: tokio::sync::watch::Receiver<
        std::collections::BTreeMap<String, crate::engine::OutputPattern>,
    >,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            e = events.recv() => match e {
                Ok(p) => tracing::info!(
                    seq = p.seq,
                    kind = p.event.kind.as_str(),
                    code = p.event.code.map(|c| c.0),
                    area = p.event.area.as_deref(),
                    zone = p.event.zone.as_deref(),
                    "{} | {}",
                    p.event.message_vi,
                    p.event.message_en
                ),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event log fell behind");
                }
                Err(_) => break,
            },
            changed = outputs.changed() => {
                if changed.is_err() { break; }
                let now = outputs.borrow_and_update().clone();
                tracing::info!(outputs = ?now, "outputs");
            }
        }
    }
}
