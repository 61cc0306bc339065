//! picket: a security gateway daemon.
pub mod config;
pub mod engine;
