//! People's commands: arm, disarm (with cancel and duress), acknowledge, resolve, bypass
//! and walk test, each with its role check and audit entry.

use super::*;

impl<C: Clock> Engine<C> {
    pub(super) fn command(&mut self, step: &mut Step, cmd: Command) {
        let actor = cmd.actor.clone();
        let (action, target) = (cmd.kind.action_name(), cmd.kind.target());
        let result = if actor.role == Role::Viewer {
            Err(messages::refuse(
                "người xem không được ra lệnh",
                "a viewer cannot give commands",
            ))
        } else {
            self.dispatch(step, &actor, &cmd.kind)
        };
        if actor.duress && actor.role != Role::Viewer {
            self.duress(step, &actor, &cmd.kind);
        }
        let result_text = match &result {
            Ok(()) => "ok".to_string(),
            Err(r) => format!("refused: {}", r.reason_en),
        };
        step.out
            .audit
            .push(audit_entry(&actor, step.now, action, target, result_text));
        if let Err(refusal) = result {
            step.out.refused = Some(refusal);
        }
    }

    /// Carries out one command.
    fn dispatch(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        kind: &CommandKind,
    ) -> Result<(), Refusal> {
        match kind {
            CommandKind::Arm { area, mode, force } => self.arm(step, actor, area, *mode, *force),
            CommandKind::Disarm { area } => self.disarm(step, actor, area),
            CommandKind::Acknowledge { alarm, note } => self.acknowledge(step, actor, *alarm, note),
            CommandKind::Resolve {
                alarm,
                resolution,
                note,
            } => self.resolve(step, actor, *alarm, *resolution, note),
            CommandKind::Bypass { zone, on } => self.bypass_command(step, actor, zone, *on),
            CommandKind::WalkTest { area, on } => self.walk_test_command(step, actor, area, *on),
            CommandKind::HandoverNote { text } => {
                self.handover_note(step, actor, text);
                Ok(())
            }
        }
    }

    /// A shift handover note: an event of its own, so it is in the hash-chained history.
    fn handover_note(&mut self, step: &mut Step, actor: &Actor, text: &str) {
        let text: String = text.trim().chars().take(2000).collect();
        self.event(
            step,
            EventKind::HandoverNote,
            None,
            Qualifier::Status,
            About {
                user: Some(&actor.user),
                ..About::default()
            },
            (
                format!("Bàn giao ca ({}): {text}", actor.user),
                format!("Shift handover ({}): {text}", actor.user),
            ),
        );
    }

    pub(super) fn known_area(&self, area: &str) -> Result<(), Refusal> {
        if self.areas.contains_key(area) {
            Ok(())
        } else {
            Err(messages::refuse(
                format!("khu vực không xác định `{area}`"),
                format!("unknown area `{area}`"),
            ))
        }
    }

    pub(super) fn arm(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        area_id: &str,
        mode: Mode,
        force: bool,
    ) -> Result<(), Refusal> {
        self.known_area(area_id)?;
        if mode == Mode::Disarmed {
            return Err(messages::refuse(
                "dùng lệnh tắt báo động",
                "use disarm to disarm",
            ));
        }
        let area = &self.areas[area_id];
        if area.is_armed() {
            return Err(messages::refuse(
                format!("khu vực đang {}", area.mode.name_vi()),
                format!("area is already {}", area.mode.name_en()),
            ));
        }
        if area.walk_test.is_some() {
            return Err(messages::refuse("đang thử đi bộ", "a walk test is running"));
        }
        if force && !actor.role.is_supervisor() {
            return Err(messages::refuse(
                "chỉ giám sát viên được bật cưỡng bức",
                "only a supervisor may force-arm",
            ));
        }
        let not_ready: Vec<site::ZoneDef> = self.site.areas[area_id]
            .zones
            .iter()
            .filter_map(|z| self.site.zones.get(z))
            .filter(|z| !z.zone_type.is_24h() && z.modes.contains(&mode))
            .filter(|z| !self.is_bypassed(&z.id) && self.zone_active(&z.id))
            .cloned()
            .collect();
        let blocking: Vec<&site::ZoneDef> = not_ready
            .iter()
            .filter(|z| !force && !z.auto_bypass)
            .collect();
        if !blocking.is_empty() {
            let names: Vec<&site::Names> = blocking.iter().map(|z| &z.names).collect();
            let (vi, en) = messages::zone_list(&names);
            return Err(messages::refuse(
                format!("không thể bật: vùng đang mở: {vi}"),
                format!("cannot arm: zones open: {en}"),
            ));
        }
        for zone in &not_ready {
            let reason = if force {
                BypassReason::Forced
            } else {
                BypassReason::Auto
            };
            self.bypass_zone(step, &zone.id, reason, Some(&actor.user));
        }
        let exit_delay = self.site.areas[area_id].exit_delay_s;
        step.dirty_areas.insert(area_id.to_string());
        if let Some(area) = self.areas.get_mut(area_id) {
            area.mode = mode;
            area.armed_by = Some(actor.user.clone());
            area.armed_via = Some(actor.origin);
            area.armed_by_number = actor.number;
            area.activations.clear();
            area.recent_intrusions.clear();
            area.entry = None;
            area.exit_until = (exit_delay > 0).then(|| step.now.plus_secs(exit_delay));
        }
        if exit_delay > 0 {
            let area_names = self.area_names(area_id);
            let text = messages::at_area(
                &format!(
                    "Đang {} bởi {}; thời gian ra {exit_delay} giây",
                    mode.name_vi(),
                    actor.user
                ),
                &format!(
                    "Arming ({}) by {}; exit delay {exit_delay} s",
                    mode.name_en(),
                    actor.user
                ),
                &area_names,
            );
            self.event(
                step,
                EventKind::ArmingStarted,
                None,
                Qualifier::Status,
                About {
                    area: Some(area_id),
                    user: Some(&actor.user),
                    ..About::default()
                },
                text,
            );
        } else {
            self.armed_event(step, area_id, mode, Some(actor));
        }
        Ok(())
    }

    /// The closing report (an area armed), with the code for how it was armed and the
    /// number of who armed it.
    pub(super) fn armed_event(
        &mut self,
        step: &mut Step,
        area_id: &str,
        mode: Mode,
        by: Option<&Actor>,
    ) {
        let code = ContactId::opening_closing(by.map(|a| a.origin), mode);
        let user = by.map(|a| a.user.as_str());
        let text = messages::mode_change(mode, &self.area_names(area_id), user.unwrap_or("?"));
        self.event(
            step,
            EventKind::Armed,
            Some(code),
            Qualifier::Restore,
            About {
                area: Some(area_id),
                user,
                number: by.and_then(|a| a.number),
                ..About::default()
            },
            text,
        );
    }

    pub(super) fn disarm(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        area_id: &str,
    ) -> Result<(), Refusal> {
        self.known_area(area_id)?;
        if !self.areas[area_id].is_armed() {
            return if actor.duress {
                Ok(())
            } else {
                Err(messages::refuse(
                    "khu vực đã tắt báo động",
                    "area is already disarmed",
                ))
            };
        }
        let abort_ms = i64::from(self.site.panel.abort_window_s) * 1000;
        // Intrusion alarms of this area: silence them, and cancel the fresh ones — unless
        // the code was a duress code, which must never cancel anything.
        let in_area: Vec<AlarmId> = self
            .alarms
            .values()
            .filter(|a| a.area == area_id && a.category != Category::Fire)
            .map(|a| a.id)
            .collect();
        for id in in_area {
            let Some(alarm) = self.alarms.get_mut(&id) else {
                continue;
            };
            if alarm.siren_until.take().is_some() {
                step.dirty_alarms.insert(id);
            }
            let fresh = step.now.millis_since(alarm.raised_at) <= abort_ms;
            if actor.duress || alarm.cancelled || alarm.category != Category::Burglary || !fresh {
                continue;
            }
            alarm.cancelled = true;
            step.dirty_alarms.insert(id);
            step.out.escalations.push(Escalation {
                alarm: id,
                trigger: EscalationTrigger::Cancelled,
                category: alarm.category,
                confirmed: alarm.confirmed,
                silent: alarm.silent,
            });
            let zone = alarm.zone.clone();
            let area_names = self.area_names(area_id);
            let text = messages::at_area(
                &format!(
                    "Hủy báo động #{id}: tắt báo động trong thời gian hủy bởi {}",
                    actor.user
                ),
                &format!(
                    "Alarm #{id} cancelled: disarmed within the abort window by {}",
                    actor.user
                ),
                &area_names,
            );
            self.event(
                step,
                EventKind::AlarmCancelled,
                Some(ContactId::CANCEL),
                Qualifier::New,
                About {
                    area: Some(area_id),
                    zone: zone.as_deref(),
                    alarm: Some(id),
                    user: Some(&actor.user),
                    number: actor.number,
                    ..About::default()
                },
                text,
            );
        }
        // As a panel keypad's disarm does, a disarm with a person's own code also
        // acknowledges the area's raised alarms (fire excepted, which needs its own
        // acknowledgement), as that person; a duress code acknowledges nothing, so the
        // alarms keep escalating.
        if !actor.duress {
            let raised: Vec<AlarmId> = self
                .alarms
                .values()
                .filter(|a| {
                    a.area == area_id
                        && a.state == AlarmState::Raised
                        && a.category != Category::Fire
                })
                .map(|a| a.id)
                .collect();
            for id in raised {
                if self.acknowledge(step, actor, id, "").is_ok() {
                    let target = format!("alarm:{id}");
                    let entry = audit_entry(
                        actor,
                        step.now,
                        "acknowledge",
                        target,
                        "ok (by disarming)".into(),
                    );
                    step.out.audit.push(entry);
                }
            }
        }
        let bypassed: Vec<String> = self.areas[area_id].bypassed.keys().cloned().collect();
        for zone in bypassed {
            self.unbypass_zone(step, &zone, Some(&actor.user));
        }
        step.dirty_areas.insert(area_id.to_string());
        if let Some(area) = self.areas.get_mut(area_id) {
            area.mode = Mode::Disarmed;
            area.exit_until = None;
            area.entry = None;
            area.armed_by = None;
            area.armed_via = None;
            area.armed_by_number = None;
            area.activations.clear();
            area.recent_intrusions.clear();
        }
        let text = messages::mode_change(Mode::Disarmed, &self.area_names(area_id), &actor.user);
        self.event(
            step,
            EventKind::Disarmed,
            Some(ContactId::opening_closing(
                Some(actor.origin),
                Mode::Disarmed,
            )),
            Qualifier::New,
            About {
                area: Some(area_id),
                user: Some(&actor.user),
                number: actor.number,
                ..About::default()
            },
            text,
        );
        Ok(())
    }

    /// A duress code: carry out the command as asked, and raise a silent duress alarm.
    pub(super) fn duress(&mut self, step: &mut Step, actor: &Actor, kind: &CommandKind) {
        let area = match kind {
            CommandKind::Arm { area, .. }
            | CommandKind::Disarm { area }
            | CommandKind::WalkTest { area, .. } => Some(area.clone()),
            CommandKind::Acknowledge { alarm, .. } | CommandKind::Resolve { alarm, .. } => {
                self.alarms.get(alarm).map(|a| a.area.clone())
            }
            CommandKind::Bypass { zone, .. } => self.area_of(zone),
            CommandKind::HandoverNote { .. } => None,
        };
        let area = area
            .filter(|a| self.areas.contains_key(a))
            .or_else(|| self.areas.keys().next().cloned())
            .unwrap_or_default();
        self.raise(
            step,
            ContactId::DURESS,
            &area,
            None,
            None,
            true,
            Some(actor),
        );
    }

    pub(super) fn acknowledge(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        id: AlarmId,
        note: &str,
    ) -> Result<(), Refusal> {
        let alarm = self.alarms.get_mut(&id).ok_or_else(|| no_alarm(id))?;
        if alarm.state != AlarmState::Raised {
            return Err(messages::refuse(
                format!("báo động #{id} đã được xác nhận"),
                format!("alarm #{id} is already acknowledged"),
            ));
        }
        alarm.state = AlarmState::Acknowledged;
        alarm.acknowledged_by = Some(actor.user.clone());
        alarm.acknowledged_at = Some(step.now);
        alarm.siren_until = None;
        if !note.is_empty() {
            alarm.note = note.to_string();
        }
        let escalation = Escalation {
            alarm: id,
            trigger: EscalationTrigger::Acknowledged,
            category: alarm.category,
            confirmed: alarm.confirmed,
            silent: alarm.silent,
        };
        let (area, zone) = (alarm.area.clone(), alarm.zone.clone());
        step.dirty_alarms.insert(id);
        step.out.escalations.push(escalation);
        let text = messages::at_area(
            &format!("Báo động #{id} đã được {} xác nhận xử lý", actor.user),
            &format!("Alarm #{id} acknowledged by {}", actor.user),
            &self.area_names(&area),
        );
        self.event(
            step,
            EventKind::AlarmAcknowledged,
            None,
            Qualifier::Status,
            About {
                area: Some(&area),
                zone: zone.as_deref(),
                alarm: Some(id),
                user: Some(&actor.user),
                ..About::default()
            },
            text,
        );
        Ok(())
    }

    pub(super) fn resolve(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        id: AlarmId,
        resolution: Resolution,
        note: &str,
    ) -> Result<(), Refusal> {
        let alarm = self.alarms.get_mut(&id).ok_or_else(|| no_alarm(id))?;
        if alarm.state != AlarmState::Acknowledged {
            return Err(messages::refuse(
                format!("hãy xác nhận báo động #{id} trước khi đóng"),
                format!("acknowledge alarm #{id} before resolving it"),
            ));
        }
        alarm.state = AlarmState::Resolved;
        alarm.resolved_by = Some(actor.user.clone());
        alarm.resolved_at = Some(step.now);
        alarm.resolution = Some(resolution);
        if !note.is_empty() {
            if !alarm.note.is_empty() {
                alarm.note.push('\n');
            }
            alarm.note.push_str(note);
        }
        let escalation = Escalation {
            alarm: id,
            trigger: EscalationTrigger::Resolved,
            category: alarm.category,
            confirmed: alarm.confirmed,
            silent: alarm.silent,
        };
        let (area, zone) = (alarm.area.clone(), alarm.zone.clone());
        step.dirty_alarms.insert(id);
        step.out.escalations.push(escalation);
        // A resolved incident is closed: its detection no longer confirms a later one.
        if let Some(state) = self.areas.get_mut(&area) {
            let before = state.recent_intrusions.len();
            state.recent_intrusions.retain(|t| t.alarm != id);
            if state.recent_intrusions.len() != before {
                step.dirty_areas.insert(area.clone());
            }
        }
        let text = messages::at_area(
            &format!(
                "Báo động #{id} đã đóng ({}) bởi {}",
                resolution_vi(resolution),
                actor.user
            ),
            &format!(
                "Alarm #{id} resolved ({}) by {}",
                resolution.as_str(),
                actor.user
            ),
            &self.area_names(&area),
        );
        self.event(
            step,
            EventKind::AlarmResolved,
            None,
            Qualifier::Status,
            About {
                area: Some(&area),
                zone: zone.as_deref(),
                alarm: Some(id),
                user: Some(&actor.user),
                ..About::default()
            },
            text,
        );
        Ok(())
    }

    pub(super) fn bypass_command(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        zone: &str,
        on: bool,
    ) -> Result<(), Refusal> {
        if !self.site.zones.contains_key(zone) {
            return Err(messages::refuse(
                format!("vùng không xác định `{zone}`"),
                format!("unknown zone `{zone}`"),
            ));
        }
        if !actor.role.is_supervisor() {
            return Err(messages::refuse(
                "chỉ giám sát viên được bỏ qua vùng",
                "only a supervisor may bypass zones",
            ));
        }
        if self.zone_type(zone) == Some(ZoneType::Fire) {
            return Err(messages::refuse(
                "không được bỏ qua vùng báo cháy",
                "fire zones can never be bypassed",
            ));
        }
        match (on, self.is_bypassed(zone)) {
            (true, true) => Err(messages::refuse(
                "vùng đã bị bỏ qua",
                "zone is already bypassed",
            )),
            (false, false) => Err(messages::refuse(
                "vùng không bị bỏ qua",
                "zone is not bypassed",
            )),
            (true, false) => {
                self.bypass_zone(step, zone, BypassReason::Manual, Some(&actor.user));
                Ok(())
            }
            (false, true) => {
                self.unbypass_zone(step, zone, Some(&actor.user));
                Ok(())
            }
        }
    }

    pub(super) fn walk_test_command(
        &mut self,
        step: &mut Step,
        actor: &Actor,
        area_id: &str,
        on: bool,
    ) -> Result<(), Refusal> {
        self.known_area(area_id)?;
        let area = &self.areas[area_id];
        if on {
            if area.is_armed() {
                return Err(messages::refuse(
                    "tắt báo động trước khi thử đi bộ",
                    "disarm the area before a walk test",
                ));
            }
            if area.walk_test.is_some() {
                return Err(messages::refuse(
                    "đang thử đi bộ",
                    "a walk test is already running",
                ));
            }
            let until = step.now.plus_secs(self.site.panel.walk_test_timeout_s);
            step.dirty_areas.insert(area_id.to_string());
            if let Some(a) = self.areas.get_mut(area_id) {
                a.walk_test = Some(WalkTest {
                    until,
                    tested: BTreeSet::new(),
                });
            }
            let text = messages::at_area(
                &format!("Bắt đầu thử đi bộ bởi {}", actor.user),
                &format!("Walk test started by {}", actor.user),
                &self.area_names(area_id),
            );
            self.event(
                step,
                EventKind::WalkTestStarted,
                Some(ContactId::WALK_TEST),
                Qualifier::New,
                About {
                    area: Some(area_id),
                    user: Some(&actor.user),
                    ..About::default()
                },
                text,
            );
        } else {
            if area.walk_test.is_none() {
                return Err(messages::refuse(
                    "không có thử đi bộ",
                    "no walk test is running",
                ));
            }
            self.end_walk_test(step, area_id, Some(&actor.user));
        }
        Ok(())
    }
}

/// The audit entry of a person's action.
fn audit_entry(
    actor: &Actor,
    at: Timestamp,
    action: &str,
    target: String,
    result: String,
) -> AuditEntry {
    AuditEntry {
        at,
        user: actor.user.clone(),
        role: Some(actor.role),
        origin: actor.origin,
        address: actor.address.clone(),
        action: action.to_string(),
        target,
        result,
    }
}

fn no_alarm(id: AlarmId) -> Refusal {
    messages::refuse(
        format!("không có báo động mở #{id}"),
        format!("no open alarm #{id}"),
    )
}

fn resolution_vi(r: Resolution) -> &'static str {
    match r {
        Resolution::Real => "thật",
        Resolution::False => "báo nhầm",
        Resolution::Test => "thử nghiệm",
        Resolution::Unknown => "không rõ",
    }
}
