//! Phone numbers as people write them and as modems report them, brought to one form
//! (`+` and digits, E.164) so that a number in the configuration, a person's phone on the
//! users page and the sender of an SMS that gammu-smsd received compare equal. A national
//! number (a leading `0`, as Vietnamese write `0901 234 567`) is read in Vietnam's
//! country code, `+84`.

/// The country code national numbers are read in.
pub const NATIONAL_PREFIX: &str = "+84";

/// Fewest and most digits of a full international number (E.164 allows up to 15).
const DIGITS: std::ops::RangeInclusive<usize> = 8..=15;

/// `text` as `+<digits>`, or why it is not a phone number. Spaces, dots, dashes and
/// brackets are dropped; `00` and a leading `0` are read as above.
pub fn normalize(text: &str) -> Result<String, String> {
    let kept: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = if let Some(rest) = kept.strip_prefix('+') {
        rest.to_string()
    } else if let Some(rest) = kept.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = kept.strip_prefix('0') {
        format!("{}{rest}", &NATIONAL_PREFIX[1..])
    } else {
        kept.clone()
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{}` is not a phone number (digits, optionally starting with + or 0)",
            crate::text::for_log(text)
        ));
    }
    if !DIGITS.contains(&digits.len()) {
        return Err(format!(
            "`{}` has {} digits; a phone number with its country code has {}–{} \
             (113 and 114 are called, not sent an SMS)",
            crate::text::for_log(text),
            digits.len(),
            DIGITS.start(),
            DIGITS.end()
        ));
    }
    Ok(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_international_and_written_forms_meet() {
        for written in [
            "0901 234 567",
            "+84 901 234 567",
            "0084901234567",
            "+84-901-234-567",
            "(+84) 901.234.567",
        ] {
            assert_eq!(
                normalize(written).as_deref(),
                Ok("+84901234567"),
                "{written}"
            );
        }
        assert_eq!(normalize("+6585551234").as_deref(), Ok("+6585551234"));
    }

    #[test]
    fn what_is_not_a_number_is_named() {
        assert!(normalize("").is_err());
        assert!(normalize("113").unwrap_err().contains("3 digits"));
        assert!(
            normalize("09x1234567")
                .unwrap_err()
                .contains("not a phone number")
        );
        assert!(normalize("+1234567890123456").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_number_or_an_error(s in "\\PC{0,40}") {
            if let Ok(n) = normalize(&s) {
                proptest::prop_assert!(n.starts_with('+'));
                proptest::prop_assert!(n[1..].chars().all(|c| c.is_ascii_digit()));
                proptest::prop_assert_eq!(normalize(&n), Ok(n.clone()));
            }
        }
    }
}
