//! systemd integration: READY, STOPPING and WATCHDOG notifications. Without
//! `NOTIFY_SOCKET` (not under systemd) these do nothing.

use sd_notify::NotifyState;
use std::time::Duration;

/// Start-up is complete: journal open, engine restored, sources listening.
pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("running")]);
}

/// Shutdown has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("draining")]);
}

/// The engine loop is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog (half its timeout), if systemd asked for one.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!(error = %err, "could not notify systemd");
    }
}
