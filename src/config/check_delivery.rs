//! Cross-checks `[escalation]` and `[[channels]]`: every channel named exists, tiers are
//! well formed, addresses parse, and every channel's secret can be read.

use std::collections::BTreeSet;

use super::model::{Channel, Config};
use super::validate::{Problem, check_tls, file_exists, in_range, known, resolve, unique_ids};

/// Categories an escalation rule may name: those that raise alarms.
pub const ALARM_CATEGORIES: &[&str] =
    &["fire", "panic", "duress", "burglary", "tamper", "technical"];

/// Checks channels and the policy, and resolves channel secrets in place.
pub(super) fn check_delivery(config: &mut Config, problems: &mut Vec<Problem>) {
    let ids: Vec<String> = config.channels.iter().map(|c| c.id().to_string()).collect();
    let channels = unique_ids("channels", ids.iter().map(String::as_str), problems);
    for (i, channel) in config.channels.iter_mut().enumerate() {
        check_channel(&format!("channels[{i}]"), channel, problems);
    }
    let Some(policy) = &config.escalation else {
        return;
    };
    let refer = |path: String, list: &[String], problems: &mut Vec<Problem>| {
        for (j, id) in list.iter().enumerate() {
            if !channels.contains(id.as_str()) {
                problems.push((
                    format!("{path}[{j}]"),
                    format!("unknown channel `{id}`{}", known(&channels)),
                ));
            }
        }
    };
    let mut tiers = BTreeSet::new();
    for (i, tier) in policy.tiers.iter().enumerate() {
        if !tiers.insert(tier.name.as_str()) {
            problems.push((
                format!("escalation.tiers[{i}].name"),
                format!("duplicate tier name `{}`", tier.name),
            ));
        }
        in_range(
            &format!("escalation.tiers[{i}].delay_s"),
            tier.delay_s,
            0,
            86_400,
            problems,
        );
        refer(
            format!("escalation.tiers[{i}].channels"),
            &tier.channels,
            problems,
        );
    }
    if let Some(name) = &policy.confirmed_tier
        && !tiers.contains(name.as_str())
    {
        problems.push((
            "escalation.confirmed_tier".into(),
            format!("unknown tier `{name}`{}", known(&tiers)),
        ));
    }
    for (category, rule) in &policy.categories {
        let path = format!("escalation.categories.{category}");
        if !ALARM_CATEGORIES.contains(&category.as_str()) {
            problems.push((
                path.clone(),
                format!(
                    "`{category}` is not an alarm category; expected one of: {}",
                    ALARM_CATEGORIES.join(", ")
                ),
            ));
        }
        refer(format!("{path}.at_once"), &rule.at_once, problems);
    }
    refer("escalation.events".into(), &policy.events, problems);
    if let Some(test) = &policy.test_report {
        in_range(
            "escalation.test_report.every_h",
            test.every_h,
            1,
            168,
            problems,
        );
        refer(
            "escalation.test_report.channels".into(),
            &test.channels,
            problems,
        );
    }
    in_range(
        "escalation.retention_days",
        policy.retention_days,
        1,
        3650,
        problems,
    );
    in_range(
        "escalation.stuck_after_s",
        policy.stuck_after_s,
        10,
        86_400,
        problems,
    );
    let mut command_databases = BTreeSet::new();
    for (i, channel) in config.channels.iter().enumerate() {
        let (key, names): (&str, Vec<&String>) = match channel {
            Channel::Webhook(w) => ("tier_urls", w.tier_urls.keys().collect()),
            Channel::Sms(s) => {
                if s.commands && !command_databases.insert(s.database.clone()) {
                    problems.push((
                        format!("channels[{i}].commands"),
                        format!(
                            "another sms channel already reads the replies in {}; \
                             set commands = false on all but one",
                            s.database.display()
                        ),
                    ));
                }
                ("tier_to", s.tier_to.keys().collect())
            }
            _ => continue,
        };
        for name in names {
            let tier = policy.tiers.iter().find(|t| &t.name == name);
            match tier {
                None => problems.push((
                    format!("channels[{i}].{key}.{name}"),
                    format!("unknown tier `{name}`{}", known(&tiers)),
                )),
                Some(t) if !t.channels.iter().any(|c| c == channel.id()) => problems.push((
                    format!("channels[{i}].{key}.{name}"),
                    format!(
                        "tier `{name}` does not tell channel `{}`; add it to the tier's \
                         channels, or these recipients are never told",
                        channel.id()
                    ),
                )),
                Some(_) => {}
            }
        }
    }
}

fn check_channel(path: &str, channel: &mut Channel, problems: &mut Vec<Problem>) {
    match channel {
        Channel::Sia(sia) => {
            host_port(&format!("{path}.primary"), &sia.primary, problems);
            if let Some(backup) = &sia.backup {
                host_port(&format!("{path}.backup"), backup, problems);
            }
            hex_field(&format!("{path}.account"), &sia.account, 3, 16, problems);
            if let Some(r) = &sia.receiver {
                hex_field(&format!("{path}.receiver"), r, 1, 6, problems);
            }
            hex_field(&format!("{path}.line"), &sia.line, 1, 6, problems);
            in_range(&format!("{path}.timeout_s"), sia.timeout_s, 1, 60, problems);
            if sia.supervision_s != 0 {
                in_range(
                    &format!("{path}.supervision_s"),
                    sia.supervision_s,
                    1,
                    86_400,
                    problems,
                );
            }
            in_range(
                &format!("{path}.path_down_after_s"),
                sia.path_down_after_s,
                2,
                86_400,
                problems,
            );
            sia.key = resolve(
                &format!("{path}.key"),
                "key",
                sia.key.as_ref(),
                sia.key_file.as_deref(),
                sia.key_env.as_deref(),
                problems,
            );
            sia.key_hex = resolve(
                &format!("{path}.key_hex"),
                "key_hex",
                sia.key_hex.as_ref(),
                sia.key_hex_file.as_deref(),
                sia.key_hex_env.as_deref(),
                problems,
            );
            if let Err((field, e)) = super::sia_key::SiaKey::of_channel(sia) {
                problems.push((format!("{path}.{field}"), e));
            }
        }
        Channel::Webhook(w) => {
            url_field(&format!("{path}.url"), &w.url, problems);
            for (name, url) in &w.tier_urls {
                url_field(&format!("{path}.tier_urls.{name}"), url, problems);
            }
            file_exists(&format!("{path}.ca_file"), w.ca_file.as_deref(), problems);
            in_range(&format!("{path}.timeout_s"), w.timeout_s, 1, 120, problems);
            w.secret = resolve(
                &format!("{path}.secret"),
                "secret",
                w.secret.as_ref(),
                w.secret_file.as_deref(),
                w.secret_env.as_deref(),
                problems,
            );
            let given = w.secret_file.is_some() || w.secret_env.is_some();
            if w.secret.is_none() && !given {
                problems.push((
                    format!("{path}.secret"),
                    "a webhook needs a signing secret (secret, secret_file or secret_env) so \
                     the receiver can tell picket's messages from forgeries"
                        .into(),
                ));
            }
        }
        Channel::Email(e) => {
            if e.port == 0 {
                problems.push((format!("{path}.port"), "must be within 1..65535".into()));
            }
            file_exists(&format!("{path}.ca_file"), e.ca_file.as_deref(), problems);
            in_range(&format!("{path}.timeout_s"), e.timeout_s, 1, 120, problems);
            if e.from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push((
                    format!("{path}.from"),
                    format!("`{}` is not a mail address", e.from),
                ));
            }
            if e.to.is_empty() {
                problems.push((format!("{path}.to"), "name at least one recipient".into()));
            }
            for (j, to) in e.to.iter().enumerate() {
                if to.parse::<lettre::message::Mailbox>().is_err() {
                    problems.push((
                        format!("{path}.to[{j}]"),
                        format!("`{to}` is not a mail address"),
                    ));
                }
            }
            e.password = resolve(
                &format!("{path}.password"),
                "password",
                e.password.as_ref(),
                e.password_file.as_deref(),
                e.password_env.as_deref(),
                problems,
            );
            if e.password.is_some() && e.username.is_none() {
                problems.push((
                    format!("{path}.username"),
                    "a password is given, so give the user name too".into(),
                ));
            }
        }
        Channel::Sms(s) => check_sms(path, s, problems),
        Channel::Mqtt(m) => {
            if m.port == Some(0) {
                problems.push((format!("{path}.port"), "must be within 1..65535".into()));
            }
            in_range(
                &format!("{path}.keep_alive_s"),
                m.keep_alive_s,
                5,
                600,
                problems,
            );
            in_range(&format!("{path}.timeout_s"), m.timeout_s, 1, 120, problems);
            if m.topic_prefix.is_empty() || m.topic_prefix.contains(['+', '#']) {
                problems.push((
                    format!("{path}.topic_prefix"),
                    "must be a topic without wildcards".into(),
                ));
            }
            if let Some(tls) = &m.tls {
                check_tls(&format!("{path}.tls"), tls, problems);
            }
            m.password = resolve(
                &format!("{path}.password"),
                "password",
                m.password.as_ref(),
                m.password_file.as_deref(),
                m.password_env.as_deref(),
                problems,
            );
        }
    }
}

fn check_sms(path: &str, s: &mut crate::config::SmsChannel, problems: &mut Vec<Problem>) {
    if !s.database.is_file() {
        problems.push((
            format!("{path}.database"),
            format!(
                "{} is not a file; create gammu-smsd's database first (README, \"SMS\")",
                s.database.display()
            ),
        ));
    }
    if s.to.is_empty() && s.tier_to.is_empty() {
        problems.push((
            format!("{path}.to"),
            "name at least one phone number (to, or tier_to)".into(),
        ));
    }
    let mut numbers = |key: String, list: &mut Vec<String>| {
        for (j, number) in list.iter_mut().enumerate() {
            match crate::phone::normalize(number) {
                Ok(n) => *number = n,
                Err(e) => problems.push((format!("{key}[{j}]"), e)),
            }
        }
    };
    numbers(format!("{path}.to"), &mut s.to);
    for (name, list) in &mut s.tier_to {
        numbers(format!("{path}.tier_to.{name}"), list);
    }
    in_range(
        &format!("{path}.max_parts"),
        u32::from(s.max_parts),
        1,
        10,
        problems,
    );
    in_range(
        &format!("{path}.send_timeout_s"),
        s.send_timeout_s,
        5,
        600,
        problems,
    );
    in_range(
        &format!("{path}.lost_after_s"),
        s.lost_after_s,
        2,
        3600,
        problems,
    );
    for (key, number) in [("call_fire", &s.call_fire), ("call_police", &s.call_police)] {
        if !number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == ' ')
        {
            problems.push((
                format!("{path}.{key}"),
                format!("`{number}` is not a number to call"),
            ));
        }
    }
}

fn host_port(path: &str, value: &str, problems: &mut Vec<Problem>) {
    let ok = value
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !ok {
        problems.push((
            path.to_string(),
            format!("`{value}` is not host:port, e.g. `arc.example.vn:12000`"),
        ));
    }
}

fn hex_field(path: &str, value: &str, min: usize, max: usize, problems: &mut Vec<Problem>) {
    if value.len() < min || value.len() > max || !value.chars().all(|c| c.is_ascii_hexdigit()) {
        problems.push((
            path.to_string(),
            format!("`{value}` must be {min}–{max} hex digits (0–9, A–F)"),
        ));
    }
}

/// HTTPS, or plain HTTP only to this machine (tests, a local relay).
fn url_field(path: &str, value: &str, problems: &mut Vec<Problem>) {
    let Ok(url) = reqwest::Url::parse(value) else {
        problems.push((path.to_string(), format!("`{value}` is not a URL")));
        return;
    };
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && local) {
        problems.push((
            path.to_string(),
            format!("`{value}` must be https:// (plain http only to this machine)"),
        ));
    }
}
