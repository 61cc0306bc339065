//! Timers: exit and entry delays, siren limits, walk-test timeouts and sensor supervision,
//! all fired by ticks at the times the clock reports.

use super::*;

impl<C: Clock> Engine<C> {
    pub(super) fn supervision_deadline(&self, s: &SensorState) -> Option<Timestamp> {
        if s.missing {
            return None;
        }
        let interval = self.site.sensors.get(&s.sensor)?.supervision_s?;
        Some(
            s.last_seen
                .unwrap_or(self.started_at)
                .max(self.started_at)
                .plus_secs(interval),
        )
    }

    pub(super) fn run_timers(&mut self, step: &mut Step) {
        let now = step.now;
        let area_ids: Vec<String> = self.areas.keys().cloned().collect();
        for id in &area_ids {
            let Some(area) = self.areas.get(id) else {
                continue;
            };
            if area.exit_until.is_some_and(|t| t <= now) {
                self.exit_delay_over(step, id);
            }
            let area = &self.areas[id];
            if area.entry.as_ref().is_some_and(|e| e.until <= now) {
                self.entry_delay_over(step, id);
            }
            let area = &self.areas[id];
            if area.walk_test.as_ref().is_some_and(|w| w.until <= now) {
                self.end_walk_test(step, id, None);
            }
        }
        let due_sirens: Vec<AlarmId> = self
            .alarms
            .values()
            .filter(|a| a.siren_until.is_some_and(|t| t <= now))
            .map(|a| a.id)
            .collect();
        for id in due_sirens {
            let Some(alarm) = self.alarms.get_mut(&id) else {
                continue;
            };
            alarm.siren_until = None;
            let area = alarm.area.clone();
            step.dirty_alarms.insert(id);
            let area_names = self.area_names(&area);
            let limit = self.site.panel.siren_limit_s;
            let text = messages::at_area(
                &format!("Còi tắt sau giới hạn {limit} giây (báo động #{id} vẫn mở)"),
                &format!("Sirens stopped at the {limit} s limit (alarm #{id} still open)"),
                &area_names,
            );
            self.event(
                step,
                EventKind::SirenTimeout,
                None,
                Qualifier::Status,
                About {
                    area: Some(&area),
                    alarm: Some(id),
                    ..About::default()
                },
                text,
            );
        }
        let lost: Vec<String> = self
            .sensors
            .values()
            .filter(|s| self.supervision_deadline(s).is_some_and(|t| t <= now))
            .map(|s| s.sensor.clone())
            .collect();
        for id in lost {
            self.set_missing(step, &id, true);
        }
    }

    pub(super) fn exit_delay_over(&mut self, step: &mut Step, area_id: &str) {
        step.dirty_areas.insert(area_id.to_string());
        let Some(area) = self.areas.get_mut(area_id) else {
            return;
        };
        area.exit_until = None;
        let mode = area.mode;
        let by = area.armed_by.clone().map(|user| Actor {
            user,
            role: Role::Guard,
            duress: false,
            origin: area.armed_via.unwrap_or(Origin::Keypad),
            number: area.armed_by_number,
            address: None,
        });
        self.armed_event(step, area_id, mode, by.as_ref());
        // Zones still open when the exit delay ends.
        let zones: Vec<site::ZoneDef> = self
            .site
            .areas
            .get(area_id)
            .map(|a| {
                a.zones
                    .iter()
                    .filter_map(|z| self.site.zones.get(z))
                    .filter(|z| !z.zone_type.is_24h() && z.modes.contains(&mode))
                    .filter(|z| !self.is_bypassed(&z.id) && self.zone_active(&z.id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for zdef in zones {
            let sensor = zdef
                .sensors
                .iter()
                .find(|s| self.sensors.get(*s).is_some_and(|st| st.active))
                .cloned()
                .unwrap_or_default();
            if zdef.zone_type == ZoneType::EntryExit {
                let area_names = self.area_names(area_id);
                let text = messages::at_zone(
                    ContactId::EXIT_ERROR.name_vi(),
                    ContactId::EXIT_ERROR.name_en(),
                    &zdef.names,
                    &area_names,
                );
                self.event(
                    step,
                    EventKind::ExitError,
                    Some(ContactId::EXIT_ERROR),
                    Qualifier::New,
                    About {
                        area: Some(area_id),
                        zone: Some(&zdef.id),
                        sensor: Some(&sensor),
                        ..About::default()
                    },
                    text,
                );
                if self.areas.get(area_id).is_some_and(|a| a.entry.is_none()) {
                    self.start_entry_delay(step, &zdef, &sensor);
                }
            } else {
                self.burglary_trip(step, &zdef, &sensor);
            }
        }
    }

    pub(super) fn entry_delay_over(&mut self, step: &mut Step, area_id: &str) {
        step.dirty_areas.insert(area_id.to_string());
        let Some(entry) = self.areas.get_mut(area_id).and_then(|a| a.entry.take()) else {
            return;
        };
        self.activate(step, &entry.zone, &entry.sensor, ContactId::ENTRY_EXIT);
        for (zone, sensor) in entry.followers {
            self.activate(step, &zone, &sensor, ContactId::INTERIOR);
        }
    }

    pub(super) fn end_walk_test(&mut self, step: &mut Step, area_id: &str, user: Option<&str>) {
        let untested = self.untested_zones(area_id);
        step.dirty_areas.insert(area_id.to_string());
        if let Some(a) = self.areas.get_mut(area_id) {
            a.walk_test = None;
        }
        let names: Vec<&site::Names> = untested
            .iter()
            .filter_map(|z| self.site.zones.get(z).map(|d| &d.names))
            .collect();
        let (list_vi, list_en) = messages::zone_list(&names);
        let area_names = self.area_names(area_id);
        let text = if untested.is_empty() {
            messages::at_area(
                "Kết thúc thử đi bộ: mọi vùng đã được thử",
                "Walk test ended: every zone tested",
                &area_names,
            )
        } else {
            messages::at_area(
                &format!("Kết thúc thử đi bộ; chưa thử: {list_vi}"),
                &format!("Walk test ended; not tested: {list_en}"),
                &area_names,
            )
        };
        self.event(
            step,
            EventKind::WalkTestEnded,
            Some(ContactId::WALK_TEST),
            Qualifier::Restore,
            About {
                area: Some(area_id),
                user,
                ..About::default()
            },
            text,
        );
    }
}

impl<C: Clock> Engine<C> {
    /// Keeps [`Engine::timers_due_by`] true after `step`: an area or alarm changed (a delay,
    /// a walk test or a siren may have started) or the timers were looked at, so every
    /// timer is looked at again; otherwise only the supervision of the sensors the step
    /// changed can have come earlier (a sensor back from missing), and a sensor heard
    /// without a change only moves its own later.
    pub(super) fn note_timers(&mut self, step: &Step) {
        if self.timers_due == TimersDue::Unknown
            || !step.dirty_areas.is_empty()
            || !step.dirty_alarms.is_empty()
        {
            self.timers_due = match self.next_deadline() {
                Some(t) => TimersDue::At(t),
                None => TimersDue::Never,
            };
            return;
        }
        for id in &step.dirty_sensors {
            let Some(deadline) = self
                .sensors
                .get(id)
                .and_then(|s| self.supervision_deadline(s))
            else {
                continue;
            };
            self.timers_due = match self.timers_due {
                TimersDue::At(t) if t <= deadline => TimersDue::At(t),
                _ => TimersDue::At(deadline),
            };
        }
    }
}
