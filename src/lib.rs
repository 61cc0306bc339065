//! # picket
//!
//! A security gateway daemon for factory gates and warehouses on a Raspberry Pi-class
//! box: it takes door and fence contacts, motion and smoke detectors and cameras, decides
//! what is an alarm exactly as a professional alarm panel would, keeps a tamper-evident
//! journal of everything, and escalates to guards, the enterprise security team and the
//! police. Nothing accepted is ever lost: every outcome is committed to SQLite before it
//! takes effect.
//!
//! # Layout
//!
//! What flows where:
//!
//! ```text
//!  sources ──Observation──▶ engine ──Outcome──▶ journal ──▶ change stream (shared)
//!     ▲                       ▲                    │ outbox rows,        │ page, API, SSE,
//!     └─ feed, simulator,     └─ Command (arm…)    ▼ same transaction    ▼ MQTT topics
//!        MQTT, GPIO, cameras                    channels (DC-09, webhook, email, MQTT, SMS)
//! ```
//!
//! Imports run one way: a module uses only those on the rows below it (`tests/layout.rs`
//! checks it against this table):
//!
//! ```text
//!  cli
//!  runtime                          assembles the daemon: makes the engine task and the
//!                                   shared records, starts every task, hands them out
//!  web
//!  gpio
//!  sources · channels · report
//!  keypad · fault
//!  shared                           engine handle, change stream, effects, stop signal,
//!                                   health records
//!  escalation
//!  mqtt_connection · journal
//!  engine
//!  config
//!  phone · log_limit · backoff
//!  text
//! ```
//!
//! - [`config`] — the TOML file: typed sections, validation that names the key and
//!   `line:col`, secrets from `*_file`/`*_env` that are never printed.
//! - [`engine`] — the panel itself: a deterministic state machine with no I/O. Zones,
//!   areas, arming modes, entry/exit delays, 24-hour zones, confirmation, swinger
//!   shutdown, supervision, duress, cancel, walk test, sirens. Time comes from a
//!   [`engine::Clock`]; the event taxonomy (category + Contact ID) lives in
//!   [`engine::codes`].
//! - [`journal`] — one SQLite file: hash-chained append-only events, alarms, audit,
//!   users (argon2id codes), engine state for restarts, the outbox. Schema versions are
//!   enforced; [`journal::verify`] finds the first broken link.
//! - [`escalation`] — the policy (tiers, per-category overrides, events, periodic test)
//!   and the planner that writes each alarm's deliveries into the outbox in the alarm's own
//!   commit.
//! - [`channels`] — one outbox worker per channel, in order, with retries and health:
//!   SIA DC-09 to the receiving centre (dual path, NULL supervision), signed webhooks,
//!   email, upstream MQTT, and SMS through gammu-smsd ([`channels::sms`], whose inbox
//!   reader turns replies from people's phones into commands through the [`keypad`]).
//! - [`phone`] — phone numbers brought to one form, so a configured number, a person's
//!   phone and an SMS sender compare equal.
//! - [`shared`] — what every task shares, below all of them: the [`shared::engine_handle`]
//!   (the way in to the engine), the [`shared::changes`] stream (each commit's changes and
//!   the panel after it, which the page, the API and picket's MQTT topics read; a reader
//!   that falls behind gets the panel as it stands), the other [`shared::effects`], the
//!   [`shared::shutdown`] signal, and the [`shared::health`] records sources, channels and
//!   the supervisor fill in.
//! - [`mqtt_connection`] — connections to an MQTT broker (endpoint, session, TLS, the
//!   site's topic segment), for the sensors' broker and the upstream channel alike.
//! - [`runtime`] — the daemon: the engine task (the journal's only writer, group commit,
//!   commit before effect), graceful shutdown, sd_notify and the watchdog, logging.
//! - [`sources`] — where observations come from, each behind the [`sources::Source`]
//!   trait and supervised with backoff: the feed socket, the simulator, and MQTT
//!   ([`sources::mqtt`]: payload profiles, ack after commit, picket's own topics, Home
//!   Assistant discovery, the command topic).
//! - [`web`] — the local HTTP server: the guards' status page (askama templates,
//!   sessions, CSRF, the keypad, live updates over SSE from the daemon's change stream),
//!   the JSON API with its OpenAPI document, `/healthz` and `/metrics`. It reads
//!   [`shared::effects::Effects`] and the journal, and every button is a command through the
//!   engine handle, as MQTT and GPIO commands are.
//! - [`gpio`] — wired contacts, tamper loops and keyswitches in, sirens and lights out,
//!   behind the [`gpio::GpioBackend`] trait (rppal on a Pi, simulated elsewhere).
//! - [`report`] — the periodic security review's report (month, quarter, assessment year)
//!   from the journal alone: figures, one document drawn as printable HTML (SVG charts) and
//!   PDF (krilla), and CSV tables. [`runtime`] mails the scheduled ones through the outbox.
//! - [`backoff`] — capped exponential backoff with jitter for every reconnect loop.
//! - [`cli`] — `picket run | check-config | verify-journal | user | alarm | report | demo |
//!   bench`.

pub mod backoff;
pub mod channels;
pub mod cli;
pub mod config;
pub mod engine;
pub mod escalation;
pub mod fault;
pub mod gpio;
pub mod journal;
pub mod keypad;
pub mod log_limit;
pub mod mqtt_connection;
pub mod phone;
pub mod report;
pub mod runtime;
pub mod shared;
pub mod sources;
pub mod text;
pub mod web;
