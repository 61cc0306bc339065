//! Every supervised task's status: running, or dead after a panic, and its panics.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::engine::ContactId;
use crate::shared::lock::lock;

/// What kind of task it is, which decides the trouble code its panic raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A channel's outbox worker (354: events cannot be communicated on it).
    Channel,
    /// A source of observations (380: its sensors are not heard).
    Source,
    /// A service of the daemon: web server, event log, outputs, test reports (300).
    Service,
}

impl TaskKind {
    /// Stable name, for metrics and the page.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Channel => "channel",
            TaskKind::Source => "source",
            TaskKind::Service => "service",
        }
    }

    /// The trouble its panic raises.
    pub(crate) fn trouble_code(self) -> ContactId {
        match self {
            TaskKind::Channel => ContactId(354),
            TaskKind::Source => ContactId(380),
            TaskKind::Service => ContactId::SYSTEM_TROUBLE,
        }
    }
}

/// One supervised task as health readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    /// Its name: `channel:<id>`, `source:<name>`, `service:<name>`.
    pub name: String,
    /// Its kind.
    pub kind: TaskKind,
    /// False from a panic until it has been started again.
    pub running: bool,
    /// Panics since the daemon started.
    pub panics: u64,
    /// What the last panic said (escaped and cut).
    pub last_panic: Option<String>,
    /// When it was, ms since the epoch.
    pub last_panic_ms: Option<i64>,
}

/// Every supervised task's status, shared with `/healthz`, `/metrics` and the page.
#[derive(Debug, Default)]
pub struct TaskBoard {
    /// By task name.
    tasks: Mutex<BTreeMap<String, TaskStatus>>,
}

impl TaskBoard {
    /// Every task, by name.
    pub fn snapshot(&self) -> Vec<TaskStatus> {
        lock(&self.tasks).values().cloned().collect()
    }

    /// Names of the tasks that are dead now (panicked, not yet restarted).
    pub fn down(&self) -> Vec<String> {
        lock(&self.tasks)
            .values()
            .filter(|t| !t.running)
            .map(|t| t.name.clone())
            .collect()
    }

    /// Changes one task's status, adding it if new.
    pub(crate) fn update(&self, name: &str, kind: TaskKind, change: impl FnOnce(&mut TaskStatus)) {
        let mut tasks = lock(&self.tasks);
        let status = tasks.entry(name.to_string()).or_insert_with(|| TaskStatus {
            name: name.to_string(),
            kind,
            running: true,
            panics: 0,
            last_panic: None,
            last_panic_ms: None,
        });
        change(status);
    }
}
