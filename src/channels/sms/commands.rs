//! What a person's SMS asks, read from its text: `OK <alarm> <code>` acknowledges,
//! `TAT <area> <code>` (`TẮT`, `DISARM`) disarms, `BAT <area> [VANG|NHA|DEM] <code>`
//! (`BẬT`, `ARM`, with `AWAY|HOME|NIGHT`) arms, `TT` (`STATUS`) asks for the open alarms
//! and the areas' modes. Case and Vietnamese diacritics do not matter. The text comes from
//! anyone's phone: it is read word by word, never indexed, and a text that is none of
//! these is [`SmsCommand::NotACommand`].

use crate::keypad::Request;

/// Most words of a message looked at.
const MAX_WORDS: usize = 8;

/// What a message asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsCommand {
    /// Acknowledge an alarm.
    Acknowledge {
        /// The alarm number, as the alarm SMS gave it.
        alarm: u64,
        /// The person's code.
        code: String,
    },
    /// Disarm an area.
    Disarm {
        /// Area id or Contact ID area number, as written.
        area: String,
        /// The person's code.
        code: String,
    },
    /// Arm an area.
    Arm {
        /// Area id or number, as written.
        area: String,
        /// `away` (default), `home` or `night`.
        mode: &'static str,
        /// The person's code.
        code: String,
    },
    /// The open alarms and the areas' modes.
    Status,
    /// None of these.
    NotACommand,
}

impl SmsCommand {
    /// Reads a message's text.
    pub fn parse(text: &str) -> SmsCommand {
        let folded = deunicode::deunicode(text);
        let words: Vec<&str> = folded.split_whitespace().take(MAX_WORDS).collect();
        let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
        let Some(verb) = upper(0) else {
            return SmsCommand::NotACommand;
        };
        match (verb.as_str(), words.len()) {
            ("TT" | "STATUS", 1) => SmsCommand::Status,
            ("OK", 3) => match words.get(1).and_then(|w| w.parse().ok()) {
                Some(alarm) => SmsCommand::Acknowledge {
                    alarm,
                    code: words.get(2).map(|w| w.to_string()).unwrap_or_default(),
                },
                None => SmsCommand::NotACommand,
            },
            ("TAT" | "DISARM", 3) => SmsCommand::Disarm {
                area: words.get(1).map(|w| w.to_string()).unwrap_or_default(),
                code: words.get(2).map(|w| w.to_string()).unwrap_or_default(),
            },
            ("BAT" | "ARM", 3 | 4) => {
                let mode = if words.len() == 4 {
                    match upper(2).as_deref() {
                        Some("VANG" | "AWAY") => "away",
                        Some("NHA" | "HOME") => "home",
                        Some("DEM" | "NIGHT") => "night",
                        _ => return SmsCommand::NotACommand,
                    }
                } else {
                    "away"
                };
                SmsCommand::Arm {
                    area: words.get(1).map(|w| w.to_string()).unwrap_or_default(),
                    mode,
                    code: words.last().map(|w| w.to_string()).unwrap_or_default(),
                }
            }
            _ => SmsCommand::NotACommand,
        }
    }

    /// The keypad request it makes, with the area given as its id; `None` for status and
    /// what is not a command.
    pub fn request(&self, area_id: impl Fn(&str) -> String) -> Option<Request> {
        let request = match self {
            SmsCommand::Acknowledge { alarm, code } => Request {
                action: "ack".into(),
                alarm: Some(*alarm),
                note: "SMS".into(),
                code: code.clone(),
                ..Request::default()
            },
            SmsCommand::Disarm { area, code } => Request {
                action: "disarm".into(),
                area: area_id(area),
                code: code.clone(),
                ..Request::default()
            },
            SmsCommand::Arm { area, mode, code } => Request {
                action: "arm".into(),
                area: area_id(area),
                mode: (*mode).into(),
                code: code.clone(),
                ..Request::default()
            },
            SmsCommand::Status | SmsCommand::NotACommand => return None,
        };
        Some(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_in_both_languages() {
        assert_eq!(
            SmsCommand::parse("OK 17 1234"),
            SmsCommand::Acknowledge {
                alarm: 17,
                code: "1234".into()
            }
        );
        assert_eq!(
            SmsCommand::parse("  ok 17   1234\n"),
            SmsCommand::parse("OK 17 1234")
        );
        for text in ["TẮT kho 1234", "tat kho 1234", "DISARM kho 1234"] {
            assert_eq!(
                SmsCommand::parse(text),
                SmsCommand::Disarm {
                    area: "kho".into(),
                    code: "1234".into()
                },
                "{text}"
            );
        }
        assert_eq!(
            SmsCommand::parse("Bật kho đêm 1234"),
            SmsCommand::Arm {
                area: "kho".into(),
                mode: "night",
                code: "1234".into()
            }
        );
        assert_eq!(
            SmsCommand::parse("ARM 1 1234"),
            SmsCommand::Arm {
                area: "1".into(),
                mode: "away",
                code: "1234".into()
            }
        );
        assert_eq!(SmsCommand::parse("tt"), SmsCommand::Status);
        assert_eq!(SmsCommand::parse("STATUS"), SmsCommand::Status);
    }

    #[test]
    fn what_is_not_a_command_is_said_so() {
        for text in [
            "",
            "OK",
            "OK 17",
            "OK x 1234",
            "BAT kho bogus 1234",
            "xin chào",
            "TT 1234 more",
        ] {
            assert_eq!(SmsCommand::parse(text), SmsCommand::NotACommand, "{text}");
        }
    }

    #[test]
    fn a_command_becomes_the_keypad_request_with_the_area_id() {
        let r = SmsCommand::parse("TAT 2 1234")
            .request(|a| if a == "2" { "kho".into() } else { a.into() })
            .unwrap();
        assert_eq!(r.action, "disarm");
        assert_eq!(r.area, "kho");
        assert_eq!(r.code, "1234");
        assert!(SmsCommand::Status.request(|a| a.into()).is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panicking(s in "\\PC{0,300}") {
            let c = SmsCommand::parse(&s);
            if let Some(r) = c.request(|a| a.to_string()) {
                proptest::prop_assert!(!r.action.is_empty());
            }
        }
    }
}
