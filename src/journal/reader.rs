//! Reading the journal back: the engine's snapshot at start-up, recent history and alarms.

use sqlx::Row;

use super::chain::EventRow;
use super::{Journal, JournalError};
use crate::engine::state::{AreaState, SensorState};
use crate::engine::{Alarm, AlarmState, Category, ContactId, Resolution, Snapshot, Timestamp};

impl Journal {
    /// When the last periodic test report (602) was journaled.
    pub async fn last_test_report_ms(&self) -> Result<Option<i64>, JournalError> {
        let (at,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(at_ms) FROM events WHERE kind = 'test_report'")
                .fetch_one(self.pool())
                .await
                .map_err(|e| self.err("reading the last test report", e))?;
        Ok(at)
    }

    /// Everything the engine needs to continue after a restart.
    pub async fn load_snapshot(&self) -> Result<Snapshot, JournalError> {
        let doing = "loading the engine state";
        let areas: Vec<(String,)> = sqlx::query_as("SELECT state_json FROM area_state")
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err(doing, e))?;
        let areas = areas
            .into_iter()
            .filter_map(|(json,)| serde_json::from_str::<AreaState>(&json).ok())
            .collect();
        let sensors: Vec<(String, Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT sensor, state_json, last_seen_ms FROM sensor_state")
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err(doing, e))?;
        let sensors = sensors
            .into_iter()
            .map(|(id, json, seen)| {
                let mut state = json
                    .and_then(|j| serde_json::from_str::<SensorState>(&j).ok())
                    .unwrap_or_else(|| SensorState::new(&id));
                let seen = seen.map(Timestamp);
                state.last_seen = state.last_seen.max(seen);
                state
            })
            .collect();
        let open_alarms = self.open_alarms().await?;
        let (max_id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM alarms")
            .fetch_one(self.pool())
            .await
            .map_err(|e| self.err(doing, e))?;
        Ok(Snapshot {
            areas,
            sensors,
            open_alarms,
            next_alarm: max_id.map(|m| m as u64 + 1).unwrap_or(1),
        })
    }

    /// Alarms not yet resolved, oldest first.
    pub async fn open_alarms(&self) -> Result<Vec<Alarm>, JournalError> {
        let rows = sqlx::query("SELECT * FROM alarms WHERE state <> 'resolved' ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err("reading open alarms", e))?;
        Ok(rows.iter().filter_map(alarm_of).collect())
    }

    /// One alarm's record, open or resolved.
    pub async fn alarm(&self, id: i64) -> Result<Option<Alarm>, JournalError> {
        let row = sqlx::query("SELECT * FROM alarms WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.err("reading an alarm", e))?;
        Ok(row.as_ref().and_then(alarm_of))
    }

    /// The newest events, newest last.
    pub async fn recent_events(&self, limit: i64) -> Result<Vec<EventRow>, JournalError> {
        let mut rows: Vec<EventRow> = sqlx::query_as(
            "SELECT seq, at_ms, kind, category, code, qualifier, area, zone, zone_number, \
             sensor, alarm_id, user_name, message_vi, message_en, source_ref \
             FROM events ORDER BY seq DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading events", e))?;
        rows.reverse();
        Ok(rows)
    }
}

fn alarm_of(row: &sqlx::sqlite::SqliteRow) -> Option<Alarm> {
    let category = match row.try_get::<String, _>("category").ok()?.as_str() {
        "fire" => Category::Fire,
        "panic" => Category::Panic,
        "duress" => Category::Duress,
        "burglary" => Category::Burglary,
        "tamper" => Category::Tamper,
        "technical" => Category::Technical,
        _ => Category::Status,
    };
    let state = match row.try_get::<String, _>("state").ok()?.as_str() {
        "raised" => AlarmState::Raised,
        "acknowledged" => AlarmState::Acknowledged,
        _ => AlarmState::Resolved,
    };
    let resolution = row
        .try_get::<Option<String>, _>("resolution")
        .ok()
        .flatten()
        .and_then(|r| match r.as_str() {
            "real" => Some(Resolution::Real),
            "false" => Some(Resolution::False),
            "test" => Some(Resolution::Test),
            "unknown" => Some(Resolution::Unknown),
            _ => None,
        });
    let ts = |col: &str| {
        row.try_get::<Option<i64>, _>(col)
            .ok()
            .flatten()
            .map(Timestamp)
    };
    Some(Alarm {
        id: u64::try_from(row.try_get::<i64, _>("id").ok()?).ok()?,
        category,
        code: ContactId(u16::try_from(row.try_get::<i64, _>("code").ok()?).ok()?),
        area: row.try_get("area").ok()?,
        zone: row.try_get("zone").ok()?,
        sensor: row.try_get("sensor").ok()?,
        raised_at: Timestamp(row.try_get("raised_at_ms").ok()?),
        confirmed: row.try_get("confirmed").ok()?,
        silent: row.try_get("silent").ok()?,
        cancelled: row.try_get("cancelled").ok()?,
        state,
        siren_until: ts("siren_until_ms"),
        acknowledged_by: row.try_get("acknowledged_by").ok()?,
        acknowledged_at: ts("acknowledged_at_ms"),
        resolved_by: row.try_get("resolved_by").ok()?,
        resolved_at: ts("resolved_at_ms"),
        resolution,
        note: row.try_get("note").ok()?,
    })
}
