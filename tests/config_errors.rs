//! Each class of configuration mistake gives an error naming the key and its line:col,
//! and `picket check-config` prints every problem and exits 2 (0 when valid).

use picket::config::{self, ConfigIssue};
use std::process::Command;

const BASE: &str = r#"[site]
name = "Kho A"

[[areas]]
id = "wh"
name = "Kho"

[[zones]]
id = "door"
name = "Cửa"
area = "wh"
type = "entry_exit"

[[sensors]]
id = "door_c"
zone = "door"
kind = "contact"
source = { kind = "simulated" }
"#;

fn issues(text: &str) -> Vec<ConfigIssue> {
    match config::parse_str(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e) => e.issues().to_vec(),
    }
}

/// The one issue at `path`, with its line.
fn issue_at(text: &str, path: &str) -> ConfigIssue {
    let all = issues(text);
    all.iter()
        .find(|i| i.path == path)
        .cloned()
        .unwrap_or_else(|| panic!("no issue at {path}: {all:#?}"))
}

/// Runs `picket check-config PATH`.
fn check_config(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["check-config", path.to_str().unwrap()])
        .output()
        .unwrap()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in text"))
}

#[test]
fn the_base_config_is_valid() {
    let c = config::parse_str(BASE).expect("valid");
    assert_eq!(c.site.timezone, "Asia/Ho_Chi_Minh");
    assert_eq!(c.areas[0].exit_delay_s, 30);
}

#[test]
fn syntax_error_points_at_its_line() {
    let text = BASE.replace("name = \"Kho\"", "name = \"Kho unterminated");
    let all = issues(&text);
    assert_eq!(all.len(), 1);
    assert!(all[0].message.contains("TOML syntax"), "{}", all[0]);
    assert_eq!(
        all[0].location.map(|l| l.line),
        Some(line_of(&text, "unterminated"))
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = BASE.replace(
        "type = \"entry_exit\"",
        "type = \"entry_exit\"\nentry_dealy_s = 10",
    );
    let issue = issue_at(&text, "zones[0].entry_dealy_s");
    assert!(
        issue.message.contains("unknown field `entry_dealy_s`"),
        "{issue}"
    );
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "entry_dealy_s"))
    );
}

#[test]
fn unknown_section_is_named() {
    let text = format!("{BASE}\n[sirens]\nloud = true\n");
    let issue = issue_at(&text, "sirens");
    assert!(issue.message.contains("unknown section"), "{issue}");
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "[sirens]"))
    );
}

#[test]
fn wrong_type_is_named_with_its_line() {
    let text = BASE.replace(
        "name = \"Kho\"",
        "name = \"Kho\"\nexit_delay_s = \"thirty\"",
    );
    let issue = issue_at(&text, "areas[0].exit_delay_s");
    assert!(issue.message.contains("invalid type"), "{issue}");
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "exit_delay_s"))
    );
}

#[test]
fn unknown_enum_value_lists_the_choices() {
    let text = BASE.replace("type = \"entry_exit\"", "type = \"garage\"");
    let issue = issue_at(&text, "zones[0].type");
    assert!(
        issue.message.contains("perimeter") && issue.message.contains("garage"),
        "{issue}"
    );
}

#[test]
fn missing_required_key_is_reported_at_its_table() {
    let text = BASE.replace("zone = \"door\"\n", "");
    let issue = issue_at(&text, "sensors[0]");
    assert!(issue.message.contains("missing field `zone`"), "{issue}");
    assert!(issue.location.is_some());
}

#[test]
fn unknown_reference_names_the_key_and_the_known_ids() {
    let text = BASE.replace("area = \"wh\"", "area = \"warehouse\"");
    let issue = issue_at(&text, "zones[0].area");
    assert!(
        issue.message.contains("unknown area `warehouse`") && issue.message.contains("wh"),
        "{issue}"
    );
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "area = \"warehouse\""))
    );
}

#[test]
fn duplicate_id_names_the_second_and_the_first() {
    let text = format!("{BASE}\n[[areas]]\nid = \"wh\"\nname = \"Kho 2\"\n");
    let issue = issue_at(&text, "areas[1].id");
    assert!(
        issue.message.contains("duplicate id `wh`") && issue.message.contains("areas[0]"),
        "{issue}"
    );
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(
            text.lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| *l == "id = \"wh\"")
                .unwrap()
                + 1
        )
    );
}

#[test]
fn out_of_range_delay_names_the_allowed_range() {
    let text = BASE.replace("name = \"Kho\"", "name = \"Kho\"\nentry_delay_s = 900");
    let issue = issue_at(&text, "areas[0].entry_delay_s");
    assert!(
        issue.message.contains("900") && issue.message.contains("0..=600"),
        "{issue}"
    );
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "entry_delay_s = 900"))
    );
}

#[test]
fn bad_time_zone_is_named() {
    let text = BASE.replace(
        "name = \"Kho A\"",
        "name = \"Kho A\"\ntimezone = \"Asia/Hanoi\"",
    );
    let issue = issue_at(&text, "site.timezone");
    assert!(issue.message.contains("Asia/Hanoi"), "{issue}");
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "timezone"))
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = BASE.replace("area = \"wh\"", "area = \"nowhere\"").replace(
        "kind = \"contact\"",
        "kind = \"contact\"\nsupervision_s = 5",
    );
    let all = issues(&text);
    let paths: Vec<&str> = all.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"zones[0].area") && paths.contains(&"sensors[0].supervision_s"),
        "{paths:?}"
    );
}

#[test]
fn missing_secret_file_is_named_and_the_secret_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mqtt.pass");
    let text = format!(
        "{BASE}\n[mqtt]\npassword_file = \"{}\"\n",
        missing.display()
    );
    // Named as the installer wrote it, at the line of the key to fix (not the table's).
    let issue = issue_at(&text, "mqtt.password_file");
    assert!(issue.message.contains("mqtt.pass"), "{issue}");
    assert_eq!(
        issue.location.map(|l| l.line),
        Some(line_of(&text, "password_file"))
    );

    // A webhook whose secret file cannot be read has that one problem, not a second one
    // claiming no secret was given.
    let text = format!(
        "{BASE}\n[[channels]]\nid = \"hook\"\ntype = \"webhook\"\n\
         url = \"https://example.vn/h\"\nsecret_file = \"{}\"\n",
        missing.display()
    );
    let all = issues(&text);
    assert_eq!(all.len(), 1, "{all:#?}");
    expect_issue(
        &all,
        &text,
        "channels[0].secret_file",
        "secret_file",
        "cannot read",
    );

    // A secret given two ways: the error names the keys, not the value.
    // SAFETY: only this test touches this variable, and nothing else here reads the
    // environment concurrently.
    unsafe { std::env::set_var("PICKET_TEST_MQTT_PW", "s3cr3t-value") };
    let text = format!(
        "{BASE}\n[mqtt]\npassword = \"inline-s3cr3t\"\npassword_env = \"PICKET_TEST_MQTT_PW\"\n"
    );
    let err = config::parse_str(&text).unwrap_err().to_string();
    assert!(err.contains("only one of"), "{err}");
    assert!(
        !err.contains("inline-s3cr3t") && !err.contains("s3cr3t-value"),
        "{err}"
    );

    // Resolved from the environment, and redacted when printed.
    let text = format!("{BASE}\n[mqtt]\npassword_env = \"PICKET_TEST_MQTT_PW\"\n");
    let c = config::parse_str(&text).expect("valid");
    let pw = c
        .mqtt
        .as_ref()
        .and_then(|m| m.password.as_ref())
        .expect("resolved");
    assert_eq!(pw.expose(), "s3cr3t-value");
    assert!(!format!("{c:?}").contains("s3cr3t-value"));
}

#[test]
fn check_config_prints_every_problem_with_file_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = BASE
        .replace("area = \"wh\"", "area = \"nowhere\"")
        .replace("name = \"Kho\"", "name = \"Kho\"\nexit_delay_s = 9999");
    std::fs::write(&path, &text).unwrap();
    let out = check_config(&path);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let area_line = line_of(&text, "area = \"nowhere\"");
    assert!(
        stdout.contains(&format!(
            "bad.toml:{area_line}:1: zones[0].area: unknown area"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("areas[0].exit_delay_s"), "{stdout}");
    assert!(stdout.contains("2 problems"), "{stdout}");

    std::fs::write(&path, BASE).unwrap();
    let out = check_config(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("bad.toml: OK (1 area, 1 zone, 1 sensor, 0 outputs)"),
        "{stdout}"
    );
}

/// Every configuration in `config/` passes the real `picket check-config` once the files
/// and variables it names for secrets, certificates and gammu-smsd's database exist (here
/// under a temporary root, with dummy contents).
#[test]
fn shipped_configs_pass_check_config_once_their_secret_files_exist() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let root = tempfile::tempdir().unwrap();
        let mut text = std::fs::read_to_string(&file).unwrap();
        let mut env = Vec::new();
        for prefix in [
            "/etc/picket/secrets/",
            "/etc/picket/tls/",
            "/var/lib/gammu-smsd/",
        ] {
            let moved = format!("{}{prefix}", root.path().display());
            for named in text
                .match_indices(&format!("\"{prefix}"))
                .map(|(at, _)| at + 1)
            {
                let end = named + text[named..].find('"').unwrap();
                let target = root.path().join(&text[named + 1..end]);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                let dummy = if target.to_string_lossy().ends_with("keyhex") {
                    "00112233445566778899aabbccddeeff"
                } else {
                    "0123456789abcdef"
                };
                std::fs::write(&target, dummy).unwrap();
            }
            text = text.replace(prefix, &moved);
        }
        for (at, _) in text.match_indices("_env = \"") {
            let name = &text[at + 8..];
            env.push(name[..name.find('"').unwrap()].to_string());
        }
        let copy = root.path().join(file.file_name().unwrap());
        std::fs::write(&copy, &text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg("check-config")
            .arg(&copy)
            .envs(env.iter().map(|name| (name, "dummy-secret")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Finds the issue at `path` in `all` and checks its words and line.
fn expect_issue(all: &[ConfigIssue], text: &str, path: &str, line_needle: &str, words: &str) {
    let issue = all
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no issue at {path}: {all:#?}"));
    assert!(issue.message.contains(words), "{path}: {}", issue.message);
    assert_eq!(
        issue.location.as_ref().map(|l| l.line),
        Some(line_of(text, line_needle)),
        "{path}"
    );
}

#[test]
fn unknown_channel_types_and_keys_are_named_with_their_line() {
    let text = format!(
        "{BASE}
[[channels]]
id = \"fax\"
type = \"fax\"

[[channels]]
id = \"mail\"
type = \"email\"
host = \"mail.example.vn\"
from = \"picket@example.vn\"
to = [\"baove@example.vn\"]
colour = \"red\"
"
    );
    let all = issues(&text);
    expect_issue(
        &all,
        &text,
        "channels[0].type",
        "type = \"fax\"",
        "unknown channel type `fax`",
    );
    expect_issue(
        &all,
        &text,
        "channels[1].colour",
        "colour = \"red\"",
        "unknown field `colour`",
    );
}

#[test]
fn delivery_mistakes_name_the_channel_key_and_line() {
    let text = format!(
        "{BASE}
[[channels]]
id = \"arc\"
type = \"sia\"
primary = \"arc.example.vn\"
account = \"12G4\"
key = \"short\"

[[channels]]
id = \"hq\"
type = \"webhook\"
url = \"http://hq.example.vn/hook\"

[[channels]]
id = \"mail\"
type = \"email\"
host = \"mail.example.vn\"
from = \"picket@example.vn\"
to = [\"not an address\"]

[escalation]
tiers = [{{ name = \"police\", delay_s = 180, channels = [\"arc\", \"pager\"] }}]
confirmed_tier = \"swat\"
categories.fire = {{ at_once = [\"fire_arc\"] }}
categories.parking = {{ at_once = [\"arc\"] }}
"
    );
    let all = issues(&text);
    let expect =
        |path: &str, needle: &str, words: &str| expect_issue(&all, &text, path, needle, words);
    expect(
        "channels[0].primary",
        "primary = \"arc.example.vn\"",
        "host:port",
    );
    expect("channels[0].account", "account = \"12G4\"", "hex digits");
    expect("channels[0].key", "key = \"short\"", "AES key");
    // The key's form is explicit: hex digits go in key_hex, and not both at once.
    let hex = text.replace("key = \"short\"", "key_hex = \"0123456789abcdef0123\"");
    let all = issues(&hex);
    expect_issue(
        &all,
        &hex,
        "channels[0].key_hex",
        "key_hex =",
        "32, 48 or 64 hex digits",
    );
    let both = text.replace(
        "key = \"short\"",
        "key = \"PicketTestKey128\"\nkey_hex = \"0123456789abcdef0123456789ABCDEF\"",
    );
    let all = issues(&both);
    expect_issue(&all, &both, "channels[0].key_hex", "key_hex =", "not both");
    let text_of_hex = text.replace("key = \"short\"", "key = \"0123456789abcdef\"");
    assert!(
        issues(&text_of_hex)
            .iter()
            .all(|i| !i.path.starts_with("channels[0].key")),
        "16 hex digits are a valid 16-character text key"
    );
    expect("channels[1].url", "url = \"http://hq", "https://");
    expect("channels[2].to[0]", "not an address", "not a mail address");
    expect(
        "escalation.tiers[0].channels[1]",
        "tiers = [",
        "unknown channel `pager`",
    );
    expect(
        "escalation.confirmed_tier",
        "confirmed_tier",
        "unknown tier `swat`",
    );
    expect(
        "escalation.categories.fire.at_once[0]",
        "categories.fire",
        "unknown channel `fire_arc`",
    );
    expect(
        "escalation.categories.parking",
        "categories.parking",
        "not an alarm category",
    );
    let secret = all
        .iter()
        .find(|i| i.path == "channels[1].secret")
        .expect("secret issue");
    assert!(
        secret.message.contains("signing secret"),
        "{}",
        secret.message
    );
}

#[test]
fn a_web_listen_address_without_a_port_is_named_with_its_line() {
    let text = format!("{BASE}\n[web]\nlisten = \"localhost\"\n");
    let issue = issue_at(&text, "web.listen");
    assert_eq!(issue.location.unwrap().line, line_of(&text, "listen = "));
    assert!(
        issue.message.contains("127.0.0.1:8080"),
        "{}",
        issue.message
    );
}

#[test]
fn a_camera_nobody_watches_is_named_with_its_line_and_the_fix() {
    let text = format!(
        "{BASE}\n[[cameras]]\nid = \"gate\"\nurl = \"rtsp://10.0.0.5/stream1\"\nstall_timeout_s = 0\n"
    );
    let issue = issue_at(&text, "cameras[0]");
    assert_eq!(issue.location.unwrap().line, line_of(&text, "[[cameras]]"));
    assert!(
        issue.message.contains("kind = \"camera\"") && issue.message.contains("camera = \"gate\""),
        "{}",
        issue.message
    );
    let range = issue_at(&text, "cameras[0].stall_timeout_s");
    assert_eq!(
        range.location.unwrap().line,
        line_of(&text, "stall_timeout_s = ")
    );
}

#[test]
fn a_camera_url_that_is_not_rtsp_is_named() {
    let text = format!("{BASE}\n[[cameras]]\nid = \"gate\"\nurl = \"http://10.0.0.5/\"\n");
    let issue = issue_at(&text, "cameras[0].url");
    assert!(
        issue.message.contains("not an rtsp:// URL"),
        "{}",
        issue.message
    );
}

#[test]
fn a_file_that_is_not_utf8_names_the_line_column_and_offset_of_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    // "Cửa" saved by an editor in a legacy code page: the byte 0xFB where UTF-8 expected
    // `ử`, on the zone's name line, after `name = "C`.
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("\"Cửa\"").unwrap() + 2;
    bytes.splice(at..at + "ử".len(), [0xFB]);
    std::fs::write(&path, &bytes).unwrap();
    let out = check_config(&path);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = line_of(BASE, "name = \"Cửa\"");
    assert!(
        stdout.contains(&format!(
            "latin1.toml:{line}:10: the file is not UTF-8: byte 0xFB at byte offset {at}"
        )),
        "{stdout}"
    );
    // The same from the library, for a file that is cut in the middle of a character.
    let cut = &"[site]\nname = \"Kho ổ".as_bytes()[..20];
    let issue = config::parse_bytes(cut).unwrap_err().issues()[0].clone();
    assert!(issue.message.contains("not UTF-8"), "{issue}");
    let loc = issue.location.expect("a place");
    assert_eq!((loc.line, loc.col), (2, 13), "{issue}");
}

#[test]
fn only_burglary_zones_may_be_bypassed_automatically() {
    for zone_type in ["panic", "tamper", "fire", "technical"] {
        let text = BASE.replace(
            "type = \"entry_exit\"",
            &format!("type = \"{zone_type}\"\nauto_bypass = true"),
        );
        let issue = issue_at(&text, "zones[0].auto_bypass");
        assert!(
            issue.message.contains(&format!(
                "{zone_type} zones can never be bypassed automatically"
            )),
            "{issue}"
        );
        assert_eq!(
            issue.location.map(|l| l.line),
            Some(line_of(&text, "auto_bypass"))
        );
    }
    let text = BASE.replace(
        "type = \"entry_exit\"",
        "type = \"entry_exit\"\nauto_bypass = true",
    );
    assert!(config::parse_str(&text).is_ok());
}

#[test]
fn report_settings_name_what_is_wrong() {
    let text = BASE.replace(
        "name = \"Kho\"\n",
        "name = \"Kho\"\narm_schedule = \"22h-6h\"\n",
    ) + "\n[[channels]]\nid = \"hook\"\ntype = \"webhook\"\nurl = \"https://example.vn/h\"\n\
           secret = \"0123456789abcdef\"\n\n\
           [reports]\nfont = \"/nonexistent/font.ttf\"\nlate_delivery_s = 0\n\
           monthly = { channels = [\"hook\"], at = \"7:00\" }\n\
           quarterly = { channels = [\"nobody\"] }\n";
    let issue = issue_at(&text, "areas[0].arm_schedule");
    assert!(issue.message.contains("HH:MM-HH:MM"), "{issue}");
    assert_eq!(issue.location.unwrap().line, line_of(&text, "arm_schedule"));
    assert!(
        issue_at(&text, "reports.font")
            .message
            .contains("fonts-dejavu-core")
    );
    assert!(
        issue_at(&text, "reports.late_delivery_s")
            .message
            .contains("1..=3600")
    );
    assert!(
        issue_at(&text, "reports.monthly.at")
            .message
            .contains("HH:MM")
    );
    assert!(
        issue_at(&text, "reports.monthly.channels[0]")
            .message
            .contains("only by email")
    );
    assert!(
        issue_at(&text, "reports.quarterly.channels[0]")
            .message
            .contains("unknown channel `nobody`")
    );
}

#[test]
fn sms_channel_mistakes_are_named_with_their_keys_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("smsd.db");
    std::fs::write(&db, b"").unwrap();
    let text = format!(
        "{BASE}\n[[channels]]\nid = \"sms\"\ntype = \"sms\"\ndatabase = \"{db}\"\n\
         to = [\"0901 234 567\", \"113\"]\n\
         tier_to = {{ nobody = [\"0902 222 222\"], police = [\"0905 555 555\"] }}\n\
         max_parts = 20\n\n\
         [[channels]]\nid = \"sms2\"\ntype = \"sms\"\ndatabase = \"{db}\"\nto = [\"0903 333 333\"]\n\n\
         [[channels]]\nid = \"sms3\"\ntype = \"sms\"\ndatabase = \"/nowhere/smsd.db\"\n\
         to = [\"0904 444 444\"]\ncommands = false\n\n\
         [escalation]\ntiers = [{{ name = \"guards\", delay_s = 0, channels = [\"sms\"] }}, \
         {{ name = \"police\", delay_s = 60, channels = [\"sms3\"] }}]\n",
        db = db.display()
    );
    let untold = issue_at(&text, "channels[0].tier_to.police");
    assert!(
        untold
            .message
            .contains("tier `police` does not tell channel `sms`"),
        "{untold}"
    );
    let short = issue_at(&text, "channels[0].to[1]");
    assert!(
        short.message.contains("`113` has 3 digits"),
        "{}",
        short.message
    );
    assert_eq!(
        short.location.map(|l| l.line),
        Some(line_of(&text, "\"113\""))
    );
    let tier = issue_at(&text, "channels[0].tier_to.nobody");
    assert!(
        tier.message.contains("unknown tier `nobody`"),
        "{}",
        tier.message
    );
    let parts = issue_at(&text, "channels[0].max_parts");
    assert!(
        parts.message.contains("1") && parts.message.contains("10"),
        "{}",
        parts.message
    );
    assert_eq!(
        parts.location.map(|l| l.line),
        Some(line_of(&text, "max_parts = 20"))
    );
    let twice = issue_at(&text, "channels[1].commands");
    assert!(
        twice.message.contains("already reads the replies"),
        "{}",
        twice.message
    );
    let missing = issue_at(&text, "channels[2].database");
    assert!(
        missing.message.contains("/nowhere/smsd.db is not a file"),
        "{}",
        missing.message
    );
    // The first channel's good number was read as +84.
    assert!(issues(&text).iter().all(|i| i.path != "channels[0].to[0]"));
}
