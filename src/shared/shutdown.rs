//! Graceful shutdown: one signal that every task watches, in the manner of mini-redis.
//! Every read a task makes races [`Shutdown::wait`] in `select!`.

use tokio::sync::watch;

/// Sends the stop signal.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Receives the stop signal; cheap to clone into every task.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new trigger and its first receiver.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Tells every task to stop.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Has the stop signal been given?
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the stop signal has been given (or its sender is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
