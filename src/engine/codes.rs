//! The event taxonomy: categories and Contact ID codes, with their Vietnamese and English
//! names, so an event reads the same on the page, in MQTT, in a webhook and at the alarm
//! receiving centre.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What an event is about, for filtering and for choosing who is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Smoke, heat, call point.
    Fire,
    /// Panic button.
    Panic,
    /// Duress code used.
    Duress,
    /// Intrusion.
    Burglary,
    /// Sensor or enclosure tamper.
    Tamper,
    /// Water, gas and other technical alarms.
    Technical,
    /// Something is broken: supervision, battery, communication.
    Trouble,
    /// Arming and disarming.
    Arming,
    /// A disarm inside the abort window.
    Cancel,
    /// A zone taken out of service.
    Bypass,
    /// Walk tests and periodic tests.
    Test,
    /// Ordinary status: sensor changes, alarm handling by people.
    Status,
}

impl Category {
    /// Stable lowercase name used in the journal, MQTT and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Fire => "fire",
            Category::Panic => "panic",
            Category::Duress => "duress",
            Category::Burglary => "burglary",
            Category::Tamper => "tamper",
            Category::Technical => "technical",
            Category::Trouble => "trouble",
            Category::Arming => "arming",
            Category::Cancel => "cancel",
            Category::Bypass => "bypass",
            Category::Test => "test",
            Category::Status => "status",
        }
    }

    /// Is this category one that raises alarms (as opposed to troubles and status)?
    pub fn is_alarm(self) -> bool {
        matches!(
            self,
            Category::Fire
                | Category::Panic
                | Category::Duress
                | Category::Burglary
                | Category::Tamper
                | Category::Technical
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Contact ID event code (SIA DC-05), e.g. 130 for burglary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactId(pub u16);

/// The codes picket raises, with category and names.
const TABLE: &[(u16, Category, &str, &str)] = &[
    (110, Category::Fire, "Báo cháy", "Fire alarm"),
    (
        111,
        Category::Fire,
        "Báo cháy: đầu báo khói",
        "Fire: smoke detector",
    ),
    (
        114,
        Category::Fire,
        "Báo cháy: đầu báo nhiệt",
        "Fire: heat detector",
    ),
    (
        115,
        Category::Fire,
        "Báo cháy: nút ấn",
        "Fire: manual call point",
    ),
    (120, Category::Panic, "Báo động khẩn cấp", "Panic alarm"),
    (121, Category::Duress, "Báo động bị uy hiếp", "Duress alarm"),
    (130, Category::Burglary, "Đột nhập", "Burglary"),
    (
        131,
        Category::Burglary,
        "Đột nhập vành đai",
        "Perimeter burglary",
    ),
    (
        132,
        Category::Burglary,
        "Đột nhập bên trong",
        "Interior burglary",
    ),
    (
        133,
        Category::Burglary,
        "Đột nhập vùng 24 giờ",
        "24-hour burglary",
    ),
    (
        134,
        Category::Burglary,
        "Đột nhập cửa ra vào",
        "Entry/exit burglary",
    ),
    (
        137,
        Category::Tamper,
        "Phá hoại vùng chống phá",
        "Tamper zone alarm",
    ),
    (
        139,
        Category::Burglary,
        "Đột nhập đã xác nhận",
        "Intrusion confirmed",
    ),
    (144, Category::Tamper, "Phá hoại cảm biến", "Sensor tamper"),
    (
        150,
        Category::Technical,
        "Báo động kỹ thuật",
        "Technical alarm",
    ),
    (154, Category::Technical, "Rò rỉ nước", "Water leak"),
    (300, Category::Trouble, "Sự cố hệ thống", "System trouble"),
    (301, Category::Trouble, "Mất điện lưới", "AC power loss"),
    (302, Category::Trouble, "Pin yếu", "Low battery"),
    (
        350,
        Category::Trouble,
        "Sự cố đường truyền",
        "Communication trouble",
    ),
    (
        354,
        Category::Trouble,
        "Không gửi được sự kiện",
        "Failure to communicate",
    ),
    (
        374,
        Category::Burglary,
        "Lỗi khi ra (cửa còn mở)",
        "Exit error",
    ),
    (380, Category::Trouble, "Sự cố cảm biến", "Sensor trouble"),
    (
        381,
        Category::Trouble,
        "Mất giám sát cảm biến",
        "Loss of supervision",
    ),
    (
        401,
        Category::Arming,
        "Bật/tắt báo động",
        "Armed/disarmed by user",
    ),
    (
        403,
        Category::Arming,
        "Tự động bật/tắt báo động",
        "Automatic arm/disarm",
    ),
    (406, Category::Cancel, "Hủy báo động", "Alarm cancelled"),
    (
        407,
        Category::Arming,
        "Bật/tắt báo động từ xa",
        "Remote arm/disarm",
    ),
    (
        409,
        Category::Arming,
        "Bật/tắt báo động bằng khóa",
        "Keyswitch arm/disarm",
    ),
    (
        441,
        Category::Arming,
        "Bật báo động khi có người",
        "Armed stay",
    ),
    (570, Category::Bypass, "Bỏ qua vùng", "Zone bypass"),
    (602, Category::Test, "Kiểm tra định kỳ", "Periodic test"),
    (607, Category::Test, "Thử đi bộ", "Walk test"),
];

impl ContactId {
    /// Fire, unspecified detector.
    pub const FIRE: ContactId = ContactId(110);
    /// Smoke detector.
    pub const SMOKE: ContactId = ContactId(111);
    /// Heat detector.
    pub const HEAT: ContactId = ContactId(114);
    /// Manual call point.
    pub const CALL_POINT: ContactId = ContactId(115);
    /// Panic.
    pub const PANIC: ContactId = ContactId(120);
    /// Duress.
    pub const DURESS: ContactId = ContactId(121);
    /// Burglary, unspecified.
    pub const BURGLARY: ContactId = ContactId(130);
    /// Perimeter burglary.
    pub const PERIMETER: ContactId = ContactId(131);
    /// Interior burglary.
    pub const INTERIOR: ContactId = ContactId(132);
    /// 24-hour burglary.
    pub const BURGLARY_24H: ContactId = ContactId(133);
    /// Entry/exit burglary.
    pub const ENTRY_EXIT: ContactId = ContactId(134);
    /// Tamper zone.
    pub const TAMPER_ZONE: ContactId = ContactId(137);
    /// Intrusion confirmed by a second detector.
    pub const CONFIRMED: ContactId = ContactId(139);
    /// Sensor tamper.
    pub const SENSOR_TAMPER: ContactId = ContactId(144);
    /// Technical alarm.
    pub const TECHNICAL: ContactId = ContactId(150);
    /// Water leak.
    pub const WATER: ContactId = ContactId(154);
    /// System trouble (journal unwritable and the like).
    pub const SYSTEM_TROUBLE: ContactId = ContactId(300);
    /// A peripheral (MQTT broker, GPIO) is unreachable.
    pub const PERIPHERAL_TROUBLE: ContactId = ContactId(330);
    /// Low battery.
    pub const LOW_BATTERY: ContactId = ContactId(302);
    /// Exit error.
    pub const EXIT_ERROR: ContactId = ContactId(374);
    /// Sensor trouble (video loss and the like).
    pub const SENSOR_TROUBLE: ContactId = ContactId(380);
    /// Loss of supervision.
    pub const SUPERVISION: ContactId = ContactId(381);
    /// Armed away / disarmed by a user.
    pub const OPEN_CLOSE: ContactId = ContactId(401);
    /// Armed stay (home, night).
    pub const ARMED_STAY: ContactId = ContactId(441);
    /// Armed away / disarmed remotely (the page, MQTT, SMS).
    pub const REMOTE_OPEN_CLOSE: ContactId = ContactId(407);
    /// Armed / disarmed by a keyswitch.
    pub const KEYSWITCH_OPEN_CLOSE: ContactId = ContactId(409);

    /// The opening (disarm) or closing (arm in `mode`) code for arming done from `origin`:
    /// 409 by keyswitch; otherwise 441 for home and night; away and disarm 407 when done
    /// remotely (the page, MQTT, SMS) and 401 at a keypad or the console.
    pub fn opening_closing(origin: Option<super::Origin>, mode: super::Mode) -> ContactId {
        use super::{Mode, Origin};
        match (origin, mode) {
            (Some(Origin::Keyswitch), _) => ContactId::KEYSWITCH_OPEN_CLOSE,
            (_, Mode::ArmedHome | Mode::ArmedNight) => ContactId::ARMED_STAY,
            (Some(Origin::Page | Origin::Mqtt | Origin::Sms | Origin::Api), _) => {
                ContactId::REMOTE_OPEN_CLOSE
            }
            _ => ContactId::OPEN_CLOSE,
        }
    }
    /// Cancel.
    pub const CANCEL: ContactId = ContactId(406);
    /// Bypass.
    pub const BYPASS: ContactId = ContactId(570);
    /// Walk test.
    pub const WALK_TEST: ContactId = ContactId(607);

    fn entry(self) -> Option<&'static (u16, Category, &'static str, &'static str)> {
        TABLE.iter().find(|(code, ..)| *code == self.0)
    }

    /// The category this code belongs to.
    pub fn category(self) -> Category {
        self.entry().map(|e| e.1).unwrap_or(Category::Status)
    }

    /// Vietnamese name.
    pub fn name_vi(self) -> &'static str {
        self.entry().map(|e| e.2).unwrap_or("Sự kiện")
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        self.entry().map(|e| e.3).unwrap_or("Event")
    }

    /// Every code in the table, for documentation and tests.
    pub fn all() -> impl Iterator<Item = ContactId> {
        TABLE.iter().map(|(code, ..)| ContactId(*code))
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// Contact ID event qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifier {
    /// 1: new event, or disarm (opening) for 401.
    New,
    /// 3: restore, or arm (closing) for 401.
    Restore,
    /// 6: status report of a previous event.
    Status,
}

impl Qualifier {
    /// The digit sent on the wire.
    pub fn digit(self) -> u8 {
        match self {
            Qualifier::New => 1,
            Qualifier::Restore => 3,
            Qualifier::Status => 6,
        }
    }

    /// The qualifier for a digit from the journal.
    pub fn from_digit(d: i64) -> Option<Qualifier> {
        match d {
            1 => Some(Qualifier::New),
            3 => Some(Qualifier::Restore),
            6 => Some(Qualifier::Status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_in_design_table_is_known_with_both_languages() {
        for code in [
            110, 111, 114, 115, 120, 121, 130, 131, 132, 133, 134, 137, 144, 300, 301, 302, 350,
            354, 380, 381, 401, 403, 441, 406, 570, 602,
        ] {
            let id = ContactId(code);
            assert!(id.entry().is_some(), "{code} missing");
            assert!(!id.name_vi().is_empty() && !id.name_en().is_empty());
            assert_ne!(id.name_vi(), id.name_en(), "{code} not translated");
        }
        assert_eq!(ContactId(111).category(), Category::Fire);
        assert_eq!(ContactId(121).category(), Category::Duress);
        assert_eq!(ContactId(381).category(), Category::Trouble);
    }
}
