//! Results of a step: events with their place and names, output patterns derived from
//! open alarms and troubles, and the snapshots to persist.

use super::*;

impl<C: Clock> Engine<C> {
    pub(super) fn event(
        &mut self,
        step: &mut Step,
        kind: EventKind,
        code: Option<ContactId>,
        qualifier: Qualifier,
        about: About<'_>,
        text: Text,
    ) {
        let category = match (kind, code) {
            (
                EventKind::SensorChanged
                | EventKind::WalkTestTrigger
                | EventKind::EntryDelayStarted
                | EventKind::ArmingStarted,
                _,
            ) => {
                if kind == EventKind::ArmingStarted {
                    Category::Arming
                } else {
                    Category::Status
                }
            }
            (_, Some(code)) => code.category(),
            (_, None) => Category::Status,
        };
        let zone_number = about
            .number
            .or_else(|| {
                about
                    .sensor
                    .and_then(|s| self.site.sensors.get(s))
                    .map(|s| s.number)
            })
            .or_else(|| {
                about
                    .zone
                    .and_then(|z| self.site.zones.get(z))
                    .map(|z| z.number)
            });
        let area_number = about
            .area
            .and_then(|a| self.site.areas.get(a))
            .map(|a| a.number);
        step.out.events.push(Event {
            at: step.now,
            kind,
            category,
            code,
            qualifier,
            area: about.area.map(str::to_string),
            zone: about.zone.map(str::to_string),
            zone_number,
            area_number,
            sensor: about.sensor.filter(|s| !s.is_empty()).map(str::to_string),
            alarm: about.alarm,
            user: about.user.map(str::to_string),
            message_vi: text.0,
            message_en: text.1,
            source_ref: step.source_ref.clone(),
        });
    }

    pub(super) fn desired_outputs(&self, now: Timestamp) -> BTreeMap<String, OutputPattern> {
        self.site
            .outputs
            .iter()
            .map(|o| {
                let driving = || {
                    self.alarms.values().filter(|a| {
                        !a.silent && (o.serves(&a.area) || a.category == Category::Fire)
                    })
                };
                let pattern = match o.kind {
                    OutputKind::Siren => {
                        let sounding: Vec<&Alarm> = driving()
                            .filter(|a| a.siren_until.is_some_and(|t| t > now))
                            .collect();
                        if sounding.iter().any(|a| a.category == Category::Fire) {
                            OutputPattern::Temporal3
                        } else if sounding.is_empty() {
                            OutputPattern::Off
                        } else {
                            OutputPattern::Steady
                        }
                    }
                    OutputKind::Strobe => {
                        if driving().any(|a| a.state == AlarmState::Raised) {
                            OutputPattern::Steady
                        } else {
                            OutputPattern::Off
                        }
                    }
                    OutputKind::FaultLed => {
                        if !self.system_troubles.is_empty()
                            || self.sensors.values().any(SensorState::has_trouble)
                        {
                            OutputPattern::Steady
                        } else {
                            OutputPattern::Off
                        }
                    }
                };
                (o.id.clone(), pattern)
            })
            .collect()
    }

    pub(super) fn finish(&mut self, mut step: Step) -> Outcome {
        let desired = self.desired_outputs(step.now);
        for def in &self.site.outputs {
            let new = desired.get(&def.id).copied().unwrap_or(OutputPattern::Off);
            if self.outputs.get(&def.id) != Some(&new) {
                step.out.outputs.push(OutputChange {
                    output: def.id.clone(),
                    kind: def.kind,
                    pattern: new,
                });
            }
        }
        self.outputs = desired;
        step.out.areas = step
            .dirty_areas
            .iter()
            .filter_map(|id| self.areas.get(id).cloned())
            .collect();
        step.out.sensors = step
            .dirty_sensors
            .iter()
            .filter_map(|id| self.sensors.get(id).cloned())
            .collect();
        for id in &step.dirty_alarms {
            if let Some(alarm) = self.alarms.get(id) {
                step.out.alarms.push(alarm.clone());
                if alarm.state == AlarmState::Resolved {
                    self.alarms.remove(id);
                }
            }
        }
        self.note_timers(&step);
        step.out
    }
}
