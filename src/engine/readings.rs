//! Sensor readings: detection, tamper, battery, availability and video loss, and the
//! troubles (381, 302, 380) they raise or restore.

use super::*;

impl<C: Clock> Engine<C> {
    pub(super) fn observe(&mut self, step: &mut Step, obs: Observation) {
        let Some(def) = self.site.sensors.get(&obs.sensor).cloned() else {
            step.out.refused = Some(messages::refuse(
                format!("cảm biến không xác định `{}`", obs.sensor),
                format!("unknown sensor `{}`", obs.sensor),
            ));
            return;
        };
        let id = def.id.as_str();
        let offline = matches!(obs.reading, Reading::Availability { online: false });
        if offline {
            self.set_missing(step, id, true);
        } else {
            if let Some(s) = self.sensors.get_mut(id) {
                s.last_seen = Some(step.now);
            }
            self.set_missing(step, id, false);
        }
        match obs.reading {
            Reading::Heartbeat | Reading::Availability { .. } => {}
            Reading::Battery { low, .. } => self.battery(step, id, low),
            Reading::Tamper { active } => self.tamper(step, &def, active),
            Reading::VideoLoss { active } => self.video_loss(step, &def, active),
            reading => {
                let active = reading.detection().unwrap_or(false);
                self.detection(step, &def, active);
            }
        }
        if !step.dirty_sensors.contains(id) && !offline {
            step.out.seen.push((id.to_string(), step.now));
        }
    }

    pub(super) fn sensor_mut(&mut self, step: &mut Step, id: &str) -> Option<&mut SensorState> {
        step.dirty_sensors.insert(id.to_string());
        self.sensors.get_mut(id)
    }

    pub(super) fn detection(&mut self, step: &mut Step, def: &site::SensorDef, active: bool) {
        if self.sensors.get(&def.id).map(|s| s.active) == Some(active) {
            return;
        }
        if let Some(s) = self.sensor_mut(step, &def.id) {
            s.active = active;
        }
        let zone = def.zone.clone();
        let area = self.area_of(&zone);
        let text = messages::sensor_state(def, active);
        self.event(
            step,
            EventKind::SensorChanged,
            None,
            Qualifier::Status,
            About {
                area: area.as_deref(),
                zone: Some(&zone),
                sensor: Some(&def.id),
                ..About::default()
            },
            text,
        );
        if active {
            self.trip(step, &zone, &def.id);
        } else if !self.zone_active(&zone) {
            self.zone_restored(step, &zone, &def.id, RestoreOf::Detection);
        }
    }

    pub(super) fn tamper(&mut self, step: &mut Step, def: &site::SensorDef, active: bool) {
        if self.sensors.get(&def.id).map(|s| s.tamper) == Some(active) {
            return;
        }
        if let Some(s) = self.sensor_mut(step, &def.id) {
            s.tamper = active;
        }
        let zone = def.zone.clone();
        let area = self.area_of(&zone);
        let text = (
            format!(
                "{}: {}",
                def.names.vi,
                if active {
                    "bị phá"
                } else {
                    "hết bị phá"
                }
            ),
            format!(
                "{}: {}",
                def.names.en,
                if active { "tampered" } else { "tamper cleared" }
            ),
        );
        self.event(
            step,
            EventKind::SensorChanged,
            None,
            Qualifier::Status,
            About {
                area: area.as_deref(),
                zone: Some(&zone),
                sensor: Some(&def.id),
                ..About::default()
            },
            text,
        );
        if active {
            if self.in_walk_test(&zone) {
                self.walk_test_trigger(step, &zone, &def.id);
            } else {
                self.activate(step, &zone, &def.id, ContactId::SENSOR_TAMPER);
            }
        } else {
            self.zone_restored(step, &zone, &def.id, RestoreOf::Tamper);
        }
    }

    pub(super) fn battery(&mut self, step: &mut Step, id: &str, low: bool) {
        if self.sensors.get(id).map(|s| s.battery_low) == Some(low) {
            return;
        }
        if let Some(s) = self.sensor_mut(step, id) {
            s.battery_low = low;
        }
        self.sensor_trouble(step, id, ContactId::LOW_BATTERY, low);
    }

    pub(super) fn video_loss(&mut self, step: &mut Step, def: &site::SensorDef, active: bool) {
        if self.sensors.get(&def.id).map(|s| s.video_loss) == Some(active) {
            return;
        }
        if let Some(s) = self.sensor_mut(step, &def.id) {
            s.video_loss = active;
        }
        self.sensor_trouble_as(
            step,
            &def.id,
            ContactId::SENSOR_TROUBLE,
            active,
            ("mất hình", "video lost"),
        );
    }

    pub(super) fn set_missing(&mut self, step: &mut Step, id: &str, missing: bool) {
        if self.sensors.get(id).map(|s| s.missing) == Some(missing) {
            return;
        }
        if let Some(s) = self.sensor_mut(step, id) {
            s.missing = missing;
        }
        self.sensor_trouble(step, id, ContactId::SUPERVISION, missing);
    }

    /// A trouble (or its restore) on one sensor.
    pub(super) fn sensor_trouble(
        &mut self,
        step: &mut Step,
        id: &str,
        code: ContactId,
        begins: bool,
    ) {
        self.sensor_trouble_as(step, id, code, begins, (code.name_vi(), code.name_en()));
    }

    /// A trouble (or its restore) on one sensor, said in words more exact than the code's
    /// own name (a camera's "video lost" rather than "sensor trouble").
    pub(super) fn sensor_trouble_as(
        &mut self,
        step: &mut Step,
        id: &str,
        code: ContactId,
        begins: bool,
        (what_vi, what_en): (&str, &str),
    ) {
        let Some(def) = self.site.sensors.get(id).cloned() else {
            return;
        };
        let area = self.area_of(&def.zone);
        let (kind, qualifier, vi_suffix, en_suffix) = trouble_phase(begins);
        let text = (
            format!("{}: {what_vi}{vi_suffix}", def.names.vi),
            format!("{}: {what_en}{en_suffix}", def.names.en),
        );
        self.event(
            step,
            kind,
            Some(code),
            qualifier,
            About {
                area: area.as_deref(),
                zone: Some(&def.zone),
                sensor: Some(id),
                ..About::default()
            },
            text,
        );
    }

    /// A gateway trouble (broker unreachable…) begins or ends.
    pub(super) fn system_trouble(&mut self, step: &mut Step, t: SystemTrouble) {
        let changed = if t.active {
            self.system_troubles.insert(t.id.clone())
        } else {
            self.system_troubles.remove(&t.id)
        };
        if !changed {
            return;
        }
        let (kind, qualifier, vi, en) = trouble_phase(t.active);
        let text = (
            format!("{}: {}{vi}", t.code.name_vi(), t.what_vi),
            format!("{}: {}{en}", t.code.name_en(), t.what_en),
        );
        let about = About {
            number: t.number,
            ..About::default()
        };
        // What is in trouble, so that reports can tell one receiver path's outages from
        // another's.
        step.source_ref = Some(format!("{SYSTEM_TROUBLE_REF}{}", t.id));
        self.event(step, kind, Some(t.code), qualifier, about, text);
    }
}

impl<C: Clock> Engine<C> {
    /// The periodic test report (602): proof of life for the receiving centre, with the
    /// number of gateway troubles still open.
    pub(super) fn test_report(&mut self, step: &mut Step) {
        let code = ContactId(602);
        let open = self.system_troubles.len();
        let text = (
            format!("{}: {open} sự cố hệ thống đang mở", code.name_vi()),
            format!("{}: {open} gateway trouble(s) open", code.name_en()),
        );
        self.event(
            step,
            EventKind::TestReport,
            Some(code),
            Qualifier::New,
            About::default(),
            text,
        );
    }
}

/// The `source_ref` prefix of a gateway trouble's events; the trouble's id follows.
pub const SYSTEM_TROUBLE_REF: &str = "trouble:";

/// A trouble's event kind, qualifier and message suffixes, as it begins or ends.
fn trouble_phase(begins: bool) -> (EventKind, Qualifier, &'static str, &'static str) {
    if begins {
        (EventKind::Trouble, Qualifier::New, "", "")
    } else {
        (
            EventKind::TroubleRestored,
            Qualifier::Restore,
            " — đã khôi phục",
            " — restored",
        )
    }
}
