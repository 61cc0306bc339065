//! Zone rules: what a tripped zone does in each mode, entry delays, alarm activation,
//! confirmation by a second detector, swinger shutdown, bypass and walk-test triggers.

use super::*;

impl<C: Clock> Engine<C> {
    pub(super) fn zone_type(&self, zone: &str) -> Option<ZoneType> {
        self.site.zones.get(zone).map(|z| z.zone_type)
    }

    pub(super) fn area_of(&self, zone: &str) -> Option<String> {
        self.site.zones.get(zone).map(|z| z.area.clone())
    }

    /// Is any sensor of the zone detecting?
    pub(super) fn zone_active(&self, zone: &str) -> bool {
        self.site.zones.get(zone).is_some_and(|z| {
            z.sensors
                .iter()
                .any(|s| self.sensors.get(s).is_some_and(|st| st.active))
        })
    }

    /// Whether a sensor of `zone` other than `sensor` still shows what `code` reports
    /// (its tamper for a sensor tamper, its detection otherwise): if none does, the zone
    /// was back to normal, and its restore told, before `sensor` tripped it again.
    fn zone_held_besides(&self, zone: &str, sensor: &str, code: ContactId) -> bool {
        self.site.zones.get(zone).is_some_and(|z| {
            z.sensors.iter().filter(|s| *s != sensor).any(|s| {
                self.sensors.get(s).is_some_and(|st| {
                    if code == ContactId::SENSOR_TAMPER {
                        st.tamper
                    } else {
                        st.active
                    }
                })
            })
        })
    }

    pub(super) fn in_walk_test(&self, zone: &str) -> bool {
        let Some(z) = self.site.zones.get(zone) else {
            return false;
        };
        z.zone_type != ZoneType::Fire
            && self
                .areas
                .get(&z.area)
                .is_some_and(|a| a.walk_test.is_some())
    }

    pub(super) fn is_bypassed(&self, zone: &str) -> bool {
        self.site.zones.get(zone).is_some_and(|z| {
            self.areas
                .get(&z.area)
                .is_some_and(|a| a.bypassed.contains_key(zone))
        })
    }

    /// A sensor in the zone started detecting.
    pub(super) fn trip(&mut self, step: &mut Step, zone: &str, sensor: &str) {
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        if self.in_walk_test(zone) {
            self.walk_test_trigger(step, zone, sensor);
            return;
        }
        if self.is_bypassed(zone) {
            return;
        }
        let code = match zdef.zone_type {
            ZoneType::Fire => match self.site.sensors.get(sensor).map(|s| s.kind) {
                Some(SensorKind::Smoke) => ContactId::SMOKE,
                Some(SensorKind::Heat) => ContactId::HEAT,
                Some(SensorKind::CallPoint) => ContactId::CALL_POINT,
                _ => ContactId::FIRE,
            },
            ZoneType::Panic => ContactId::PANIC,
            ZoneType::Tamper => ContactId::TAMPER_ZONE,
            ZoneType::Burglary24h => ContactId::BURGLARY_24H,
            ZoneType::Technical => match self.site.sensors.get(sensor).map(|s| s.kind) {
                Some(SensorKind::Water) => ContactId::WATER,
                _ => ContactId::TECHNICAL,
            },
            _ => return self.burglary_trip(step, &zdef, sensor),
        };
        self.activate(step, zone, sensor, code);
    }

    pub(super) fn burglary_trip(&mut self, step: &mut Step, zdef: &site::ZoneDef, sensor: &str) {
        let Some(area) = self.areas.get(&zdef.area) else {
            return;
        };
        if !area.is_armed() || !zdef.modes.contains(&area.mode) {
            return;
        }
        let exiting = area.exit_until.is_some();
        let entry_running = area.entry.is_some();
        if exiting {
            // While people leave, only the perimeter is live.
            if zdef.zone_type == ZoneType::Perimeter {
                self.activate(step, &zdef.id, sensor, ContactId::PERIMETER);
            }
            return;
        }
        match zdef.zone_type {
            ZoneType::EntryExit if entry_running => {}
            ZoneType::EntryExit => self.start_entry_delay(step, zdef, sensor),
            ZoneType::InteriorFollower if entry_running => {
                step.dirty_areas.insert(zdef.area.clone());
                if let Some(entry) = self
                    .areas
                    .get_mut(&zdef.area)
                    .and_then(|a| a.entry.as_mut())
                    && !entry.followers.iter().any(|(z, _)| z == &zdef.id)
                {
                    entry.followers.push((zdef.id.clone(), sensor.to_string()));
                }
            }
            ZoneType::Perimeter => self.activate(step, &zdef.id, sensor, ContactId::PERIMETER),
            _ => self.activate(step, &zdef.id, sensor, ContactId::INTERIOR),
        }
    }

    pub(super) fn start_entry_delay(
        &mut self,
        step: &mut Step,
        zdef: &site::ZoneDef,
        sensor: &str,
    ) {
        if zdef.entry_delay_s == 0 {
            self.activate(step, &zdef.id, sensor, ContactId::ENTRY_EXIT);
            return;
        }
        step.dirty_areas.insert(zdef.area.clone());
        if let Some(area) = self.areas.get_mut(&zdef.area) {
            area.entry = Some(EntryDelay {
                until: step.now.plus_secs(zdef.entry_delay_s),
                zone: zdef.id.clone(),
                sensor: sensor.to_string(),
                followers: Vec::new(),
            });
        }
        let area_names = self.area_names(&zdef.area);
        let text = messages::at_zone(
            &format!("Bắt đầu thời gian vào {} giây", zdef.entry_delay_s),
            &format!("Entry delay of {} s started", zdef.entry_delay_s),
            &zdef.names,
            &area_names,
        );
        self.event(
            step,
            EventKind::EntryDelayStarted,
            None,
            Qualifier::Status,
            About {
                area: Some(&zdef.area),
                zone: Some(&zdef.id),
                sensor: Some(sensor),
                ..About::default()
            },
            text,
        );
    }

    pub(super) fn area_names(&self, area: &str) -> site::Names {
        self.site
            .areas
            .get(area)
            .map(|a| a.names.clone())
            .unwrap_or(site::Names {
                vi: area.to_string(),
                en: area.to_string(),
            })
    }

    /// One alarm activation of a zone: counts towards swinger shutdown, raises a new alarm
    /// or re-triggers the zone's unacknowledged one of the same code, and feeds
    /// confirmation.
    pub(super) fn activate(&mut self, step: &mut Step, zone: &str, sensor: &str, code: ContactId) {
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        let category = code.category();
        // Swinger shutdown is for burglary detectors that keep tripping; a panic button,
        // a fire, tamper or technical zone (or a sensor's tamper) is never shut down.
        if category == Category::Burglary && zdef.zone_type.is_burglary() {
            let limit = self.site.panel.swinger_limit;
            step.dirty_areas.insert(zdef.area.clone());
            let count = self
                .areas
                .get_mut(&zdef.area)
                .map(|a| {
                    let c = a.activations.entry(zone.to_string()).or_insert(0);
                    *c += 1;
                    *c
                })
                .unwrap_or(0);
            if count > limit {
                self.bypass_zone(step, zone, BypassReason::Swinger, None);
                return;
            }
        }
        // Only the same report (code) in the same zone retriggers an open alarm: a tamper,
        // a fire or a panic in a zone with an open intrusion alarm is a report of its own,
        // which the centre must hear.
        let existing = self
            .alarms
            .values()
            .find(|a| {
                a.zone.as_deref() == Some(zone) && a.code == code && a.state == AlarmState::Raised
            })
            .map(|a| a.id);
        let alarm_id = match existing {
            Some(id) => {
                self.retrigger(step, id, &zdef, sensor, code);
                id
            }
            None => self.raise(
                step,
                code,
                &zdef.area,
                Some(&zdef),
                Some(sensor),
                zdef.silent,
                None,
            ),
        };
        // Only an intrusion of an armed-only zone, raised while its area is armed, can be
        // confirmed by (or confirm) a second detector (BS 8243): not a 24-hour zone.
        let armed = self.areas.get(&zdef.area).is_some_and(|a| a.is_armed());
        if category == Category::Burglary && zdef.zone_type.is_armed_only() && armed {
            self.note_intrusion(step, &zdef.area, sensor, alarm_id);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn raise(
        &mut self,
        step: &mut Step,
        code: ContactId,
        area: &str,
        zone: Option<&site::ZoneDef>,
        sensor: Option<&str>,
        silent: bool,
        by: Option<&Actor>,
    ) -> AlarmId {
        let id = self.next_alarm;
        self.next_alarm += 1;
        let alarm = Alarm {
            id,
            category: code.category(),
            code,
            area: area.to_string(),
            zone: zone.map(|z| z.id.clone()),
            sensor: sensor.map(str::to_string),
            raised_at: step.now,
            confirmed: false,
            silent,
            cancelled: false,
            state: AlarmState::Raised,
            siren_until: (!silent).then(|| step.now.plus_secs(self.site.panel.siren_limit_s)),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            resolution: None,
            note: String::new(),
        };
        let area_names = self.area_names(area);
        let text = match zone {
            Some(z) => messages::at_zone(code.name_vi(), code.name_en(), &z.names, &area_names),
            None => messages::at_area(code.name_vi(), code.name_en(), &area_names),
        };
        self.event(
            step,
            EventKind::AlarmRaised,
            Some(code),
            Qualifier::New,
            About {
                area: Some(area),
                zone: zone.map(|z| z.id.as_str()),
                sensor,
                alarm: Some(id),
                user: by.map(|a| a.user.as_str()),
                number: by.and_then(|a| a.number),
            },
            text,
        );
        step.out.escalations.push(Escalation {
            alarm: id,
            trigger: EscalationTrigger::Raised,
            category: alarm.category,
            confirmed: false,
            silent,
        });
        self.alarms.insert(id, alarm);
        step.dirty_alarms.insert(id);
        id
    }

    pub(super) fn retrigger(
        &mut self,
        step: &mut Step,
        id: AlarmId,
        zdef: &site::ZoneDef,
        sensor: &str,
        code: ContactId,
    ) {
        let limit = self.site.panel.siren_limit_s;
        if let Some(alarm) = self.alarms.get_mut(&id)
            && !alarm.silent
        {
            alarm.siren_until = Some(step.now.plus_secs(limit));
        }
        step.dirty_alarms.insert(id);
        if !self.zone_held_besides(&zdef.id, sensor, code) {
            step.out.retriggered_after_restore.push(id);
        }
        let area_names = self.area_names(&zdef.area);
        let text = messages::at_zone(
            &format!("{} (lặp lại)", code.name_vi()),
            &format!("{} (again)", code.name_en()),
            &zdef.names,
            &area_names,
        );
        self.event(
            step,
            EventKind::AlarmRetriggered,
            Some(code),
            Qualifier::New,
            About {
                area: Some(&zdef.area),
                zone: Some(&zdef.id),
                sensor: Some(sensor),
                alarm: Some(id),
                ..About::default()
            },
            text,
        );
    }

    /// Remembers an intrusion activation; a second, different detector in the same area
    /// within the confirmation window confirms every open intrusion alarm of that window.
    pub(super) fn note_intrusion(
        &mut self,
        step: &mut Step,
        area: &str,
        sensor: &str,
        alarm: AlarmId,
    ) {
        let window_ms = i64::from(self.site.panel.confirmation_window_s) * 1000;
        step.dirty_areas.insert(area.to_string());
        let Some(state) = self.areas.get_mut(area) else {
            return;
        };
        state
            .recent_intrusions
            .retain(|t| step.now.millis_since(t.at) <= window_ms);
        state.recent_intrusions.push(IntrusionTrigger {
            sensor: sensor.to_string(),
            at: step.now,
            alarm,
        });
        let detectors: BTreeSet<&str> = state
            .recent_intrusions
            .iter()
            .map(|t| t.sensor.as_str())
            .collect();
        if detectors.len() < 2 {
            return;
        }
        let to_confirm: BTreeSet<AlarmId> =
            state.recent_intrusions.iter().map(|t| t.alarm).collect();
        for id in to_confirm {
            let Some(alarm) = self.alarms.get_mut(&id) else {
                continue;
            };
            if alarm.confirmed || alarm.category != Category::Burglary {
                continue;
            }
            alarm.confirmed = true;
            let (zone, escalation) = (
                alarm.zone.clone(),
                Escalation {
                    alarm: id,
                    trigger: EscalationTrigger::Confirmed,
                    category: alarm.category,
                    confirmed: true,
                    silent: alarm.silent,
                },
            );
            step.dirty_alarms.insert(id);
            step.out.escalations.push(escalation);
            let area_names = self.area_names(area);
            let text = messages::at_area(
                &format!("Đột nhập đã xác nhận bởi đầu dò thứ hai (báo động #{id})"),
                &format!("Intrusion confirmed by a second detector (alarm #{id})"),
                &area_names,
            );
            self.event(
                step,
                EventKind::AlarmConfirmed,
                Some(ContactId::CONFIRMED),
                Qualifier::New,
                About {
                    area: Some(area),
                    zone: zone.as_deref(),
                    sensor: Some(sensor),
                    alarm: Some(id),
                    ..About::default()
                },
                text,
            );
        }
    }

    /// The zone is back to normal (its detection, or its sensors' tamper, ended): one
    /// restore for the receiving centre per alarm code that was open in the zone, however
    /// many alarms of that code are open (acknowledged and not yet resolved ones
    /// included). The event is tied to the newest of them; whoever was told about any of
    /// them hears it (see [`Outcome::zone_restores`]).
    pub(super) fn zone_restored(
        &mut self,
        step: &mut Step,
        zone: &str,
        sensor: &str,
        what: RestoreOf,
    ) {
        let mut by_code: BTreeMap<ContactId, Vec<AlarmId>> = BTreeMap::new();
        for a in self.alarms.values() {
            let tamper = a.code == ContactId::SENSOR_TAMPER;
            if a.zone.as_deref() == Some(zone) && tamper == (what == RestoreOf::Tamper) {
                by_code.entry(a.code).or_default().push(a.id);
            }
        }
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        let area_names = self.area_names(&zdef.area);
        for (code, alarms) in by_code {
            let Some(&newest) = alarms.iter().max() else {
                continue;
            };
            let text = messages::at_zone(
                &format!("{} — đã trở lại bình thường", code.name_vi()),
                &format!("{} — back to normal", code.name_en()),
                &zdef.names,
                &area_names,
            );
            self.event(
                step,
                EventKind::AlarmZoneRestored,
                Some(code),
                Qualifier::Restore,
                About {
                    area: Some(&zdef.area),
                    zone: Some(zone),
                    sensor: Some(sensor),
                    alarm: Some(newest),
                    ..About::default()
                },
                text,
            );
            step.out.zone_restores.push(ZoneRestore {
                alarm: newest,
                code,
                alarms,
            });
        }
    }

    pub(super) fn walk_test_trigger(&mut self, step: &mut Step, zone: &str, sensor: &str) {
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        step.dirty_areas.insert(zdef.area.clone());
        if let Some(w) = self
            .areas
            .get_mut(&zdef.area)
            .and_then(|a| a.walk_test.as_mut())
        {
            w.tested.insert(zone.to_string());
        }
        let area_names = self.area_names(&zdef.area);
        let text = messages::at_zone(
            "Thử đi bộ: đã kích hoạt",
            "Walk test: tripped",
            &zdef.names,
            &area_names,
        );
        self.event(
            step,
            EventKind::WalkTestTrigger,
            None,
            Qualifier::Status,
            About {
                area: Some(&zdef.area),
                zone: Some(zone),
                sensor: Some(sensor),
                ..About::default()
            },
            text,
        );
    }

    pub(super) fn bypass_zone(
        &mut self,
        step: &mut Step,
        zone: &str,
        reason: BypassReason,
        user: Option<&str>,
    ) {
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        step.dirty_areas.insert(zdef.area.clone());
        if let Some(a) = self.areas.get_mut(&zdef.area) {
            a.bypassed.insert(zone.to_string(), reason);
        }
        let (why_vi, why_en) = reason.names();
        let area_names = self.area_names(&zdef.area);
        let text = messages::at_zone(
            &format!("Bỏ qua vùng ({why_vi})"),
            &format!("Zone bypassed ({why_en})"),
            &zdef.names,
            &area_names,
        );
        self.event(
            step,
            EventKind::Bypassed,
            Some(ContactId::BYPASS),
            Qualifier::New,
            About {
                area: Some(&zdef.area),
                zone: Some(zone),
                user,
                ..About::default()
            },
            text,
        );
    }

    pub(super) fn unbypass_zone(&mut self, step: &mut Step, zone: &str, user: Option<&str>) {
        let Some(zdef) = self.site.zones.get(zone).cloned() else {
            return;
        };
        step.dirty_areas.insert(zdef.area.clone());
        if let Some(a) = self.areas.get_mut(&zdef.area) {
            a.bypassed.remove(zone);
        }
        let area_names = self.area_names(&zdef.area);
        let text = messages::at_zone(
            "Hết bỏ qua vùng",
            "Bypass removed",
            &zdef.names,
            &area_names,
        );
        self.event(
            step,
            EventKind::BypassRemoved,
            Some(ContactId::BYPASS),
            Qualifier::Restore,
            About {
                area: Some(&zdef.area),
                zone: Some(zone),
                user,
                ..About::default()
            },
            text,
        );
    }
}
