//! picket running inside the test process, with its effects in reach.

use picket::runtime::{self, Effects, EngineHandle, Published, RunOptions};
use picket::sources::{Source, SourceContext, SourceFuture};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// picket running in this process; stops when dropped.
pub struct Picket {
    pub events: broadcast::Receiver<Arc<Published>>,
    pub effects: Effects,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<runtime::Ended, runtime::RunError>>,
}

impl Picket {
    pub async fn start(config: picket::config::Config) -> Picket {
        Picket::start_with(config, Vec::new()).await
    }

    /// Starts picket with a console: a way in to its engine, as a keypad or the page has.
    /// Drop the handle before `stop`: the engine runs until every handle is gone.
    pub async fn start_with_console(config: picket::config::Config) -> (Picket, EngineHandle) {
        let (tx, rx) = oneshot::channel();
        let console = Console { handle: Some(tx) };
        let picket = Picket::start_with(config, vec![Box::new(console)]).await;
        (picket, rx.await.expect("the console source ran"))
    }

    async fn start_with(config: picket::config::Config, sources: Vec<Box<dyn Source>>) -> Picket {
        Picket::start_with_options(
            config,
            RunOptions {
                sources,
                ..RunOptions::default()
            },
        )
        .await
    }

    /// Starts picket with fault hooks a test arms, and quick restarts of panicked tasks.
    pub async fn start_with_faults(
        config: picket::config::Config,
        faults: picket::fault::FaultHooks,
    ) -> Picket {
        Picket::start_with_options(
            config,
            RunOptions {
                faults,
                restart_timing: picket::runtime::supervisor::RestartTiming {
                    first: Duration::from_millis(200),
                    cap: Duration::from_secs(1),
                    stable_after: Duration::from_secs(2),
                },
                ..RunOptions::default()
            },
        )
        .await
    }

    async fn start_with_options(config: picket::config::Config, mut options: RunOptions) -> Picket {
        let (tx, rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        options.on_effects = Some(Box::new(move |e: &Effects| {
            let _ = tx.send((e.events.subscribe(), e.clone()));
        }));
        options.stop = Some(stop_rx);
        let task = tokio::spawn(async move { runtime::run(config, options).await });
        let (events, effects) = rx.await.unwrap();
        Picket {
            events,
            effects,
            stop: Some(stop_tx),
            task,
        }
    }

    /// Waits for an event matching `pred`.
    pub async fn expect(
        &mut self,
        what: &str,
        pred: impl Fn(&Published) -> bool,
    ) -> Arc<Published> {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let p = self.events.recv().await.expect("events");
                if pred(&p) {
                    return p;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event: {what}"))
    }

    /// Every event published and not yet looked at.
    pub fn drain(&mut self) -> Vec<Arc<Published>> {
        let mut out = Vec::new();
        while let Ok(p) = self.events.try_recv() {
            out.push(p);
        }
        out
    }

    /// The MQTT source's health.
    pub fn mqtt(&self) -> Arc<picket::sources::mqtt::MqttHealth> {
        self.effects
            .health
            .mqtt
            .get()
            .cloned()
            .expect("MQTT source configured")
    }

    /// The MQTT command counters.
    pub fn mqtt_commands(&self) -> Arc<picket::sources::mqtt::interface::InterfaceStats> {
        self.effects
            .health
            .mqtt_commands
            .get()
            .cloned()
            .expect("MQTT interface configured")
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().expect("picket run");
    }

    /// Waits for picket to end by itself, and how it ended.
    pub async fn ended(self) -> Result<runtime::Ended, runtime::RunError> {
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("picket did not end by itself")
            .unwrap()
    }
}

/// A source that hands the test its way in to the engine, then waits for shutdown.
struct Console {
    handle: Option<oneshot::Sender<EngineHandle>>,
}

impl Source for Console {
    fn name(&self) -> String {
        "console".into()
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            if let Some(handle) = self.handle.take() {
                let _ = handle.send(ctx.engine.clone());
            }
            ctx.shutdown.clone().wait().await;
            Ok(())
        })
    }
}
