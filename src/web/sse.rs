//! `/stream`: the page's live updates, as Server-Sent Events read from the daemon's one
//! change stream ([`crate::shared::changes`]: every journaled event, every alarm record
//! as it changes, in commit order). Each message is a `change` event with a small JSON
//! body; the page's script then fetches the fragment it shows. A page whose connection
//! falls behind the stream (a phone on a weak signal) is told to `resync` and goes on
//! from there; the daemon holds no more for it than the stream's bounded buffer.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use super::WebState;
use super::auth::Who;
use crate::shared::changes::ChangeSet;
use crate::shared::changes::{Change, ChangeReader};

/// What one stream reads: the change stream, and the messages of the set being sent.
struct Feeds {
    changes: ChangeReader,
    queued: VecDeque<serde_json::Value>,
    stopping: crate::shared::shutdown::Shutdown,
}

/// The message for one change.
fn message(body: serde_json::Value) -> Event {
    Event::default().event("change").data(body.to_string())
}

/// One commit's messages, in order: its events, then the alarm records it changed.
fn messages_of(set: &ChangeSet, into: &mut VecDeque<serde_json::Value>) {
    into.extend(set.events.iter().map(|p| {
        json!({
            "type": "event",
            "seq": p.seq,
            "kind": p.event.kind.as_str(),
            "code": p.event.code.map(|c| c.0),
            "alarm": p.event.alarm,
        })
    }));
    into.extend(set.alarms.iter().map(|a| {
        json!({
            "type": "alarm",
            "id": a.id,
            "state": a.state.as_str(),
            "confirmed": a.confirmed,
            "acknowledged_by": a.acknowledged_by,
        })
    }));
}

impl Feeds {
    /// The next message, or `None` when the daemon stops.
    async fn next(&mut self) -> Option<Event> {
        self.next_body().await.map(message)
    }

    /// The next message's body.
    async fn next_body(&mut self) -> Option<serde_json::Value> {
        loop {
            if let Some(body) = self.queued.pop_front() {
                return Some(body);
            }
            let change = tokio::select! {
                _ = self.stopping.wait() => return None,
                change = self.changes.next() => change?,
            };
            match change {
                Change::Snapshot(_) => self.queued.push_back(json!({"type": "resync"})),
                Change::Set(set) => messages_of(&set, &mut self.queued),
            }
        }
    }
}

/// `GET /stream`.
pub async fn stream(
    State(state): State<WebState>,
    _who: Who,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feeds = Feeds {
        // The page already shows the panel as it was when it connected.
        changes: state.effects.changes.reader_after_now(),
        queued: VecDeque::new(),
        stopping: state.stopping.clone(),
    };
    let stream = futures_util::stream::unfold(feeds, |mut feeds| async move {
        feeds.next().await.map(|e| (Ok(e), feeds))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Category, Event, EventKind, Qualifier, Timestamp};
    use crate::shared::changes::Published;
    use crate::shared::changes::{BUFFERED, Changes, PanelView};
    use std::sync::Arc;

    fn one_event(seq: i64) -> ChangeSet {
        let event = Event {
            at: Timestamp(1_790_000_000_000 + seq),
            kind: EventKind::SensorChanged,
            category: Category::Status,
            code: None,
            qualifier: Qualifier::Status,
            area: None,
            zone: None,
            zone_number: None,
            area_number: None,
            sensor: Some("door".into()),
            alarm: None,
            user: None,
            message_vi: "Cửa mở".into(),
            message_en: "Door opened".into(),
            source_ref: None,
        };
        ChangeSet {
            events: vec![Arc::new(Published {
                seq: Some(seq),
                event,
            })],
            ..ChangeSet::default()
        }
    }

    async fn next_body(feeds: &mut Feeds) -> serde_json::Value {
        feeds.next_body().await.expect("the stream goes on")
    }

    /// A page whose connection stalls (a phone on a weak signal) falls behind the change
    /// stream; the daemon keeps no more for it than the stream's buffer. It is told to
    /// `resync` (the page then fetches what it shows, as it stands), and the changes after
    /// that come in commit order.
    #[tokio::test]
    async fn a_page_far_behind_is_told_to_resync_then_gets_each_change_in_order() {
        let changes = Changes::new(PanelView::default());
        let (_trigger, stopping) = crate::shared::shutdown::channel();
        let mut feeds = Feeds {
            changes: changes.reader_after_now(),
            queued: VecDeque::new(),
            stopping,
        };
        changes.publish(one_event(1), &[]);
        assert_eq!(
            next_body(&mut feeds).await["seq"],
            1,
            "a change, as it comes"
        );
        for seq in 2..(BUFFERED as i64 * 3) {
            changes.publish(one_event(seq), &[]);
        }
        assert_eq!(next_body(&mut feeds).await["type"], "resync");
        let after = BUFFERED as i64 * 3;
        for seq in after..after + 5 {
            changes.publish(one_event(seq), &[]);
        }
        for seq in after..after + 5 {
            assert_eq!(next_body(&mut feeds).await["seq"], seq, "in commit order");
        }
    }
}
