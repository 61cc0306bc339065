//! What an SMS says, and how it is cut into parts.
//!
//! One message is short and complete for a person reading it on a patrol phone at night:
//! category and Contact ID code, area, zone, local time, site and address, confirmed or
//! not, the alarm number, the number to call, and how to acknowledge by reply —
//! Vietnamese first, the English after it when both fit in `max_parts`. A message longer
//! than one SMS is sent as concatenated parts (a UDH names the message, the part count and
//! the part), cut between words; in `ascii` the text is folded to the GSM 7-bit alphabet
//! (`Báo cháy` → `Bao chay`), which old handsets show.

pub use crate::channels::places::Places;
use crate::config::SmsEncoding;
use crate::escalation::{AlarmInfo, Notice, NoticeKind};

/// Characters of a UCS-2 message alone, and of each part of a concatenated one.
const UNICODE: Capacity = Capacity {
    single: 70,
    part: 67,
};
/// Septets of a GSM 7-bit message alone, and of each part of a concatenated one.
const GSM: Capacity = Capacity {
    single: 160,
    part: 153,
};

/// How much text fits in one SMS.
#[derive(Debug, Clone, Copy)]
struct Capacity {
    /// Units in a message sent alone.
    single: usize,
    /// Units in each part of a concatenated message (the UDH takes the rest).
    part: usize,
}

/// The GSM 03.38 default alphabet; each of these takes one septet.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Its extension table; each of these takes two septets (escape + character).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How a message is written and where it may be cut.
#[derive(Debug, Clone)]
pub struct Style {
    /// Unicode or folded GSM.
    pub encoding: SmsEncoding,
    /// Most parts a message may take.
    pub max_parts: usize,
    /// Number a fire alarm says to call.
    pub call_fire: String,
    /// Number other alarms say to call.
    pub call_police: String,
}

/// One part of an SMS as gammu-smsd takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's text.
    pub text: String,
    /// The concatenation header as hex (`050003` + reference, count, position), empty for
    /// a message sent alone.
    pub udh: String,
}

/// The notice written as one SMS: its parts, ready for gammu-smsd. `alarm` is the outbox
/// row's alarm (an update's notice may not carry the alarm's record); `reference` names
/// the concatenated message (the same on every retry, so a handset joins the right parts).
pub fn write(
    notice: &Notice,
    alarm: Option<i64>,
    places: &Places,
    style: &Style,
    reference: u8,
) -> Vec<Part> {
    let alarm = notice
        .alarm
        .as_ref()
        .map(|a| a.id)
        .or_else(|| alarm.and_then(|id| u64::try_from(id).ok()));
    let vi = words(notice, alarm, places, style, false);
    let en = words(notice, alarm, places, style, true);
    fit(&vi, &en, style, reference)
}

/// A text in both languages as one SMS: `vi / en` when both fit in the style's parts,
/// else the Vietnamese alone, cut at a word with a mark when even that is too long.
pub fn fit(vi: &str, en: &str, style: &Style, reference: u8) -> Vec<Part> {
    let max = style.max_parts.max(1);
    let both = fold(&format!("{vi} / {en}"), style.encoding);
    let vi = fold(vi, style.encoding);
    let chosen = if split(&both, style.encoding).len() <= max {
        both
    } else {
        vi
    };
    let mut parts = split(&chosen, style.encoding);
    if parts.len() > max {
        parts.truncate(max);
        if let Some(last) = parts.last_mut() {
            end_with_ellipsis(last, style.encoding);
        }
    }
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Part {
            udh: if count > 1 {
                format!("050003{reference:02X}{count:02X}{:02X}", i + 1)
            } else {
                String::new()
            },
            text,
        })
        .collect()
}

/// The message in one language.
fn words(
    n: &Notice,
    alarm_id: Option<u64>,
    places: &Places,
    style: &Style,
    english: bool,
) -> String {
    let e = &n.event;
    let pick = |vi: &str, en: &str| if english { en } else { vi }.to_string();
    let time = places.time(e.at_ms);
    let site = if english || n.site.address.is_empty() {
        n.site.name.clone()
    } else {
        format!("{}, {}", n.site.name, n.site.address)
    };
    let code = e.code.map(|c| format!(" {c:03}")).unwrap_or_default();
    match (n.kind, &n.alarm) {
        (NoticeKind::Alarm, Some(a)) => {
            let label = category_label(&a.category, english);
            let mut place = vec![places.area(&a.area, english)];
            if let Some(zone) = &a.zone {
                place.push(places.zone(zone, english));
            }
            let confirmed = if a.confirmed {
                pick("Đã xác minh.", "Confirmed.")
            } else {
                pick("Chưa xác minh.", "Not confirmed.")
            };
            let call = call_line(a, style, english);
            format!(
                "[{label} {code:03}] {place} – {time} – {site}. {confirmed} {alarm} {id}.{call} {reply}: OK {id} <{mã}>",
                code = a.code,
                place = place.join(" – "),
                alarm = pick("Báo động", "Alarm"),
                id = a.id,
                reply = pick("Trả lời", "Reply"),
                mã = pick("mã", "code"),
            )
        }
        _ => {
            let label = event_label(n, english);
            let message = if english {
                &e.message_en
            } else {
                &e.message_vi
            };
            let alarm = alarm_id
                .map(|id| format!(" {} {id}.", pick("Báo động", "Alarm")))
                .unwrap_or_default();
            format!("[{label}{code}] {message} – {time} – {site}.{alarm}")
        }
    }
}

/// ` Gọi 114.` for fire, the police number for the rest; empty when not configured.
fn call_line(a: &AlarmInfo, style: &Style, english: bool) -> String {
    let number = if a.category == "fire" {
        &style.call_fire
    } else {
        &style.call_police
    };
    if number.trim().is_empty() {
        return String::new();
    }
    format!(" {} {number}.", if english { "Call" } else { "Gọi" })
}

/// The heading of an alarm by its category.
fn category_label(category: &str, english: bool) -> &'static str {
    let (vi, en) = match category {
        "fire" => ("BÁO CHÁY", "FIRE"),
        "panic" => ("KHẨN CẤP", "PANIC"),
        "duress" => ("BỊ ÉP BUỘC", "DURESS"),
        "burglary" => ("ĐỘT NHẬP", "INTRUSION"),
        "tamper" => ("PHÁ HOẠI THIẾT BỊ", "TAMPER"),
        "technical" => ("BÁO ĐỘNG KỸ THUẬT", "TECHNICAL ALARM"),
        "trouble" => ("SỰ CỐ", "TROUBLE"),
        _ => ("BÁO ĐỘNG", "ALARM"),
    };
    if english { en } else { vi }
}

/// The heading of an update or an event by what happened.
fn event_label(n: &Notice, english: bool) -> &'static str {
    let (vi, en) = match n.event.kind.as_str() {
        "alarm_confirmed" => ("ĐÃ XÁC MINH", "CONFIRMED"),
        "alarm_cancelled" => ("HỦY BÁO ĐỘNG", "CANCELLED"),
        "alarm_zone_restored" => ("VÙNG BÌNH THƯỜNG LẠI", "ZONE RESTORED"),
        "alarm_acknowledged" => ("ĐÃ TIẾP NHẬN", "ACKNOWLEDGED"),
        "alarm_resolved" => ("ĐÃ XỬ LÝ", "RESOLVED"),
        "trouble" => ("SỰ CỐ", "TROUBLE"),
        "trouble_restored" => ("HẾT SỰ CỐ", "TROUBLE RESTORED"),
        "test_report" => ("KIỂM TRA ĐỊNH KỲ", "PERIODIC TEST"),
        _ if n.event.qualifier == 3 => ("KHÔI PHỤC", "RESTORED"),
        _ => return category_label(&n.event.category, english),
    };
    if english { en } else { vi }
}

/// The text as the encoding sends it: unchanged in Unicode (composed, so a Vietnamese
/// letter is one character); folded to the GSM alphabet in `ascii`, anything it cannot
/// show as `?`.
fn fold(text: &str, encoding: SmsEncoding) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    match encoding {
        SmsEncoding::Unicode => text.nfc().collect(),
        SmsEncoding::Ascii => deunicode::deunicode(text)
            .chars()
            .map(|c| if units(c, encoding) == 0 { '?' } else { c })
            .collect(),
    }
}

/// Units one character takes: UTF-16 code units in Unicode; septets in GSM (0 when the
/// alphabet does not have it).
fn units(c: char, encoding: SmsEncoding) -> usize {
    match encoding {
        SmsEncoding::Unicode => c.len_utf16(),
        SmsEncoding::Ascii if GSM_BASIC.contains(c) => 1,
        SmsEncoding::Ascii if GSM_EXTENDED.contains(c) => 2,
        SmsEncoding::Ascii => 0,
    }
}

fn length(text: &str, encoding: SmsEncoding) -> usize {
    text.chars().map(|c| units(c, encoding).max(1)).sum()
}

fn capacity(encoding: SmsEncoding) -> Capacity {
    match encoding {
        SmsEncoding::Unicode => UNICODE,
        SmsEncoding::Ascii => GSM,
    }
}

/// `text` in parts that each fit, cut between words (a word longer than a part is cut
/// where it must be).
fn split(text: &str, encoding: SmsEncoding) -> Vec<String> {
    let cap = capacity(encoding);
    if length(text, encoding) <= cap.single {
        return vec![text.to_string()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for word in text.split_inclusive(' ') {
        let size = length(word, encoding);
        if used + size > cap.part && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
            used = 0;
        }
        if size <= cap.part {
            current.push_str(word);
            used += size;
            continue;
        }
        for c in word.chars() {
            let u = units(c, encoding).max(1);
            if used + u > cap.part {
                parts.push(std::mem::take(&mut current));
                used = 0;
            }
            current.push(c);
            used += u;
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Marks a part as cut short: its last word gives way to `…` (`...` in GSM).
fn end_with_ellipsis(part: &mut String, encoding: SmsEncoding) {
    let mark = match encoding {
        SmsEncoding::Unicode => "…",
        SmsEncoding::Ascii => "...",
    };
    let cap = capacity(encoding).part;
    while length(part, encoding) + length(mark, encoding) > cap {
        let cut = part.trim_end().rfind(' ').unwrap_or(0);
        if cut == 0 {
            part.pop();
        } else {
            part.truncate(cut + 1);
        }
    }
    part.push_str(mark);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{EventInfo, SiteInfo};

    fn style(encoding: SmsEncoding, max_parts: usize) -> Style {
        Style {
            encoding,
            max_parts,
            call_fire: "114".into(),
            call_police: "113".into(),
        }
    }

    fn places() -> Places {
        Places {
            areas: [(
                "kho".to_string(),
                ("Kho thành phẩm".into(), "Finished goods store".into()),
            )]
            .into(),
            zones: [(
                "khoi".to_string(),
                ("Đầu báo khói kho".into(), "Store smoke detector".into()),
            )]
            .into(),
            timezone: jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").ok(),
        }
    }

    /// A fire alarm at 02:14 on 1 December, Vietnam time.
    fn fire() -> Notice {
        let at_ms = 1_764_530_040_000; // 2025-11-30T19:14:00Z = 02:14 01/12 in UTC+7
        Notice {
            version: 1,
            kind: NoticeKind::Alarm,
            site: SiteInfo {
                id: "vidu".into(),
                name: "Cty TNHH Ví Dụ".into(),
                address: "Lô B2 KCN Sóng Thần 2".into(),
                latitude: None,
                longitude: None,
            },
            tier: Some("police".into()),
            alarm: Some(AlarmInfo {
                id: 17,
                category: "fire".into(),
                code: 110,
                area: "kho".into(),
                zone: Some("khoi".into()),
                state: "raised".into(),
                confirmed: false,
                silent: false,
                cancelled: false,
                raised_at: String::new(),
            }),
            event: EventInfo {
                seq: 5,
                at: String::new(),
                at_ms,
                kind: "alarm_raised".into(),
                category: "fire".into(),
                code: Some(110),
                qualifier: 1,
                area: Some("kho".into()),
                area_number: Some(1),
                zone: Some("khoi".into()),
                zone_number: Some(3),
                sensor: None,
                user: None,
                message_vi: "Báo cháy".into(),
                message_en: "Fire".into(),
            },
            evidence: Vec::new(),
            attachments: Vec::new(),
        }
    }

    fn joined(parts: &[Part]) -> String {
        parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn a_fire_alarm_says_everything_a_responder_needs() {
        let parts = write(
            &fire(),
            None,
            &places(),
            &style(SmsEncoding::Unicode, 3),
            0xA1,
        );
        let text = joined(&parts);
        assert!(
            text.starts_with(
                "[BÁO CHÁY 110] Kho thành phẩm – Đầu báo khói kho – 02:14 01/12 – \
                 Cty TNHH Ví Dụ, Lô B2 KCN Sóng Thần 2. Chưa xác minh. Báo động 17. Gọi 114. \
                 Trả lời: OK 17 <mã>"
            ),
            "{text}"
        );
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[0].udh, "050003A10301");
        assert_eq!(parts[2].udh, "050003A10303");
        for p in &parts {
            assert!(length(&p.text, SmsEncoding::Unicode) <= 67, "{p:?}");
        }
    }

    #[test]
    fn parts_are_cut_between_words_and_join_back_to_the_text() {
        let mut n = fire();
        n.site.address = "Lô B2 đường số 5 KCN Sóng Thần 2 phường Dĩ An thành phố Dĩ An".into();
        let parts = write(&n, None, &places(), &style(SmsEncoding::Unicode, 10), 7);
        for p in &parts[..parts.len() - 1] {
            assert!(p.text.ends_with(' '), "cut inside a word: {:?}", p.text);
        }
        assert!(joined(&parts).contains("Reply: OK 17 <code>"));
    }

    #[test]
    fn english_is_left_out_when_both_do_not_fit_and_vietnamese_is_cut_with_a_mark() {
        let parts = write(&fire(), None, &places(), &style(SmsEncoding::Unicode, 3), 1);
        assert!(!joined(&parts).contains("FIRE"));
        let one = write(&fire(), None, &places(), &style(SmsEncoding::Unicode, 1), 1);
        assert_eq!(one.len(), 1);
        assert!(one[0].text.ends_with('…'), "{:?}", one[0].text);
        assert!(one[0].udh.is_empty());
        assert!(length(&one[0].text, SmsEncoding::Unicode) <= 67);
    }

    #[test]
    fn ascii_folds_vietnamese_and_fits_both_languages_in_fewer_parts() {
        let parts = write(&fire(), None, &places(), &style(SmsEncoding::Ascii, 3), 1);
        let text = joined(&parts);
        assert!(
            text.starts_with("[BAO CHAY 110] Kho thanh pham - Dau bao khoi kho - 02:14 01/12"),
            "{text}"
        );
        assert!(
            text.contains(" / [FIRE 110] Finished goods store"),
            "{text}"
        );
        assert!(
            text.chars().all(|c| units(c, SmsEncoding::Ascii) > 0),
            "{text}"
        );
        for p in &parts {
            assert!(length(&p.text, SmsEncoding::Ascii) <= 153);
        }
    }

    #[test]
    fn an_update_names_what_happened_and_the_alarm() {
        let mut n = fire();
        n.kind = NoticeKind::AlarmUpdate;
        n.event.kind = "alarm_cancelled".into();
        n.event.code = Some(406);
        n.event.message_vi = "Hủy báo động".into();
        n.event.message_en = "Alarm cancelled".into();
        let text = joined(&write(
            &n,
            None,
            &places(),
            &style(SmsEncoding::Unicode, 3),
            1,
        ));
        assert!(
            text.starts_with("[HỦY BÁO ĐỘNG 406] Hủy báo động – 02:14 01/12"),
            "{text}"
        );
        assert!(text.contains("Báo động 17."), "{text}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_splits_into_parts_that_fit_and_lose_nothing(
            s in "\\PC{0,600}",
            ascii in proptest::bool::ANY,
        ) {
            let encoding = if ascii { SmsEncoding::Ascii } else { SmsEncoding::Unicode };
            let text = fold(&s, encoding);
            let parts = split(&text, encoding);
            proptest::prop_assert_eq!(parts.concat(), text.clone());
            let limit = if parts.len() == 1 { capacity(encoding).single } else { capacity(encoding).part };
            for p in &parts {
                proptest::prop_assert!(length(p, encoding) <= limit);
            }
        }
    }
}
