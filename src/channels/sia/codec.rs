//! The DC-09 frame: `\n` CRC(4 hex) LLLL(4 hex) `"` [`*`]id `"` seq Rrcvr Lline #acct
//! `[` data `]` [extended data] `_`HH:MM:SS,MM-DD-YYYY `\r`.
//!
//! The CRC (CRC-16/ARC, from the `crc` crate) and the length cover everything between the
//! length field and the closing `\r`. With a key, the id carries a `*` and everything from
//! the data on is AES-CBC encrypted (zero IV, as the standard and pysiaalarm use) after a
//! random pad ending in `|`, sent as uppercase hex. AES-128, -192 and -256 by key length.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use rand::RngExt;

/// The message type token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// SIA DC-03 data (`SIA-DCS`).
    SiaDcs,
    /// Contact ID data (`ADM-CID`).
    AdmCid,
    /// Link supervision poll (`NULL`).
    Null,
    /// Acknowledgement.
    Ack,
    /// Negative acknowledgement (bad CRC, bad time: resend).
    Nak,
    /// "Data unable to handle": the receiver will not take it.
    Duh,
}

impl Token {
    /// The token as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Token::SiaDcs => "SIA-DCS",
            Token::AdmCid => "ADM-CID",
            Token::Null => "NULL",
            Token::Ack => "ACK",
            Token::Nak => "NAK",
            Token::Duh => "DUH",
        }
    }

    fn parse(s: &str) -> Option<Token> {
        [
            Token::SiaDcs,
            Token::AdmCid,
            Token::Null,
            Token::Ack,
            Token::Nak,
            Token::Duh,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// One DC-09 message, without framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Type.
    pub token: Token,
    /// Sequence number, 0000–9999.
    pub sequence: u16,
    /// Receiver number (hex, 1–6 digits), if any.
    pub receiver: Option<String>,
    /// Line prefix (hex, 1–6 digits).
    pub line: String,
    /// Account (hex, 3–16 digits), if any.
    pub account: Option<String>,
    /// The data between the first brackets.
    pub data: String,
    /// Extended data blocks, each without brackets (`Ssite name`, `X106.62`…).
    pub extended: Vec<String>,
    /// Time stamp (UTC), if any.
    pub timestamp: Option<jiff::civil::DateTime>,
}

pub use crate::config::sia_key::SiaKey as Key;

/// Why a frame could not be made sense of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Not `\n` … `\r`, or too short.
    #[error("not a DC-09 frame: {0}")]
    Framing(String),
    /// The CRC does not match.
    #[error("CRC mismatch: frame says {stated:04X}, content gives {computed:04X}")]
    Crc {
        /// In the frame.
        stated: u16,
        /// Computed.
        computed: u16,
    },
    /// The length does not match.
    #[error("length mismatch: frame says {stated}, content is {actual}")]
    Length {
        /// In the frame.
        stated: usize,
        /// Actual.
        actual: usize,
    },
    /// A field is malformed.
    #[error("bad {field}: {detail}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Encrypted, but no (or the wrong) key.
    #[error("encrypted message: {0}")]
    Crypto(String),
}

fn field(field: &'static str, detail: impl Into<String>) -> CodecError {
    CodecError::Field {
        field,
        detail: detail.into(),
    }
}

/// The cipher, where the codec uses it.
impl Key {
    fn encrypt(&self, buf: &mut [u8]) {
        let iv = [0u8; 16];
        let len = buf.len();
        let _ = match self.bytes().len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(self.bytes(), &iv)
                .map(|c| c.encrypt_padded_mut::<NoPadding>(buf, len).map(|_| ())),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(self.bytes(), &iv)
                .map(|c| c.encrypt_padded_mut::<NoPadding>(buf, len).map(|_| ())),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(self.bytes(), &iv)
                .map(|c| c.encrypt_padded_mut::<NoPadding>(buf, len).map(|_| ())),
        };
    }

    fn decrypt(&self, buf: &mut [u8]) -> Result<(), CodecError> {
        let iv = [0u8; 16];
        let bad = |e: String| CodecError::Crypto(e);
        let result = match self.bytes().len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(self.bytes(), &iv)
                .map_err(|e| bad(e.to_string()))?
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(self.bytes(), &iv)
                .map_err(|e| bad(e.to_string()))?
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(self.bytes(), &iv)
                .map_err(|e| bad(e.to_string()))?
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
        };
        result.map_err(|e| bad(format!("cannot decrypt: {e}")))
    }
}

/// CRC-16/ARC, the DC-09 checksum.
pub fn crc16(bytes: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(bytes)
}

const TIME_FORMAT: &str = "_%H:%M:%S,%m-%d-%Y";

/// Contact ID data for an ADM-CID message: `#acct|QEEE GG ZZZ`.
pub fn contact_id_data(account: &str, qualifier: u8, code: u16, group: u8, zone: u16) -> String {
    format!("#{account}|{qualifier}{code:03} {group:02} {zone:03}")
}

/// SIA-DCS data: `#acct|Nri<area>/<code><zone>`, e.g. `#1234|Nri1/BA015`.
pub fn sia_data(account: &str, area: u8, code: &str, zone: u16) -> String {
    format!("#{account}|Nri{area}/{code}{zone:03}")
}

/// The part after the brackets' opening: data, extended blocks, timestamp.
fn tail(msg: &Message) -> String {
    let mut s = format!("{}]", msg.data);
    for x in &msg.extended {
        s.push('[');
        s.push_str(x);
        s.push(']');
    }
    if let Some(t) = msg.timestamp {
        s.push_str(&t.strftime(TIME_FORMAT).to_string());
    }
    s
}

/// Frames a message, encrypting it when a key is given.
pub fn encode(msg: &Message, key: Option<&Key>) -> Vec<u8> {
    let mut body = format!(
        "\"{}{}\"{:04}",
        if key.is_some() { "*" } else { "" },
        msg.token.as_str(),
        msg.sequence % 10_000
    );
    if let Some(r) = &msg.receiver {
        body.push('R');
        body.push_str(r);
    }
    body.push('L');
    body.push_str(&msg.line);
    if let Some(a) = &msg.account {
        body.push('#');
        body.push_str(a);
    }
    body.push('[');
    match key {
        None => body.push_str(&tail(msg)),
        Some(key) => {
            let plain = format!("|{}", tail(msg));
            let pad_len = 16 - plain.len() % 16;
            const PAD: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let mut rng = rand::rng();
            let mut buf: Vec<u8> = (0..pad_len)
                .map(|_| PAD[rng.random_range(0..PAD.len())])
                .collect();
            buf.extend_from_slice(plain.as_bytes());
            key.encrypt(&mut buf);
            body.push_str(&hex::encode_upper(&buf));
        }
    }
    format!("\n{:04X}{:04X}{body}\r", crc16(body.as_bytes()), body.len()).into_bytes()
}

/// Splits the leading run of (hex) digits off `s`.
fn take_digits(s: &str, hex: bool) -> (&str, &str) {
    let n = s
        .bytes()
        .take_while(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        })
        .count();
    // The run is ASCII, so `n` is a character boundary.
    s.split_at_checked(n).unwrap_or(("", s))
}

/// Parses a frame (CRC and length checked), decrypting with `key` when it is encrypted.
/// Whatever the bytes, it returns a message or an error naming what is wrong; it never
/// panics (a receiver may be broken or lying).
pub fn decode(frame: &[u8], key: Option<&Key>) -> Result<Message, CodecError> {
    let text = std::str::from_utf8(frame).map_err(|_| CodecError::Framing("not ASCII".into()))?;
    let inner = text
        .strip_prefix('\n')
        .and_then(|t| t.strip_suffix('\r'))
        .ok_or_else(|| CodecError::Framing("must start with LF and end with CR".into()))?;
    let (Some(crc_text), Some(len_text), Some(body)) =
        (inner.get(..4), inner.get(4..8), inner.get(8..))
    else {
        return Err(CodecError::Framing("too short".into()));
    };
    let hex4 = |t: &str| t.bytes().all(|c| c.is_ascii_hexdigit());
    let stated_crc = u16::from_str_radix(crc_text, 16)
        .ok()
        .filter(|_| hex4(crc_text))
        .ok_or_else(|| field("CRC", crate::text::for_log(crc_text)))?;
    let stated_len = usize::from_str_radix(len_text, 16)
        .ok()
        .filter(|_| hex4(len_text))
        .ok_or_else(|| field("length", crate::text::for_log(len_text)))?;
    let computed = crc16(body.as_bytes());
    if computed != stated_crc {
        return Err(CodecError::Crc {
            stated: stated_crc,
            computed,
        });
    }
    if body.len() != stated_len {
        return Err(CodecError::Length {
            stated: stated_len,
            actual: body.len(),
        });
    }
    let rest = body
        .strip_prefix('"')
        .ok_or_else(|| field("id", "missing opening quote"))?;
    let (id, rest) = rest
        .split_once('"')
        .ok_or_else(|| field("id", "missing closing quote"))?;
    let (encrypted, id) = match id.strip_prefix('*') {
        Some(id) => (true, id),
        None => (false, id),
    };
    let token = Token::parse(id).ok_or_else(|| {
        field(
            "id",
            format!("unknown token `{}`", crate::text::for_log(id)),
        )
    })?;
    let (sequence, rest) = take_digits(rest, false);
    if sequence.len() != 4 {
        return Err(field("sequence", "must be 4 digits"));
    }
    let sequence = sequence
        .parse()
        .map_err(|_| field("sequence", sequence.to_string()))?;
    // pysiaalarm (Home Assistant's receiver) answers a message sent without a receiver
    // number with the literal `None` in its place; read that as "no receiver number".
    let mut rest = rest.strip_prefix("None").unwrap_or(rest);
    let mut receiver = None;
    if let Some(r) = rest.strip_prefix('R') {
        let (digits, after) = take_digits(r, true);
        receiver = Some(digits.to_string());
        rest = after;
    }
    let l = rest
        .strip_prefix('L')
        .ok_or_else(|| field("line", "missing L prefix"))?;
    let (line, mut rest) = take_digits(l, true);
    let line = line.to_string();
    let mut account = None;
    if let Some(a) = rest.strip_prefix('#') {
        let (digits, after) = take_digits(a, true);
        account = Some(digits.to_string());
        rest = after;
    }
    let rest = rest
        .strip_prefix('[')
        .ok_or_else(|| field("data", "missing ["))?;
    let clear;
    let rest = if encrypted {
        let key = key.ok_or_else(|| CodecError::Crypto("no key for this account".into()))?;
        let mut buf =
            hex::decode(rest).map_err(|_| CodecError::Crypto("content is not hex".into()))?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CodecError::Crypto("content is not whole AES blocks".into()));
        }
        key.decrypt(&mut buf)?;
        clear = String::from_utf8(buf)
            .map_err(|_| CodecError::Crypto("wrong key (content is not text)".into()))?;
        // The pad ends at `|`; some receivers (pysiaalarm's answers) pad with zeros and no
        // separator, which the standard's own parsers also accept.
        let (before_end, _) = clear
            .split_once(']')
            .ok_or_else(|| CodecError::Crypto("wrong key (no ] in the content)".into()))?;
        match before_end.split_once('|') {
            Some((_pad, _)) => clear.split_once('|').map_or(clear.as_str(), |(_, c)| c),
            None => clear.as_str(),
        }
    } else {
        rest
    };
    let (data, mut rest) = rest
        .split_once(']')
        .ok_or_else(|| field("data", "missing ]"))?;
    let data = data.to_string();
    let mut extended = Vec::new();
    while let Some(x) = rest.strip_prefix('[') {
        let (block, after) = x
            .split_once(']')
            .ok_or_else(|| field("extended data", "missing ]"))?;
        extended.push(block.to_string());
        rest = after;
    }
    let timestamp = if rest.is_empty() {
        None
    } else {
        Some(
            jiff::civil::DateTime::strptime(TIME_FORMAT, rest).map_err(|e| {
                field(
                    "timestamp",
                    format!("`{}`: {e}", crate::text::for_log(rest)),
                )
            })?,
        )
    };
    Ok(Message {
        token,
        sequence,
        receiver,
        line,
        account,
        data,
        extended,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [&str; 3] = [
        "\nF4D20029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r",
        "\n96ED0016\"SIA-DCS\"0001L0#1234[]\r",
        "\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r",
    ];

    #[test]
    fn the_standard_vectors_decode_and_encode_back_byte_for_byte() {
        for v in VECTORS {
            let msg = decode(v.as_bytes(), None).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            assert_eq!(encode(&msg, None), v.as_bytes(), "{msg:?}");
        }
        let first = decode(VECTORS[0].as_bytes(), None).unwrap();
        assert_eq!(
            (
                first.token,
                first.sequence,
                first.receiver.as_deref(),
                first.line.as_str(),
                first.account.as_deref(),
                first.data.as_str()
            ),
            (
                Token::SiaDcs,
                1,
                Some("F3"),
                "77",
                Some("1234"),
                "#1234|NRR|Atest"
            )
        );
        let nak = decode(VECTORS[2].as_bytes(), None).unwrap();
        assert_eq!(nak.token, Token::Nak);
        assert_eq!(
            nak.timestamp,
            Some(jiff::civil::date(2025, 9, 24).at(16, 20, 1, 0))
        );
    }

    #[test]
    fn crc_is_crc16_arc() {
        assert_eq!(crc16(b"123456789"), 0xBB3D);
        assert_eq!(crc16(br#""SIA-DCS"0001L0#1234[]"#), 0x96ED);
    }

    #[test]
    fn a_changed_byte_or_length_is_caught() {
        let bad = VECTORS[0].replace("1234|", "1235|");
        assert!(matches!(
            decode(bad.as_bytes(), None),
            Err(CodecError::Crc { .. })
        ));
        assert!(matches!(
            decode(b"\nF4D20029\"SIA-DCS\"\r", None),
            Err(CodecError::Crc { .. } | CodecError::Length { .. })
        ));
        assert!(matches!(
            decode(b"no frame", None),
            Err(CodecError::Framing(_))
        ));
    }

    #[test]
    fn encrypted_round_trip_with_every_key_size_and_extended_data() {
        for hex_key in [
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
            "000102030405060708090A0B0C0D0E0F1011121314151617",
            "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
        ] {
            let key = Key::from_hex(hex_key).unwrap();
            let msg = Message {
                token: Token::AdmCid,
                sequence: 42,
                receiver: Some("1".into()),
                line: "1".into(),
                account: Some("12AB".into()),
                data: contact_id_data("12AB", 1, 131, 1, 15),
                extended: vec![
                    "SNha may Song Hong".into(),
                    "X106.6176".into(),
                    "Y10.8167".into(),
                ],
                timestamp: Some(jiff::civil::date(2026, 11, 21).at(8, 30, 0, 0)),
            };
            let frame = encode(&msg, Some(&key));
            let text = String::from_utf8(frame.clone()).unwrap();
            assert!(text.contains("\"*ADM-CID\"0042R1L1#12AB["), "{text}");
            // The clear content must not appear (the hex of the ciphertext may contain any
            // digits, so look for the data and the site name themselves).
            assert!(
                !text.contains(&msg.data) && !text.contains("Song Hong"),
                "content went out in clear: {text}"
            );
            assert_eq!(decode(&frame, Some(&key)).unwrap(), msg);
            assert!(matches!(decode(&frame, None), Err(CodecError::Crypto(_))));
            let wrong = Key::from_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF").unwrap();
            assert!(decode(&frame, Some(&wrong)).is_err());
        }
        assert!(Key::from_hex("ABCD").is_err());
        assert_eq!(
            format!(
                "{:?}",
                Key::from_hex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB").unwrap()
            ),
            "SiaKey(AES-128, <redacted>)"
        );
    }

    #[test]
    fn contact_id_data_is_qualifier_event_group_zone() {
        assert_eq!(contact_id_data("1234", 1, 131, 1, 15), "#1234|1131 01 015");
        assert_eq!(contact_id_data("1234", 3, 401, 2, 7), "#1234|3401 02 007");
    }

    #[test]
    fn an_answer_with_none_for_the_receiver_number_is_read() {
        let body = "\"ACK\"0002NoneL0#1234[]";
        let frame = format!("\n{:04X}{:04X}{body}\r", crc16(body.as_bytes()), body.len());
        let msg = decode(frame.as_bytes(), None).expect("decoded");
        assert_eq!(
            (msg.token, msg.sequence, msg.receiver),
            (Token::Ack, 2, None)
        );
    }

    #[test]
    fn a_multibyte_character_across_the_crc_field_is_an_error_not_a_panic() {
        // `ổ` is three bytes at offsets 3..6 of the inside: byte 8 is a boundary, 4 is not.
        let frame = "\nAAổBBCC\"ACK\"0001L0[]\r";
        assert!(decode(frame.as_bytes(), None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let _ = decode(&bytes, None);
            let key = Key::from_text("PicketTestKey128").unwrap();
            let _ = decode(&bytes, Some(&key));
        }

        #[test]
        fn decode_never_panics_on_mutated_frames(
            which in 0usize..3,
            at in 0usize..80,
            with in proptest::prelude::any::<u8>(),
            cut in 0usize..80,
        ) {
            let key = Key::from_text("PicketTestKey128").unwrap();
            let msg = decode(VECTORS[which].as_bytes(), None).unwrap();
            for frame in [encode(&msg, None), encode(&msg, Some(&key))] {
                let mut mutated = frame.clone();
                if let Some(b) = mutated.get_mut(at) {
                    *b = with;
                }
                mutated.truncate(mutated.len().saturating_sub(cut));
                let _ = decode(&mutated, None);
                let _ = decode(&mutated, Some(&key));
            }
        }
    }
}
