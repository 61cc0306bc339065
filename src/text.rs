//! Text that came from outside (MQTT payloads and topics, feed lines, DC-09 answers, RTSP
//! servers' words, HTTP input) made safe for a log line or an error message: control
//! characters, line breaks and bidirectional overrides are escaped, so a payload cannot
//! forge a log line or hide what it says, and the text is cut to a bounded length, so a
//! flood of large payloads cannot fill an SD card through the log. Also: a field made safe
//! for a CSV cell, for what people open in a spreadsheet.

use std::fmt::Write as _;

/// One CSV field, quoted when it must be, and with a leading `= + - @` defused (a
/// spreadsheet would run it as a formula): for the event log's and the reports' CSV.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Most characters of outside text kept in one log field.
pub const LOG_LIMIT: usize = 200;

/// `text` escaped and cut to [`LOG_LIMIT`] characters for a log or an error.
pub fn for_log(text: &str) -> String {
    for_log_bytes(text.as_bytes())
}

/// Bytes from outside as text for a log: valid UTF-8 is kept, every other byte is written
/// `\xNN`; then as [`for_log`].
pub fn for_log_bytes(bytes: &[u8]) -> String {
    let pieces = bytes.utf8_chunks().flat_map(|chunk| {
        let chars = chunk.valid().chars().map(Piece::Char);
        chars.chain(chunk.invalid().iter().copied().map(Piece::Byte))
    });
    let mut out = String::new();
    let mut rest = 0usize;
    for (i, piece) in pieces.enumerate() {
        if i >= LOG_LIMIT {
            rest += 1;
            continue;
        }
        match piece {
            Piece::Char(c) => push_escaped(&mut out, c),
            Piece::Byte(b) => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if rest > 0 {
        let _ = write!(out, "…(+{rest} more)");
    }
    out
}

/// What a caught panic said, escaped for a log line.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        for_log(s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        for_log(s)
    } else {
        "(no message)".to_string()
    }
}

/// One element of outside input: a character, or a byte that is not UTF-8.
enum Piece {
    /// A character.
    Char(char),
    /// A byte that is not part of valid UTF-8.
    Byte(u8),
}

/// Pushes `c`, escaped when it could break or disguise a log line.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_invisible_format(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Line and paragraph separators and bidirectional controls: not "control" characters to
/// Rust, but they break or reorder a line as a reader sees it.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn a_forged_log_line_stays_on_one_line() {
        let payload = "{\"contact\":true}\n2026-01-01T00:00:00Z INFO Main gate disarmed by admin";
        let safe = for_log(payload);
        assert!(!safe.contains('\n'), "{safe}");
        assert!(safe.contains("\\n2026-01-01"), "{safe}");
    }

    #[test]
    fn vietnamese_is_kept_and_controls_are_named() {
        assert_eq!(
            for_log("Cổng chính\u{7}\u{202e}"),
            "Cổng chính\\u{7}\\u{202e}"
        );
        assert_eq!(for_log("a\\b"), "a\\\\b");
    }

    #[test]
    fn long_text_is_cut_and_says_how_much_more() {
        let long = "x".repeat(LOG_LIMIT + 40);
        let safe = for_log(&long);
        assert!(safe.starts_with(&"x".repeat(LOG_LIMIT)));
        assert!(safe.ends_with("…(+40 more)"), "{safe}");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_hex() {
        assert_eq!(for_log_bytes(b"\rX\n\xff"), "\\rX\\n\\xff");
        assert_eq!(for_log_bytes("ổ".as_bytes()), "ổ");
    }

    proptest! {
        #[test]
        fn no_outside_bytes_break_a_line_or_exceed_the_limit(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let safe = for_log_bytes(&bytes);
            prop_assert!(!safe.chars().any(|c| c.is_control() || is_invisible_format(c)));
            // Every kept piece is at most `\u{10ffff}` long; plus the count.
            prop_assert!(safe.chars().count() <= LOG_LIMIT * 10 + 24);
            let text = String::from_utf8_lossy(&bytes);
            let safe = for_log(&text);
            prop_assert!(!safe.chars().any(|c| c.is_control() || is_invisible_format(c)));
        }
    }
}
