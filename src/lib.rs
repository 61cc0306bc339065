//! picket: a security gateway daemon.
pub mod backoff;
pub mod cli;
pub mod config;
pub mod engine;
pub mod journal;
pub mod runtime;
pub mod sources;
