//! Every word the page shows, in one place per language (Miniflux's habit): the templates
//! name a field, never a phrase. The site's `locale` comes first; each person can switch,
//! and their choice is kept in a cookie.

use serde::Serialize;

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Tiếng Việt.
    Vi,
    /// English.
    En,
}

impl Lang {
    /// From `vi` / `en`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `vi` / `en`, for `lang=` attributes and cookies.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other one, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// The words of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Vi => &VI,
            Lang::En => &EN,
        }
    }

    /// Picks the Vietnamese or the English of a pair the engine wrote.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// What a role is called in this language.
    pub fn role(self, role: crate::engine::Role) -> &'static str {
        use crate::engine::Role;
        let (vi, en) = match role {
            Role::Viewer => ("người xem", "viewer"),
            Role::Guard => ("bảo vệ", "guard"),
            Role::Supervisor => ("giám sát", "supervisor"),
            Role::Installer => ("kỹ thuật lắp đặt", "installer"),
            Role::Admin => ("quản trị", "admin"),
        };
        self.pick(vi, en)
    }
}

/// The page's words.
#[derive(Debug, Serialize)]
pub struct Texts {
    /// This language's own name, on the switch.
    pub language_name: &'static str,
    /// The product's line under its name.
    pub tagline: &'static str,
    /// Navigation.
    pub nav_overview: &'static str,
    /// Navigation.
    pub nav_events: &'static str,
    /// Navigation.
    pub nav_handover: &'static str,
    /// Navigation.
    pub nav_health: &'static str,
    /// Navigation.
    pub nav_walk_test: &'static str,
    /// Reports: Reports.
    pub nav_reports: &'static str,
    /// Reports: Reports for the security reviews.
    pub report_title: &'static str,
    /// Reports: Month.
    pub report_month: &'static str,
    /// Reports: Quarter (e.g. 2026-Q4).
    pub report_quarter: &'static str,
    /// Reports: Assessment year (16 Nov–15 Nov).
    pub report_year: &'static str,
    /// Reports: From day … to day.
    pub report_days: &'static str,
    /// Reports: Make the report.
    pub report_show: &'static str,
    /// Reports: Choose a period..
    pub report_choose: &'static str,
    /// Reports: Alarms.
    pub report_alarms: &'static str,
    /// Reports: False-alarm rate.
    pub report_false_rate: &'static str,
    /// Reports: Time to acknowledge (median).
    pub report_to_ack: &'static str,
    /// Reports: Journal hash chain.
    pub report_chain: &'static str,
    /// Reports: As of event.
    pub report_as_of: &'static str,
    /// Reports: Real incidents.
    pub report_incidents: &'static str,
    /// Reports: No real incident in the period..
    pub report_no_incidents: &'static str,
    /// Reports: Download.
    pub report_download: &'static str,
    /// Navigation.
    pub nav_users: &'static str,
    /// Log out button.
    pub logout: &'static str,
    /// Login page.
    pub login_title: &'static str,
    /// Login field.
    pub user_name: &'static str,
    /// Login field.
    pub password: &'static str,
    /// Login button.
    pub log_in: &'static str,
    /// Login refused.
    pub login_failed: &'static str,
    /// Login locked out.
    pub login_locked: &'static str,
    /// Section.
    pub open_alarms: &'static str,
    /// No open alarms.
    pub no_alarms: &'static str,
    /// Section.
    pub areas: &'static str,
    /// Section.
    pub sensors: &'static str,
    /// Section.
    pub cameras: &'static str,
    /// Section.
    pub links: &'static str,
    /// Alarm state.
    pub state_raised: &'static str,
    /// Alarm state.
    pub state_acknowledged: &'static str,
    /// Alarm state.
    pub state_resolved: &'static str,
    /// Badge.
    pub confirmed: &'static str,
    /// Badge.
    pub unconfirmed: &'static str,
    /// Badge.
    pub cancelled: &'static str,
    /// Column.
    pub raised_ago: &'static str,
    /// Column.
    pub told: &'static str,
    /// Nobody told yet.
    pub told_nobody: &'static str,
    /// Where a channel's message about the alarm is: queued, …
    pub told_pending: &'static str,
    /// … handed over (SMTP accepted it, the modem sent it), …
    pub told_sent: &'static str,
    /// … confirmed by the recipient (DC-09 ACK, HTTP 2xx, MQTT PUBACK, delivery report), …
    pub told_acknowledged: &'static str,
    /// … refused for good, …
    pub told_failed: &'static str,
    /// … or not needed any more (a later tier after the alarm was acknowledged).
    pub told_skipped: &'static str,
    /// Button.
    pub acknowledge: &'static str,
    /// Button.
    pub resolve: &'static str,
    /// Field.
    pub resolution: &'static str,
    /// Resolution.
    pub resolution_real: &'static str,
    /// Resolution.
    pub resolution_false: &'static str,
    /// Resolution.
    pub resolution_test: &'static str,
    /// Resolution.
    pub resolution_unknown: &'static str,
    /// Field.
    pub note: &'static str,
    /// Link.
    pub details: &'static str,
    /// Button.
    pub arm_away: &'static str,
    /// Button.
    pub arm_home: &'static str,
    /// Button.
    pub arm_night: &'static str,
    /// Button.
    pub disarm: &'static str,
    /// Button (supervisors): arm away, bypassing what is open.
    pub force_arm: &'static str,
    /// Field.
    pub your_code: &'static str,
    /// Keypad clear key.
    pub clear: &'static str,
    /// Mode.
    pub mode_disarmed: &'static str,
    /// Mode.
    pub mode_armed_away: &'static str,
    /// Mode.
    pub mode_armed_home: &'static str,
    /// Mode.
    pub mode_armed_night: &'static str,
    /// An exit delay runs.
    pub arming: &'static str,
    /// An entry delay runs.
    pub entry_delay: &'static str,
    /// Sensor state.
    pub active: &'static str,
    /// Sensor state.
    pub normal: &'static str,
    /// Sensor state.
    pub bypassed: &'static str,
    /// Sensor trouble.
    pub tamper: &'static str,
    /// Sensor trouble.
    pub battery_low: &'static str,
    /// Sensor trouble.
    pub missing: &'static str,
    /// Sensor trouble.
    pub video_lost: &'static str,
    /// Column.
    pub last_heard: &'static str,
    /// Never heard.
    pub never: &'static str,
    /// Button.
    pub bypass: &'static str,
    /// Button.
    pub unbypass: &'static str,
    /// Link state.
    pub up: &'static str,
    /// Link state.
    pub down: &'static str,
    /// Link state.
    pub degraded: &'static str,
    /// Link state.
    pub unknown: &'static str,
    /// Link name.
    pub journal: &'static str,
    /// Link name.
    pub local_broker: &'static str,
    /// Link name.
    pub clock: &'static str,
    /// Camera state.
    pub online: &'static str,
    /// Camera state.
    pub offline: &'static str,
    /// Sound control.
    pub mute: &'static str,
    /// Sound control.
    pub unmute: &'static str,
    /// Title flash.
    pub alarm_flash: &'static str,
    /// Alarm page section.
    pub timeline: &'static str,
    /// Alarm page section.
    pub evidence: &'static str,
    /// No evidence.
    pub no_evidence: &'static str,
    /// Alarm page section.
    pub escalation: &'static str,
    /// Column.
    pub tier: &'static str,
    /// Column.
    pub channel: &'static str,
    /// Column.
    pub delivery_state: &'static str,
    /// Column.
    pub attempts: &'static str,
    /// Column.
    pub last_error: &'static str,
    /// Alarm page section.
    pub viewed_by: &'static str,
    /// Column.
    pub when: &'static str,
    /// Column.
    pub who: &'static str,
    /// Column.
    pub what: &'static str,
    /// Column.
    pub from_where: &'static str,
    /// Event log filters.
    pub filter: &'static str,
    /// Filter field.
    pub from: &'static str,
    /// Filter field.
    pub to: &'static str,
    /// Filter field.
    pub category: &'static str,
    /// Filter field.
    pub area: &'static str,
    /// Filter field.
    pub zone: &'static str,
    /// Filter field.
    pub sensor: &'static str,
    /// Filter field.
    pub person: &'static str,
    /// Any.
    pub any: &'static str,
    /// Pagination.
    pub older: &'static str,
    /// Pagination.
    pub newest: &'static str,
    /// Download.
    pub export_csv: &'static str,
    /// Handover page.
    pub handover_title: &'static str,
    /// Handover: write.
    pub handover_write: &'static str,
    /// Handover: button.
    pub handover_leave: &'static str,
    /// Handover: latest.
    pub handover_latest: &'static str,
    /// Handover: since.
    pub handover_since: &'static str,
    /// Handover: confirm.
    pub handover_confirm: &'static str,
    /// Handover: confirmed.
    pub handover_read: &'static str,
    /// Handover: none.
    pub handover_none: &'static str,
    /// Health page: tasks.
    pub tasks: &'static str,
    /// Health page: counters.
    pub delivered: &'static str,
    /// Health page: counters.
    pub failed: &'static str,
    /// Health page: queue.
    pub queue: &'static str,
    /// Walk test.
    pub walk_test_start: &'static str,
    /// Walk test.
    pub walk_test_end: &'static str,
    /// Walk test.
    pub walk_test_running: &'static str,
    /// Walk test.
    pub tested: &'static str,
    /// Walk test.
    pub not_tested: &'static str,
    /// Users page.
    pub users_title: &'static str,
    /// Users page.
    pub role: &'static str,
    /// Users page.
    pub number: &'static str,
    /// Users page.
    pub disabled: &'static str,
    /// Users page.
    pub add_user: &'static str,
    /// Users page.
    pub set_password: &'static str,
    /// Users page.
    pub set_codes: &'static str,
    /// Users page.
    pub duress_code: &'static str,
    /// Users page.
    pub disable: &'static str,
    /// Users page.
    pub enable: &'static str,
    /// Users page.
    pub set_role: &'static str,
    /// A person's phone, from which SMS commands are taken.
    pub phone: &'static str,
    /// Button: set the phone.
    pub set_phone: &'static str,
    /// An SMS channel's modem: signal strength.
    pub modem_signal: &'static str,
    /// An SMS channel's gammu-smsd not heard.
    pub modem_lost: &'static str,
    /// An SMS channel's modem off the network.
    pub modem_unregistered: &'static str,
    /// Users page.
    pub tokens: &'static str,
    /// Users page.
    pub create_token: &'static str,
    /// Users page.
    pub token_shown_once: &'static str,
    /// Users page.
    pub revoke: &'static str,
    /// Name field.
    pub name: &'static str,
    /// Done.
    pub done: &'static str,
    /// Refused.
    pub refused: &'static str,
    /// Not allowed.
    pub not_allowed: &'static str,
    /// Not found.
    pub not_found: &'static str,
}

/// Tiếng Việt.
pub static VI: Texts = Texts {
    language_name: "Tiếng Việt",
    tagline: "Trung tâm báo động cổng nhà máy",
    nav_overview: "Tổng quan",
    nav_events: "Nhật ký",
    nav_handover: "Bàn giao ca",
    nav_health: "Tình trạng hệ thống",
    nav_walk_test: "Thử đi bộ",
    nav_reports: "Báo cáo",
    report_title: "Báo cáo cho kỳ họp giao ban an ninh",
    report_month: "Tháng",
    report_quarter: "Quý (ví dụ 2026-Q4)",
    report_year: "Năm đánh giá (16/11–15/11)",
    report_days: "Từ ngày … đến ngày",
    report_show: "Lập báo cáo",
    report_choose: "Chọn kỳ báo cáo.",
    report_alarms: "Số báo động",
    report_false_rate: "Tỉ lệ báo nhầm",
    report_to_ack: "Thời gian xác nhận (trung vị)",
    report_chain: "Chuỗi băm của nhật ký",
    report_as_of: "Tính đến sự kiện",
    report_incidents: "Sự cố thật",
    report_no_incidents: "Không có sự cố thật trong kỳ.",
    report_download: "Tải về",
    nav_users: "Người dùng",
    logout: "Đăng xuất",
    login_title: "Đăng nhập",
    user_name: "Tên đăng nhập",
    password: "Mật khẩu",
    log_in: "Đăng nhập",
    login_failed: "Sai tên đăng nhập hoặc mật khẩu.",
    login_locked: "Tạm khóa do đăng nhập sai nhiều lần; thử lại sau ít phút.",
    open_alarms: "Báo động đang mở",
    no_alarms: "Không có báo động mở.",
    areas: "Khu vực",
    sensors: "Vùng và cảm biến",
    cameras: "Camera",
    links: "Kết nối",
    state_raised: "Chưa xử lý",
    state_acknowledged: "Đã xác nhận",
    state_resolved: "Đã đóng",
    confirmed: "Đã xác minh",
    unconfirmed: "Chưa xác minh",
    cancelled: "Đã hủy",
    raised_ago: "Thời gian",
    told: "Đã báo cho",
    told_nobody: "chưa ai",
    told_pending: "đang chờ gửi",
    told_sent: "đã gửi",
    told_acknowledged: "đã nhận",
    told_failed: "lỗi",
    told_skipped: "không cần gửi",
    acknowledge: "Xác nhận xử lý",
    resolve: "Đóng báo động",
    resolution: "Kết luận",
    resolution_real: "Thật",
    resolution_false: "Báo nhầm",
    resolution_test: "Thử nghiệm",
    resolution_unknown: "Không rõ",
    note: "Ghi chú",
    details: "Chi tiết",
    arm_away: "Bật (đi vắng)",
    arm_home: "Bật (có người)",
    arm_night: "Bật (ban đêm)",
    disarm: "Tắt báo động",
    force_arm: "Bật cưỡng bức",
    your_code: "Mã của bạn",
    clear: "Xóa",
    mode_disarmed: "Đã tắt",
    mode_armed_away: "Bật, đi vắng",
    mode_armed_home: "Bật, có người",
    mode_armed_night: "Bật, ban đêm",
    arming: "Đang bật (thời gian ra)",
    entry_delay: "Thời gian vào",
    active: "Đang kích hoạt",
    normal: "Bình thường",
    bypassed: "Bỏ qua",
    tamper: "Bị phá",
    battery_low: "Pin yếu",
    missing: "Mất liên lạc",
    video_lost: "Mất hình",
    last_heard: "Lần cuối",
    never: "chưa bao giờ",
    bypass: "Bỏ qua",
    unbypass: "Hết bỏ qua",
    up: "Tốt",
    down: "Mất",
    degraded: "Đường dự phòng",
    unknown: "Chưa rõ",
    journal: "Nhật ký (ổ đĩa)",
    local_broker: "MQTT nội bộ",
    clock: "Đồng hồ",
    online: "Có hình",
    offline: "Mất hình",
    mute: "Tắt chuông",
    unmute: "Bật chuông",
    alarm_flash: "BÁO ĐỘNG",
    timeline: "Diễn biến",
    evidence: "Hình ảnh, video",
    no_evidence: "Không có hình ảnh.",
    escalation: "Chuyển tin",
    tier: "Cấp",
    channel: "Kênh",
    delivery_state: "Trạng thái",
    attempts: "Số lần",
    last_error: "Lỗi gần nhất",
    viewed_by: "Ai đã xem hình ảnh",
    when: "Lúc",
    who: "Ai",
    what: "Việc",
    from_where: "Từ đâu",
    filter: "Lọc",
    from: "Từ",
    to: "Đến",
    category: "Loại",
    area: "Khu vực",
    zone: "Vùng",
    sensor: "Cảm biến",
    person: "Người",
    any: "tất cả",
    older: "Cũ hơn",
    newest: "Mới nhất",
    export_csv: "Tải về CSV",
    handover_title: "Bàn giao ca",
    handover_write: "Ghi chú cho ca sau",
    handover_leave: "Lưu ghi chú bàn giao",
    handover_latest: "Ghi chú bàn giao gần nhất",
    handover_since: "Những gì xảy ra từ lúc đó",
    handover_confirm: "Tôi đã đọc",
    handover_read: "Đã đọc",
    handover_none: "Chưa có ghi chú bàn giao.",
    tasks: "Tác vụ",
    delivered: "Đã gửi",
    failed: "Lỗi",
    queue: "Đang chờ",
    walk_test_start: "Bắt đầu thử đi bộ",
    walk_test_end: "Kết thúc thử đi bộ",
    walk_test_running: "Đang thử đi bộ",
    tested: "Đã thử",
    not_tested: "Chưa thử",
    users_title: "Người dùng",
    role: "Vai trò",
    number: "Số",
    disabled: "Đã khóa",
    add_user: "Thêm người dùng",
    set_password: "Đặt mật khẩu",
    set_codes: "Đặt mã",
    duress_code: "Mã bị ép buộc",
    disable: "Khóa",
    enable: "Mở khóa",
    set_role: "Đổi vai trò",
    phone: "Điện thoại (lệnh SMS)",
    set_phone: "Lưu số điện thoại",
    modem_signal: "sóng",
    modem_lost: "gammu-smsd không phản hồi",
    modem_unregistered: "modem chưa đăng ký mạng",
    tokens: "Mã truy cập API",
    create_token: "Tạo mã truy cập",
    token_shown_once: "Mã truy cập mới (chỉ hiện một lần):",
    revoke: "Thu hồi",
    name: "Tên",
    done: "Đã thực hiện.",
    refused: "Không thực hiện được",
    not_allowed: "Bạn không có quyền làm việc này.",
    not_found: "Không tìm thấy.",
};

/// English.
pub static EN: Texts = Texts {
    language_name: "English",
    tagline: "Factory gate alarm panel",
    nav_overview: "Overview",
    nav_events: "Event log",
    nav_handover: "Shift handover",
    nav_health: "System health",
    nav_walk_test: "Walk test",
    nav_reports: "Reports",
    report_title: "Reports for the security reviews",
    report_month: "Month",
    report_quarter: "Quarter (e.g. 2026-Q4)",
    report_year: "Assessment year (16 Nov–15 Nov)",
    report_days: "From day … to day",
    report_show: "Make the report",
    report_choose: "Choose a period.",
    report_alarms: "Alarms",
    report_false_rate: "False-alarm rate",
    report_to_ack: "Time to acknowledge (median)",
    report_chain: "Journal hash chain",
    report_as_of: "As of event",
    report_incidents: "Real incidents",
    report_no_incidents: "No real incident in the period.",
    report_download: "Download",
    nav_users: "Users",
    logout: "Log out",
    login_title: "Log in",
    user_name: "User name",
    password: "Password",
    log_in: "Log in",
    login_failed: "Wrong user name or password.",
    login_locked: "Locked after repeated failures; try again in a few minutes.",
    open_alarms: "Open alarms",
    no_alarms: "No open alarms.",
    areas: "Areas",
    sensors: "Zones and sensors",
    cameras: "Cameras",
    links: "Links",
    state_raised: "Not yet handled",
    state_acknowledged: "Acknowledged",
    state_resolved: "Resolved",
    confirmed: "Confirmed",
    unconfirmed: "Unconfirmed",
    cancelled: "Cancelled",
    raised_ago: "Time",
    told: "Told",
    told_nobody: "nobody yet",
    told_pending: "pending",
    told_sent: "sent",
    told_acknowledged: "received",
    told_failed: "failed",
    told_skipped: "not needed",
    acknowledge: "Acknowledge",
    resolve: "Resolve",
    resolution: "Resolution",
    resolution_real: "Real",
    resolution_false: "False alarm",
    resolution_test: "Test",
    resolution_unknown: "Unknown",
    note: "Note",
    details: "Details",
    arm_away: "Arm away",
    arm_home: "Arm home",
    arm_night: "Arm night",
    disarm: "Disarm",
    force_arm: "Force-arm",
    your_code: "Your code",
    clear: "Clear",
    mode_disarmed: "Disarmed",
    mode_armed_away: "Armed away",
    mode_armed_home: "Armed home",
    mode_armed_night: "Armed night",
    arming: "Arming (exit delay)",
    entry_delay: "Entry delay",
    active: "Active",
    normal: "Normal",
    bypassed: "Bypassed",
    tamper: "Tampered",
    battery_low: "Battery low",
    missing: "Not heard",
    video_lost: "Video lost",
    last_heard: "Last heard",
    never: "never",
    bypass: "Bypass",
    unbypass: "Unbypass",
    up: "Up",
    down: "Down",
    degraded: "On backup",
    unknown: "Unknown",
    journal: "Journal (disk)",
    local_broker: "Local MQTT",
    clock: "Clock",
    online: "Online",
    offline: "No picture",
    mute: "Mute",
    unmute: "Sound on",
    alarm_flash: "ALARM",
    timeline: "Timeline",
    evidence: "Evidence",
    no_evidence: "No evidence.",
    escalation: "Escalation",
    tier: "Tier",
    channel: "Channel",
    delivery_state: "State",
    attempts: "Attempts",
    last_error: "Last error",
    viewed_by: "Who viewed the evidence",
    when: "When",
    who: "Who",
    what: "What",
    from_where: "From",
    filter: "Filter",
    from: "From",
    to: "To",
    category: "Category",
    area: "Area",
    zone: "Zone",
    sensor: "Sensor",
    person: "Person",
    any: "any",
    older: "Older",
    newest: "Newest",
    export_csv: "Download CSV",
    handover_title: "Shift handover",
    handover_write: "A note for the next shift",
    handover_leave: "Save the handover note",
    handover_latest: "Latest handover note",
    handover_since: "What happened since",
    handover_confirm: "I have read it",
    handover_read: "Read",
    handover_none: "No handover note yet.",
    tasks: "Tasks",
    delivered: "Delivered",
    failed: "Failed",
    queue: "Waiting",
    walk_test_start: "Start walk test",
    walk_test_end: "End walk test",
    walk_test_running: "Walk test running",
    tested: "Tested",
    not_tested: "Not yet tested",
    users_title: "Users",
    role: "Role",
    number: "No.",
    disabled: "Disabled",
    add_user: "Add user",
    set_password: "Set password",
    set_codes: "Set codes",
    duress_code: "Duress code",
    disable: "Disable",
    enable: "Enable",
    set_role: "Change role",
    phone: "Phone (SMS commands)",
    set_phone: "Save phone",
    modem_signal: "signal",
    modem_lost: "gammu-smsd not responding",
    modem_unregistered: "modem not on a network",
    tokens: "API tokens",
    create_token: "Create token",
    token_shown_once: "New token (shown only once):",
    revoke: "Revoke",
    name: "Name",
    done: "Done.",
    refused: "Refused",
    not_allowed: "You may not do this.",
    not_found: "Not found.",
};
