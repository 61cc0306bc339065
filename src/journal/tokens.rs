//! Bearer tokens for `/metrics` and the JSON API: made by an admin for a monitoring
//! system or an integration, shown once, kept only as their SHA-256 (a token is 32 random
//! bytes, so a fast hash is enough), each with a role, revocable.

use rand::RngExt;
use sha2::{Digest, Sha256};

use super::users::By;
use super::{Journal, JournalError, JournalErrorKind};
use crate::engine::{AuditEntry, Role, Timestamp};

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Its name (what uses it).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn token_audit(action: &str, name: &str, by: By<'_>, at: Timestamp) -> AuditEntry {
    AuditEntry {
        at,
        user: by.name.to_string(),
        role: Some(Role::Admin),
        origin: by.origin,
        address: by.address.map(str::to_string),
        action: action.into(),
        target: format!("token:{name}"),
        result: "ok".into(),
    }
}

impl Journal {
    /// Makes a token named `name` with `role`; returns the token, which is not kept.
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<String, JournalError> {
        let bytes: [u8; 32] = rand::rng().random();
        let token = format!("pk_{}", hex::encode(bytes));
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("making a token", e))?;
        sqlx::query(
            "INSERT INTO api_tokens (name, role, token_sha256, created_by, created_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(digest(&token))
        .bind(by.name)
        .bind(at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                JournalError::new(
                    JournalErrorKind::Other,
                    self.path(),
                    format!("a token named `{name}` exists already"),
                )
            } else {
                self.err("making a token", e)
            }
        })?;
        super::writer::insert_audit(&mut tx, &token_audit("token_create", name, by, at))
            .await
            .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("making a token", e))?;
        Ok(token)
    }

    /// The name and role of a token that is not revoked.
    pub async fn check_token(&self, token: &str) -> Result<Option<(String, Role)>, JournalError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT name, role FROM api_tokens WHERE token_sha256 = ? AND revoked_at_ms IS NULL",
        )
        .bind(digest(token))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err("reading tokens", e))?;
        Ok(row.and_then(|(name, role)| Some((name, Role::parse(&role)?))))
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, JournalError> {
        let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, role, created_by, created_at_ms, revoked_at_ms FROM api_tokens \
             ORDER BY id DESC",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading tokens", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, role, created_by, created_at_ms, revoked_at_ms)| {
                Some(TokenInfo {
                    name,
                    role: Role::parse(&role)?,
                    created_by,
                    created_at_ms,
                    revoked_at_ms,
                })
            })
            .collect())
    }

    /// Revokes a token, and audits it.
    pub async fn revoke_token(
        &self,
        name: &str,
        by: By<'_>,
        at: Timestamp,
    ) -> Result<(), JournalError> {
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("revoking a token", e))?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at_ms = ? WHERE name = ? AND revoked_at_ms IS NULL",
        )
        .bind(at.0)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err("revoking a token", e))?;
        super::writer::insert_audit(&mut tx, &token_audit("token_revoke", name, by, at))
            .await
            .map_err(|e| self.err("auditing", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("revoking a token", e))
    }
}
