//! Vietnamese and English sentences for events and refusals, in one place so a
//! translator can review them together.

use super::model::{Mode, Refusal};
use super::site::{Names, SensorDef};
use crate::config::SensorKind;

/// A sentence in both languages.
pub type Text = (String, String);

/// "opened"/"closed" and the like, by sensor kind.
pub fn sensor_state(sensor: &SensorDef, active: bool) -> Text {
    let (on, off) = match sensor.kind {
        SensorKind::Contact => (("mở", "opened"), ("đóng", "closed")),
        SensorKind::Motion | SensorKind::Camera => (
            ("phát hiện chuyển động", "motion detected"),
            ("hết chuyển động", "motion cleared"),
        ),
        SensorKind::Fence => (
            ("hàng rào bị tác động", "fence disturbed"),
            ("hàng rào bình thường", "fence normal"),
        ),
        SensorKind::Smoke => (
            ("phát hiện khói", "smoke detected"),
            ("hết khói", "smoke cleared"),
        ),
        SensorKind::Heat => (
            ("phát hiện nhiệt độ cao", "heat detected"),
            ("nhiệt độ bình thường", "heat cleared"),
        ),
        SensorKind::CallPoint | SensorKind::PanicButton => {
            (("được nhấn", "pressed"), ("được khôi phục", "reset"))
        }
        SensorKind::Water => (("phát hiện nước", "water detected"), ("khô", "dry")),
        SensorKind::Tamper => (("bị phá", "tampered"), ("bình thường", "normal")),
    };
    let (vi, en) = if active { on } else { off };
    (
        format!("{}: {vi}", sensor.names.vi),
        format!("{}: {en}", sensor.names.en),
    )
}

/// "<code name> — <zone> (<area>)".
pub fn at_zone(code_vi: &str, code_en: &str, zone: &Names, area: &Names) -> Text {
    (
        format!("{code_vi} — {} ({})", zone.vi, area.vi),
        format!("{code_en} — {} ({})", zone.en, area.en),
    )
}

/// "<what> — <area>".
pub fn at_area(what_vi: &str, what_en: &str, area: &Names) -> Text {
    (
        format!("{what_vi} — {}", area.vi),
        format!("{what_en} — {}", area.en),
    )
}

/// Area mode change by a person.
pub fn mode_change(mode: Mode, area: &Names, user: &str) -> Text {
    (
        format!("{} {} bởi {user}", area.vi, mode.name_vi()),
        format!("{} {} by {user}", area.en, mode.name_en()),
    )
}

/// A refusal in both languages.
pub fn refuse(vi: impl Into<String>, en: impl Into<String>) -> Refusal {
    Refusal {
        reason_vi: vi.into(),
        reason_en: en.into(),
    }
}

/// Joins zone names for a message.
pub fn zone_list(zones: &[&Names]) -> Text {
    (
        zones
            .iter()
            .map(|z| z.vi.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        zones
            .iter()
            .map(|z| z.en.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    )
}
