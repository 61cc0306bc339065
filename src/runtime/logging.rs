//! Log output: to the systemd journal (with priorities and fields) when run under
//! systemd, to standard error otherwise. `RUST_LOG` filters, default `info`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `default` is the filter when `RUST_LOG` is unset.
/// Panics are logged through it too, escaped on one line (see [`log_panics`]).
pub fn init(default: &str) {
    log_panics();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    if under_systemd && let Ok(journald) = tracing_journald::layer() {
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(journald.with_syslog_identifier("picket".into()))
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Replaces Rust's default panic report (raw text on standard error, where a panic
/// message built from outside input could forge log lines) with one escaped log line
/// naming the thread and the place. The daemon's supervisor then reports and restarts
/// the task that panicked.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            at = place,
            panic = %crate::text::for_log(&message),
            "panic"
        );
    }));
}
