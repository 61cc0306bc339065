//! Locking the health records and buffers that tasks share.
//!
//! A task that panics while holding one of these locks leaves the record as it was
//! mid-update, which for counters and buffers is still worth reading; refusing every
//! later reader (the page, `/metrics`, the camera's own task) would be worse. So every
//! lock goes through [`lock`], which takes a poisoned lock as it is.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Locks `m`, taking it as it is if a panicking holder poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Copies of shared health records (cameras, channels), each taken under its own lock, for
/// readers that publish them (the page, `/metrics`, MQTT). Empty until they are set up.
pub fn copies<T: Clone>(shared: &OnceLock<Vec<Arc<Mutex<T>>>>) -> Vec<T> {
    shared
        .get()
        .map(|all| all.iter().map(|h| lock(h).clone()).collect())
        .unwrap_or_default()
}
