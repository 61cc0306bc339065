//! SIA DC-09 (ANSI/SIA DC-09) — how professional panels report to an alarm receiving
//! centre over IP. [`codec`] frames and parses messages (CRC-16/ARC, length, AES-CBC);
//! [`transmitter`] sends one and waits for the receiver's answer; [`channel`] is the
//! outbox channel with dual paths and NULL supervision.

pub mod channel;
pub mod codec;
pub mod sia_codes;
pub mod transmitter;

pub use channel::SiaDelivery;
