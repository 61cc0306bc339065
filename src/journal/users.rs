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
    /// Their user number at the receiving centre.
    pub number: u16,
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
    /// User number at the receiving centre (1–999).
    pub number: u16,
}

/// Shortest code accepted.
pub const MIN_CODE_LEN: usize = 4;

fn hash_code(code: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(code.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the code failed: {e}"))
}

/// A code's entry in the code index: argon2id of the code with the installation's own
/// salt (see `migrations/0007_code_index.sql`), so a code typed is found with one
/// computation, whoever's it is.
fn code_tag(code: &str, salt: &[u8]) -> Result<String, String> {
    let mut tag = [0u8; 32];
    Argon2::default()
        .hash_password_into(code.as_bytes(), salt, &mut tag)
        .map_err(|e| format!("indexing the code failed: {e}"))?;
    Ok(hex::encode(tag))
}

/// A code's hash (the authority) and its tag (the index entry).
fn hash_and_tag(code: &str, salt: &[u8]) -> Result<(String, String), String> {
    Ok((hash_code(code)?, code_tag(code, salt)?))
}

fn code_matches(code: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(code.as_bytes(), hash)
        .is_ok()
}

/// Who changes people, and from where, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    /// The administrator's name (or the system user at the command line).
    pub name: &'a str,
    /// The command line or the page.
    pub origin: Origin,
    /// The page's client address.
    pub address: Option<&'a str>,
}

impl<'a> By<'a> {
    /// Someone at the command line.
    pub fn cli(name: &'a str) -> By<'a> {
        By {
            name,
            origin: Origin::Cli,
            address: None,
        }
    }
}

/// The audit entry of an administrator's action.
fn admin_action(action: &str, target: String, by: By<'_>, at: Timestamp) -> AuditEntry {
    AuditEntry {
        at,
        user: by.name.to_string(),
        role: Some(Role::Admin),
        origin: by.origin,
        address: by.address.map(str::to_string),
        action: action.to_string(),
        target,
        result: "ok".into(),
    }
}

/// A user's name, role, number, code hash and duress code hash.
/// A user as a code is checked against: name, role, number, code hash, duress hash, and
/// their tags in the code index.
type CodeRow = (
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Which of a user's codes a typed code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhichCode {
    /// The arming code.
    Code,
    /// The duress code.
    Duress,
}

impl WhichCode {
    /// The statement that indexes this code of a user.
    fn indexing(self) -> &'static str {
        match self {
            WhichCode::Code => "UPDATE users SET code_tag = ? WHERE name = ?",
            WhichCode::Duress => "UPDATE users SET duress_tag = ? WHERE name = ?",
        }
    }
}

/// The user `code` belongs to among `rows`, and which of their codes it is: first those
/// whose tag matched (one hash check), then users from before the index (whose codes have
/// no tag yet).
fn match_code(code: &str, tag: &str, rows: &[CodeRow]) -> Option<(usize, WhichCode)> {
    let tagged = rows.iter().enumerate().flat_map(|(i, r)| {
        let code = (r.5.as_deref() == Some(tag)).then_some((i, WhichCode::Code));
        let duress = (r.6.as_deref() == Some(tag)).then_some((i, WhichCode::Duress));
        code.into_iter().chain(duress)
    });
    let untagged = rows.iter().enumerate().flat_map(|(i, r)| {
        let code = (r.3.is_some() && r.5.is_none()).then_some((i, WhichCode::Code));
        let duress = (r.4.is_some() && r.6.is_none()).then_some((i, WhichCode::Duress));
        code.into_iter().chain(duress)
    });
    tagged.chain(untagged).find(|&(i, which)| {
        let hash = match which {
            WhichCode::Code => &rows[i].3,
            WhichCode::Duress => &rows[i].4,
        };
        hash.as_deref().is_some_and(|h| code_matches(code, h))
    })
}

/// The lowest user number nobody has.
async fn lowest_free_number(conn: &mut sqlx::SqliteConnection) -> Result<Option<u16>, sqlx::Error> {
    let taken: Vec<(i64,)> = sqlx::query_as("SELECT number FROM users ORDER BY number")
        .fetch_all(conn)
        .await?;
    let taken: std::collections::BTreeSet<i64> = taken.into_iter().map(|(n,)| n).collect();
    Ok((1..=999u16).find(|n| !taken.contains(&i64::from(*n))))
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
        self.add_user_numbered(name, role, code, duress, None, By::cli(by), at)
            .await
            .map(|_| ())
    }

    /// Adds a user as [`Journal::add_user`] does, with user number `number` (or the
    /// lowest free one), and returns the number given.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_user_numbered(
        &self,
        name: &str,
        role: Role,
        code: &str,
        duress: Option<&str>,
        number: Option<u16>,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<u16, JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        if name.trim().is_empty() {
            return Err(invalid("the user name must not be empty".into()));
        }
        // A viewer gives no commands, so needs no arming code.
        let code = (!(role == Role::Viewer && code.is_empty())).then_some(code);
        if let Some(code) = code {
            check_code_shape(code, "code").map_err(invalid)?;
        }
        if let Some(d) = duress {
            check_code_shape(d, "duress code").map_err(invalid)?;
            if Some(d) == code {
                return Err(invalid("the duress code must differ from the code".into()));
            }
        }
        let candidates: Vec<String> = code.into_iter().chain(duress).map(str::to_string).collect();
        let mut hashed = self.hash_and_tag_all(candidates.clone()).await?;
        for (candidate, (_, tag)) in candidates.iter().zip(&hashed) {
            if self
                .find_by_tagged_code(candidate, tag.clone())
                .await?
                .is_some()
            {
                return Err(invalid(
                    "that code is already used by another user; choose another".into(),
                ));
            }
        }
        let duress_hash = duress.and_then(|_| hashed.pop());
        let code_hash = code.and_then(|_| hashed.pop());
        let (code_hash, code_tag) = code_hash.unzip();
        let (duress_hash, duress_tag) = duress_hash.unzip();
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("adding a user", e))?;
        let number = match number {
            Some(n) if (1..=999).contains(&n) => n,
            Some(n) => return Err(invalid(format!("user number {n} is not within 1..999"))),
            None => lowest_free_number(&mut tx)
                .await
                .map_err(|e| self.err("numbering a user", e))?
                .ok_or_else(|| invalid("every user number 1..999 is taken".into()))?,
        };
        sqlx::query(
            "INSERT INTO users (name, role, number, code_hash, duress_hash, code_tag, \
             duress_tag, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(i64::from(number))
        .bind(code_hash)
        .bind(duress_hash)
        .bind(code_tag)
        .bind(duress_tag)
        .bind(at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                invalid(format!(
                    "a user named `{name}`, or with user number {number}, already exists"
                ))
            } else {
                self.err("adding a user", e)
            }
        })?;
        super::writer::insert_audit(
            &mut tx,
            &admin_action(
                "user_add",
                format!("{name}:{}:{number}", role.as_str()),
                by,
                at,
            ),
        )
        .await
        .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("adding a user", e))?;
        Ok(number)
    }

    /// Gives `name` the user number `number` (1–999, not taken), and audits it.
    pub async fn set_user_number(
        &self,
        name: &str,
        number: u16,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        if !(1..=999).contains(&number) {
            return Err(invalid(format!(
                "user number {number} is not within 1..999"
            )));
        }
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("numbering a user", e))?;
        let changed = sqlx::query("UPDATE users SET number = ? WHERE name = ?")
            .bind(i64::from(number))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation())
                {
                    invalid(format!("user number {number} is already someone else's"))
                } else {
                    self.err("numbering a user", e)
                }
            })?
            .rows_affected();
        if changed == 0 {
            return Err(invalid(format!("no user named `{name}`")));
        }
        super::writer::insert_audit(
            &mut tx,
            &admin_action("user_number", format!("{name}:{number}"), by, at),
        )
        .await
        .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("numbering a user", e))
    }

    /// Gives `name` the phone `phone` (any written form; stored as `+<digits>`), or none,
    /// and audits it. SMS commands are taken only from people's phones, so a number is
    /// one person's.
    pub async fn set_phone(
        &self,
        name: &str,
        phone: Option<&str>,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        let phone = phone
            .filter(|p| !p.trim().is_empty())
            .map(crate::phone::normalize)
            .transpose()
            .map_err(invalid)?;
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("setting a phone", e))?;
        if let Some(p) = &phone {
            let other: Option<(String,)> =
                sqlx::query_as("SELECT name FROM users WHERE phone = ? AND name <> ?")
                    .bind(p)
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.err("setting a phone", e))?;
            if let Some((other,)) = other {
                return Err(invalid(format!("phone {p} is already {other}'s")));
            }
        }
        let changed = sqlx::query("UPDATE users SET phone = ? WHERE name = ?")
            .bind(phone.as_deref())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err("setting a phone", e))?
            .rows_affected();
        if changed == 0 {
            return Err(invalid(format!("no user named `{name}`")));
        }
        let target = format!("{name}:{}", phone.as_deref().unwrap_or("none"));
        super::writer::insert_audit(&mut tx, &admin_action("user_phone", target, by, at))
            .await
            .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("setting a phone", e))
    }

    /// The enabled person whose phone `phone` is (in any written form).
    pub async fn person_by_phone(&self, phone: &str) -> Result<Option<String>, JournalError> {
        let Ok(phone) = crate::phone::normalize(phone) else {
            return Ok(None);
        };
        let row: Option<(String,)> =
            sqlx::query_as("SELECT name FROM users WHERE phone = ? AND disabled = 0")
                .bind(phone)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.err("reading users", e))?;
        Ok(row.map(|(name,)| name))
    }

    /// The phone of person `name`, if they have one.
    pub async fn phone_of(&self, name: &str) -> Result<Option<String>, JournalError> {
        let phone: Option<Option<String>> =
            sqlx::query_scalar("SELECT phone FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.err("reading users", e))?;
        Ok(phone.flatten())
    }

    /// The installation's salt for the code index, read from the journal once.
    async fn code_salt(&self) -> Result<Vec<u8>, JournalError> {
        self.code_salt
            .get_or_try_init(|| async {
                sqlx::query_scalar("SELECT salt FROM code_index WHERE id = 1")
                    .fetch_one(self.pool())
                    .await
                    .map_err(|e| self.err("reading the code index", e))
            })
            .await
            .cloned()
    }

    /// Each code's hash and index tag, worked out on the blocking pool.
    async fn hash_and_tag_all(
        &self,
        codes: Vec<String>,
    ) -> Result<Vec<(String, String)>, JournalError> {
        let other = |e: String| JournalError::new(JournalErrorKind::Other, self.path(), e);
        let salt = self.code_salt().await?;
        tokio::task::spawn_blocking(move || {
            codes
                .iter()
                .map(|c| hash_and_tag(c, &salt))
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(|e| other(e.to_string()))?
        .map_err(other)
    }

    /// Finds the enabled user whose code or duress code this is: one argon2id computation
    /// finds the code in the index, one more verifies it against the user's own hash,
    /// however many users there are. (A user from before the index is checked in turn, as
    /// before, and indexed once their code is used.) Hash checks run on the blocking pool
    /// so the caller's task is not stalled.
    pub async fn find_by_code(&self, code: &str) -> Result<Option<VerifiedUser>, JournalError> {
        let other = |e: String| JournalError::new(JournalErrorKind::Other, self.path(), e);
        let salt = self.code_salt().await?;
        let typed = code.to_string();
        let tag = tokio::task::spawn_blocking(move || code_tag(&typed, &salt))
            .await
            .map_err(|e| other(e.to_string()))?
            .map_err(other)?;
        self.find_by_tagged_code(code, tag).await
    }

    /// [`Journal::find_by_code`] for a code whose index tag is already known.
    async fn find_by_tagged_code(
        &self,
        code: &str,
        tag: String,
    ) -> Result<Option<VerifiedUser>, JournalError> {
        let other = |e: String| JournalError::new(JournalErrorKind::Other, self.path(), e);
        let rows: Vec<CodeRow> = sqlx::query_as(
            "SELECT name, role, number, code_hash, duress_hash, code_tag, duress_tag              FROM users WHERE disabled = 0 AND (code_tag = ?1 OR duress_tag = ?1              OR (code_hash IS NOT NULL AND code_tag IS NULL)              OR (duress_hash IS NOT NULL AND duress_tag IS NULL)) ORDER BY id",
        )
        .bind(&tag)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading users", e))?;
        let typed = code.to_string();
        let (rows, tag, found) = tokio::task::spawn_blocking(move || {
            let found = match_code(&typed, &tag, &rows);
            (rows, tag, found)
        })
        .await
        .map_err(|e| other(e.to_string()))?;
        let Some((i, which)) = found else {
            return Ok(None);
        };
        let Some((name, role, number, _, _, code_tag, duress_tag)) = rows.into_iter().nth(i) else {
            return Ok(None);
        };
        let untagged = match which {
            WhichCode::Code => code_tag.is_none(),
            WhichCode::Duress => duress_tag.is_none(),
        };
        if untagged {
            sqlx::query(which.indexing())
                .bind(&tag)
                .bind(&name)
                .execute(self.pool())
                .await
                .map_err(|e| self.err("indexing a code", e))?;
        }
        Ok(Role::parse(&role).map(|role| VerifiedUser {
            name,
            role,
            duress: which == WhichCode::Duress,
            number: u16::try_from(number).unwrap_or(0),
        }))
    }

    /// Every user, for listings.
    pub async fn users(&self) -> Result<Vec<UserSummary>, JournalError> {
        let rows: Vec<(String, String, Option<String>, i64)> =
            sqlx::query_as("SELECT name, role, duress_hash, number FROM users ORDER BY number")
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err("reading users", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, role, duress, number)| {
                Some(UserSummary {
                    name,
                    role: Role::parse(&role)?,
                    has_duress: duress.is_some(),
                    number: u16::try_from(number).unwrap_or(0),
                })
            })
            .collect())
    }
}

/// A person as the page's login and the users page see them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// User number at the receiving centre.
    pub number: u16,
    /// May not log in or use a code.
    pub disabled: bool,
    /// Has a page password.
    pub has_password: bool,
    /// Has an arming code.
    pub has_code: bool,
    /// Has a duress code.
    pub has_duress: bool,
    /// Phone number (`+84…`), from which SMS commands are taken.
    pub phone: Option<String>,
}

/// Shortest page password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

impl Journal {
    /// Every person, by user number.
    pub async fn people(&self) -> Result<Vec<Person>, JournalError> {
        type Row = (
            String,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT name, role, number, disabled, password_hash, code_hash, duress_hash, phone \
             FROM users ORDER BY number",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading users", e))?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(name, role, number, disabled, password, code, duress, phone)| {
                    Some(Person {
                        phone,
                        name,
                        role: Role::parse(&role)?,
                        number: u16::try_from(number).unwrap_or(0),
                        disabled: disabled != 0,
                        has_password: password.is_some(),
                        has_code: code.is_some(),
                        has_duress: duress.is_some(),
                    })
                },
            )
            .collect())
    }

    /// The enabled person whose page password this is; `None` for a wrong name or
    /// password (the caller cannot tell which, and neither can an attacker).
    pub async fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<Person>, JournalError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT password_hash FROM users WHERE name = ? AND disabled = 0")
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.err("reading users", e))?;
        // Hash even when there is no such person, so the answer takes as long either way.
        let hash = row.and_then(|(h,)| h);
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || match hash {
            Some(h) => code_matches(&password, &h),
            None => {
                let _ = hash_code(&password);
                false
            }
        })
        .await
        .map_err(|e| JournalError::new(JournalErrorKind::Other, self.path(), e.to_string()))?;
        if !matches {
            return Ok(None);
        }
        Ok(self.people().await?.into_iter().find(|p| p.name == name))
    }

    /// Sets a person's page password (argon2id), and audits it.
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(invalid(format!(
                "the password must be at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_code(&password))
            .await
            .map_err(|e| invalid(e.to_string()))?
            .map_err(invalid)?;
        self.update_user(
            name,
            "UPDATE users SET password_hash = ? WHERE name = ?",
            Some(hash),
            admin_action("user_password", name.to_string(), by, at),
        )
        .await
    }

    /// Gives a person a new arming code (and duress code, or none), and audits it.
    pub async fn set_codes(
        &self,
        name: &str,
        code: &str,
        duress: Option<&str>,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let invalid = |m: String| JournalError::new(JournalErrorKind::Other, self.path(), m);
        check_code_shape(code, "code").map_err(invalid)?;
        if let Some(d) = duress {
            check_code_shape(d, "duress code").map_err(invalid)?;
            if d == code {
                return Err(invalid("the duress code must differ from the code".into()));
            }
        }
        let candidates: Vec<String> = std::iter::once(code)
            .chain(duress)
            .map(str::to_string)
            .collect();
        let mut hashed = self.hash_and_tag_all(candidates.clone()).await?;
        for (candidate, (_, tag)) in candidates.iter().zip(&hashed) {
            if self
                .find_by_tagged_code(candidate, tag.clone())
                .await?
                .is_some_and(|u| u.name != name)
            {
                return Err(invalid(
                    "that code is already used by another user; choose another".into(),
                ));
            }
        }
        let duress_hash = duress.and_then(|_| hashed.pop());
        let Some((code_hash, code_tag)) = hashed.pop() else {
            return Err(invalid("no code to set".into()));
        };
        let (duress_hash, duress_tag) = duress_hash.unzip();
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("changing codes", e))?;
        let changed = sqlx::query(
            "UPDATE users SET code_hash = ?, duress_hash = ?, code_tag = ?, duress_tag = ? \
             WHERE name = ?",
        )
        .bind(code_hash)
        .bind(duress_hash)
        .bind(code_tag)
        .bind(duress_tag)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err("changing codes", e))?
        .rows_affected();
        if changed == 0 {
            return Err(invalid(format!("no user named `{name}`")));
        }
        super::writer::insert_audit(
            &mut tx,
            &admin_action("user_codes", name.to_string(), by, at),
        )
        .await
        .map_err(|e| self.err("auditing", e))?;
        tx.commit().await.map_err(|e| self.err("changing codes", e))
    }

    /// Changes a person's role, and audits it.
    pub async fn set_role(
        &self,
        name: &str,
        role: Role,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        self.update_user(
            name,
            "UPDATE users SET role = ? WHERE name = ?",
            Some(role.as_str().to_string()),
            admin_action("user_role", format!("{name}:{}", role.as_str()), by, at),
        )
        .await
    }

    /// Disables (or enables again) a person: no login, no code. Audited.
    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let action = if disabled {
            "user_disable"
        } else {
            "user_enable"
        };
        self.update_user(
            name,
            "UPDATE users SET disabled = ? WHERE name = ?",
            Some(if disabled { "1" } else { "0" }.to_string()),
            admin_action(action, name.to_string(), by, at),
        )
        .await
    }

    /// One UPDATE of a named person with its audit entry, in one transaction.
    async fn update_user(
        &self,
        name: &str,
        sql: &'static str,
        value: Option<String>,
        audit: AuditEntry,
    ) -> Result<(), JournalError> {
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("changing a user", e))?;
        let changed = sqlx::query(sql)
            .bind(value)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err("changing a user", e))?
            .rows_affected();
        if changed == 0 {
            return Err(JournalError::new(
                JournalErrorKind::Other,
                self.path(),
                format!("no user named `{name}`"),
            ));
        }
        super::writer::insert_audit(&mut tx, &audit)
            .await
            .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("changing a user", e))
    }
}
