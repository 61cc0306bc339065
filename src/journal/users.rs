//! People and their arming codes. Codes are stored as argon2id hashes; a code is checked
//! where it is entered (page, MQTT, keypad) and the engine receives the verified person.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use super::{Journal, JournalError, JournalErrorKind};
use crate::engine::{AuditEntry, Origin, Role, Timestamp};

/// A person found by their code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The code was this user's duress code.
    pub duress: bool,
}

/// A stored user (without hashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Has a duress code.
    pub has_duress: bool,
}

/// Shortest code accepted.
pub const MIN_CODE_LEN: usize = 4;

fn hash_code(code: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(code.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the code failed: {e}"))
}

fn code_matches(code: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(code.as_bytes(), hash)
        .is_ok()
}

fn check_code_shape(code: &str, what: &str) -> Result<(), String> {
    if code.chars().count() < MIN_CODE_LEN || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "the {what} must be at least {MIN_CODE_LEN} digits (keypads only have digits)"
        ));
    }
    Ok(())
}

impl Journal {
    /// Adds a user with an arming code and an optional duress code, and audits it.
    /// Codes must be unique across all users, since a keypad knows only the code.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        code: &str,
        duress: Option<&str>,
        by: &str,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        if name.trim().is_empty() {
            return Err(invalid("the user name must not be empty".into()));
        }
        check_code_shape(code, "code").map_err(invalid)?;
        if let Some(d) = duress {
            check_code_shape(d, "duress code").map_err(invalid)?;
            if d == code {
                return Err(invalid("the duress code must differ from the code".into()));
            }
        }
        for candidate in std::iter::once(code).chain(duress) {
            if self.find_by_code(candidate).await?.is_some() {
                return Err(invalid(
                    "that code is already used by another user; choose another".into(),
                ));
            }
        }
        let (code_hash, duress_hash) = {
            let code = code.to_string();
            let duress = duress.map(str::to_string);
            tokio::task::spawn_blocking(move || {
                Ok::<_, String>((
                    hash_code(&code)?,
                    duress.as_deref().map(hash_code).transpose()?,
                ))
            })
            .await
            .map_err(|e| invalid(e.to_string()))?
            .map_err(invalid)?
        };
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("adding a user", e))?;
        sqlx::query(
            "INSERT INTO users (name, role, code_hash, duress_hash, created_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(code_hash)
        .bind(duress_hash)
        .bind(at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                invalid(format!("a user named `{name}` already exists"))
            } else {
                self.err("adding a user", e)
            }
        })?;
        super::writer::insert_audit(
            &mut tx,
            &AuditEntry {
                at,
                user: by.to_string(),
                role: Role::Admin,
                origin: Origin::Cli,
                action: "user_add".into(),
                target: format!("{name}:{}", role.as_str()),
                result: "ok".into(),
            },
        )
        .await
        .map_err(|e| self.err("auditing", e))?;
        tx.commit().await.map_err(|e| self.err("adding a user", e))
    }

    /// Finds the enabled user whose code or duress code this is. Hash checks run on the
    /// blocking pool so the caller's task is not stalled.
    pub async fn find_by_code(&self, code: &str) -> Result<Option<VerifiedUser>, JournalError> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT name, role, code_hash, duress_hash FROM users WHERE disabled = 0 ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading users", e))?;
        let code = code.to_string();
        let found = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .find_map(|(name, role, code_hash, duress_hash)| {
                    let role = Role::parse(&role)?;
                    if code_matches(&code, &code_hash) {
                        return Some(VerifiedUser {
                            name,
                            role,
                            duress: false,
                        });
                    }
                    duress_hash
                        .filter(|h| code_matches(&code, h))
                        .map(|_| VerifiedUser {
                            name,
                            role,
                            duress: true,
                        })
                })
        })
        .await
        .map_err(|e| JournalError::new(JournalErrorKind::Other, self.path(), e.to_string()))?;
        Ok(found)
    }

    /// Every user, for listings.
    pub async fn users(&self) -> Result<Vec<UserSummary>, JournalError> {
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT name, role, duress_hash FROM users ORDER BY name")
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err("reading users", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, role, duress)| {
                Some(UserSummary {
                    name,
                    role: Role::parse(&role)?,
                    has_duress: duress.is_some(),
                })
            })
            .collect())
    }
}
