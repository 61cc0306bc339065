//! The way in to the engine that every source, channel, keypad and page holds: inputs go
//! to the engine task, and each caller hears back once its input's outcome is committed
//! (or why it was not). The engine task holds the receiving end
//! ([`crate::runtime`] makes both).

use tokio::sync::{mpsc, oneshot};

use crate::engine::{Command, Input, Observation, Refusal};
use crate::shared::changes::Published;

/// Why an input was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The engine refused it (unknown sensor, wrong state for a command).
    #[error("refused: {0}")]
    Refused(Refusal),
    /// It took effect but could not be committed; the sender should redeliver later.
    #[error("not committed to the journal: {0}")]
    NotCommitted(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

/// What an accepted input produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receipt {
    /// The events it produced, with their journal sequence numbers.
    pub events: Vec<Published>,
}

/// Where the outcome of one input is told.
pub(crate) type Reply = oneshot::Sender<Result<Receipt, SubmitError>>;

/// One input and who waits for it.
pub(crate) struct Request {
    pub(crate) input: Input,
    pub(crate) reply: Option<Reply>,
}

/// What travels to the engine task: one input, or the inputs of one message (a sensor
/// payload's readings), which arrive together and so are committed in one transaction.
pub(crate) enum Envelope {
    /// One input.
    One(Request),
    /// Several, kept together.
    Many(Vec<Request>),
}

impl Envelope {
    /// Its requests, appended to `into`.
    pub(crate) fn into_requests(self, into: &mut Vec<Request>) {
        match self {
            Envelope::One(r) => into.push(r),
            Envelope::Many(rs) => into.extend(rs),
        }
    }
}

/// A cloneable way in to the engine. The engine task ends once every handle is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    pub(crate) tx: mpsc::Sender<Envelope>,
}

/// A way in to the engine that does not keep it running: for supervisors, which must not
/// hold the engine open at shutdown.
#[derive(Clone)]
pub struct WeakEngineHandle {
    tx: mpsc::WeakSender<Envelope>,
}

impl WeakEngineHandle {
    /// A handle, while the engine still runs.
    pub fn upgrade(&self) -> Option<EngineHandle> {
        self.tx.upgrade().map(|tx| EngineHandle { tx })
    }
}

/// A handle whose inputs arrive on the returned receiver, each answered with an empty
/// receipt: for unit tests of tasks that submit.
#[cfg(test)]
pub(crate) fn handle_for_tests() -> (EngineHandle, mpsc::Receiver<Input>) {
    let (tx, mut rx) = mpsc::channel::<Envelope>(64);
    let (inputs_tx, inputs) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Some(envelope) = rx.recv().await {
            let mut requests = Vec::new();
            envelope.into_requests(&mut requests);
            for req in requests {
                if let Some(reply) = req.reply {
                    let _ = reply.send(Ok(Receipt::default()));
                }
                if inputs_tx.send(req.input).await.is_err() {
                    return;
                }
            }
        }
    });
    (EngineHandle { tx }, inputs)
}

impl EngineHandle {
    /// A handle that does not keep the engine running.
    pub fn downgrade(&self) -> WeakEngineHandle {
        WeakEngineHandle {
            tx: self.tx.downgrade(),
        }
    }

    /// Submits an observation; resolves once its outcome is committed.
    pub async fn observe(&self, obs: Observation) -> Result<Receipt, SubmitError> {
        self.submit(Input::Observation(obs)).await
    }

    /// Submits a verified command; resolves once its outcome is committed.
    pub async fn command(&self, cmd: Command) -> Result<Receipt, SubmitError> {
        self.submit(Input::Command(cmd)).await
    }

    /// Submits without waiting for the commit; the returned receiver resolves then.
    /// Lets a source pipeline many inputs into one transaction.
    pub async fn submit_nowait(
        &self,
        input: Input,
    ) -> oneshot::Receiver<Result<Receipt, SubmitError>> {
        let (reply, rx) = oneshot::channel();
        let _ = self
            .tx
            .send(Envelope::One(Request {
                input,
                reply: Some(reply),
            }))
            .await;
        rx
    }

    /// Submits the inputs of one message together, so they are committed in one
    /// transaction; a receiver per input, as [`EngineHandle::submit_nowait`].
    pub async fn submit_all_nowait(
        &self,
        inputs: Vec<Input>,
    ) -> Vec<oneshot::Receiver<Result<Receipt, SubmitError>>> {
        let mut receivers = Vec::with_capacity(inputs.len());
        let requests = inputs
            .into_iter()
            .map(|input| {
                let (reply, rx) = oneshot::channel();
                receivers.push(rx);
                Request {
                    input,
                    reply: Some(reply),
                }
            })
            .collect();
        let _ = self.tx.send(Envelope::Many(requests)).await;
        receivers
    }

    /// Submits any input; resolves once its outcome is committed.
    pub async fn submit(&self, input: Input) -> Result<Receipt, SubmitError> {
        self.submit_nowait(input)
            .await
            .await
            .unwrap_or(Err(SubmitError::Stopped))
    }
}
