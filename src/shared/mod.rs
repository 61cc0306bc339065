//! What the daemon's tasks share, below every one of them: the way in to the engine, the
//! change stream and the other effects the engine task makes known, the stop signal, and
//! the health records sources, channels and the supervisor fill in. Sources, channels,
//! GPIO, the keypad and the web server import these from here; [`crate::runtime`], on
//! top, makes them and hands them out.

pub mod changes;
pub mod effects;
pub mod engine_handle;
pub mod health;
pub mod lock;
pub mod panics;
pub mod shutdown;
