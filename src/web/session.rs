//! Page sessions and logins. A session lives in memory (a restart asks everyone to log in
//! again), ends after the configured idle time or at logout, and carries its CSRF token.
//! Logins are limited per name and per client address: repeated failures lock that name
//! (or address) for a while, and every attempt is audited by the caller.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

use crate::engine::Role;
use crate::shared::lock::lock;

/// Failed logins for one name within [`FAILURE_WINDOW`] before it is locked.
pub const NAME_MAX_FAILURES: usize = 5;
/// Failed logins from one address within [`FAILURE_WINDOW`] before it is locked.
pub const ADDRESS_MAX_FAILURES: usize = 20;
/// Window for counting failures.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// How long a name or an address stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(300);

/// One logged-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Their user name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// Their user number.
    pub number: u16,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Last request.
    last_seen: Instant,
}

/// Why a login may not be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    /// The name is locked.
    Name,
    /// The client address is locked.
    Address,
}

/// Failures and locks of one name or address.
#[derive(Debug, Default)]
struct Failures {
    /// Recent failures.
    times: VecDeque<Instant>,
    /// Locked until.
    until: Option<Instant>,
}

impl Failures {
    fn locked(&self, now: Instant) -> bool {
        self.until.is_some_and(|t| t > now)
    }

    /// Counts a failure; true when it locks.
    fn fail(&mut self, now: Instant, max: usize) -> bool {
        self.times.push_back(now);
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > FAILURE_WINDOW)
        {
            self.times.pop_front();
        }
        if self.times.len() >= max {
            self.times.clear();
            self.until = Some(now + LOCKOUT);
            true
        } else {
            false
        }
    }
}

/// Every session and the login limits.
#[derive(Debug)]
pub struct Sessions {
    /// By session id.
    sessions: Mutex<HashMap<String, Session>>,
    /// A session idle this long ends.
    idle: Duration,
    /// Failures by name.
    names: Mutex<HashMap<String, Failures>>,
    /// Failures by client address.
    addresses: Mutex<HashMap<String, Failures>>,
}

/// A random token of 32 bytes, hex.
pub fn random_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// No sessions; sessions idle for `idle` end.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            sessions: Mutex::default(),
            idle,
            names: Mutex::default(),
            addresses: Mutex::default(),
        }
    }

    /// Whether a login for `name` from `address` may be tried now.
    pub fn may_try(&self, name: &str, address: &str) -> Result<(), Locked> {
        let now = Instant::now();
        if lock(&self.addresses)
            .get(address)
            .is_some_and(|f| f.locked(now))
        {
            return Err(Locked::Address);
        }
        if lock(&self.names).get(name).is_some_and(|f| f.locked(now)) {
            return Err(Locked::Name);
        }
        Ok(())
    }

    /// Counts a failed login; says what it locked, if anything.
    pub fn failed(&self, name: &str, address: &str) -> Option<Locked> {
        let now = Instant::now();
        let address_locked = lock(&self.addresses)
            .entry(address.to_string())
            .or_default()
            .fail(now, ADDRESS_MAX_FAILURES);
        let name_locked = lock(&self.names)
            .entry(name.to_string())
            .or_default()
            .fail(now, NAME_MAX_FAILURES);
        if address_locked {
            Some(Locked::Address)
        } else if name_locked {
            Some(Locked::Name)
        } else {
            None
        }
    }

    /// Starts a session for a person who logged in; returns its id.
    pub fn start(&self, user: &str, role: Role, number: u16) -> String {
        lock(&self.names).remove(user);
        let id = random_token();
        let session = Session {
            user: user.to_string(),
            role,
            number,
            csrf: random_token(),
            last_seen: Instant::now(),
        };
        let mut sessions = lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, s| now.saturating_duration_since(s.last_seen) < self.idle);
        sessions.insert(id.clone(), session);
        id
    }

    /// The session with this id, if it has not been idle too long; counts as activity.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        let expired = sessions
            .get(id)
            .is_some_and(|s| now.saturating_duration_since(s.last_seen) >= self.idle);
        if expired {
            sessions.remove(id);
            return None;
        }
        let session = sessions.get_mut(id)?;
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session (logout).
    pub fn end(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Ends every session of a person (disabled, role or password changed).
    pub fn end_all_of(&self, user: &str) {
        lock(&self.sessions).retain(|_, s| s.user != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_after_the_idle_time_and_activity_keeps_it() {
        let sessions = Sessions::new(Duration::from_secs(15 * 60));
        let id = sessions.start("an", Role::Guard, 1);
        tokio::time::advance(Duration::from_secs(14 * 60)).await;
        assert!(
            sessions.touch(&id).is_some(),
            "activity within the idle time"
        );
        tokio::time::advance(Duration::from_secs(14 * 60)).await;
        assert!(
            sessions.touch(&id).is_some(),
            "counted from the last request"
        );
        tokio::time::advance(Duration::from_secs(15 * 60)).await;
        assert!(sessions.touch(&id).is_none(), "idle too long");
        assert!(sessions.touch(&id).is_none(), "and gone for good");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_lock_a_name_then_an_address_and_the_locks_expire() {
        let sessions = Sessions::new(Duration::from_secs(900));
        for _ in 0..NAME_MAX_FAILURES - 1 {
            assert_eq!(sessions.failed("an", "10.0.0.9"), None);
        }
        assert_eq!(sessions.failed("an", "10.0.0.9"), Some(Locked::Name));
        assert_eq!(sessions.may_try("an", "10.0.0.7"), Err(Locked::Name));
        assert_eq!(sessions.may_try("binh", "10.0.0.9"), Ok(()));
        tokio::time::advance(LOCKOUT + Duration::from_secs(1)).await;
        assert_eq!(sessions.may_try("an", "10.0.0.9"), Ok(()));
        // Many names from one address lock the address.
        let locked: Vec<Option<Locked>> = (0..ADDRESS_MAX_FAILURES)
            .map(|i| sessions.failed(&format!("guess{i}"), "10.0.0.66"))
            .collect();
        assert_eq!(locked.last(), Some(&Some(Locked::Address)));
        assert_eq!(sessions.may_try("an", "10.0.0.66"), Err(Locked::Address));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
