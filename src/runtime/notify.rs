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

/// A new configuration is being taken up (READY follows once it runs).
pub fn reloading() {
    send(&[NotifyState::Reloading, NotifyState::Status("reloading")]);
}

/// The engine loop is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// The watchdog timeout systemd set (`WatchdogSec=`), if it asked for one.
pub fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!(error = %err, "could not notify systemd");
    }
}
