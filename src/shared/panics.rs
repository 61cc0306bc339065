//! A helper task's panic carried to the task that spawned it.

/// Makes a helper task's panic its owner's (a source's, a channel worker's), so the
/// daemon's supervisor sees it and restarts the whole task, instead of the helper vanishing
/// while its owner carries on half-working.
pub fn propagate_panic<T>(joined: Result<T, tokio::task::JoinError>) -> Option<T> {
    match joined {
        Ok(value) => Some(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}
