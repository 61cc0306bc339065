//! `/stream`: the page's live updates, as Server-Sent Events read from the daemon's one
//! change stream (every journaled event, every alarm record as it changes). Each message
//! is a `change` event with a small JSON body; the page's script then fetches the
//! fragment it shows. A reader that falls behind is told to `resync`.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

use super::WebState;
use super::auth::Who;
use crate::engine::Alarm;
use crate::runtime::Published;

/// What one stream reads.
struct Feeds {
    events: broadcast::Receiver<Arc<Published>>,
    alarms: broadcast::Receiver<Arc<Alarm>>,
    stopping: crate::runtime::Shutdown,
}

/// The message for one change.
fn message(body: serde_json::Value) -> Event {
    Event::default().event("change").data(body.to_string())
}

impl Feeds {
    /// The next message, or `None` when the daemon stops.
    async fn next(&mut self) -> Option<Event> {
        let body = tokio::select! {
            _ = self.stopping.wait() => return None,
            e = self.events.recv() => match e {
                Ok(p) => json!({
                    "type": "event",
                    "seq": p.seq,
                    "kind": p.event.kind.as_str(),
                    "code": p.event.code.map(|c| c.0),
                    "alarm": p.event.alarm,
                }),
                Err(RecvError::Lagged(_)) => json!({"type": "resync"}),
                Err(RecvError::Closed) => return None,
            },
            a = self.alarms.recv() => match a {
                Ok(a) => json!({
                    "type": "alarm",
                    "id": a.id,
                    "state": a.state.as_str(),
                    "confirmed": a.confirmed,
                    "acknowledged_by": a.acknowledged_by,
                }),
                Err(RecvError::Lagged(_)) => json!({"type": "resync"}),
                Err(RecvError::Closed) => return None,
            },
        };
        Some(message(body))
    }
}

/// `GET /stream`.
pub async fn stream(
    State(state): State<WebState>,
    _who: Who,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feeds = Feeds {
        events: state.effects.events.subscribe(),
        alarms: state.effects.alarms.subscribe(),
        stopping: state.stopping.clone(),
    };
    let stream = futures_util::stream::unfold(feeds, |mut feeds| async move {
        feeds.next().await.map(|e| (Ok(e), feeds))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
