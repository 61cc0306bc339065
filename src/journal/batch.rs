//! Many statements in one round trip to SQLite's thread.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement awaited is
//! a hand-over to that thread and back: under load the hand-overs, not SQLite, were most
//! of a commit's time (an alarm's commit was eight of them). A [`Batch`] is one query
//! holding several statements whose `?` placeholders take the batch's values in order
//! (sqlx binds a multi-statement query's arguments statement by statement), so a whole
//! transaction, `BEGIN IMMEDIATE` to `COMMIT`, is one hand-over.
//!
//! Only plain `?` placeholders may be used: a numbered one (`?3`) would count from the
//! batch's first value, not its statement's.
//!
//! Why not sqlx's `QueryBuilder`, which builds the same text: its `push_bind` panics on a
//! value that cannot be encoded, where a batch keeps the error and refuses to run, so a
//! commit fails (and is retried) instead of taking the engine down.

use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Encode, Sqlite, SqliteConnection, Type};

/// Statements and their values, run together.
#[derive(Default)]
pub(super) struct Batch {
    sql: String,
    values: SqliteArguments,
    /// The first value that could not be encoded: the batch then refuses to run.
    unencodable: Option<sqlx::error::BoxDynError>,
}

impl Batch {
    /// An empty batch.
    pub(super) fn new() -> Self {
        Batch::default()
    }

    /// Appends a statement; its values follow with [`Batch::bind`], in order.
    pub(super) fn statement(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    /// Appends `head VALUES (?, …), … tail`: `rows` rows of `columns` placeholders each,
    /// whose values follow with [`Batch::bind`], row by row.
    pub(super) fn rows(
        &mut self,
        head: &str,
        rows: usize,
        columns: usize,
        tail: &str,
    ) -> &mut Self {
        self.sql.push_str(head);
        self.sql.push_str(" VALUES ");
        for r in 0..rows {
            if r > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            for c in 0..columns {
                self.sql.push_str(if c == 0 { "?" } else { ", ?" });
            }
            self.sql.push(')');
        }
        self.statement(tail)
    }

    /// The next placeholder's value.
    pub(super) fn bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Sqlite> + Type<Sqlite> + 'q,
    {
        if let Err(e) = self.values.add(value) {
            self.unencodable.get_or_insert(e);
        }
        self
    }

    /// Runs every statement, in order, stopping at the first that fails.
    pub(super) async fn run(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if let Some(e) = self.unencodable {
            return Err(sqlx::Error::Encode(e));
        }
        if self.sql.is_empty() {
            return Ok(());
        }
        // Not cached: a batch's text differs from one commit to the next.
        sqlx::query_with(sqlx::AssertSqlSafe(self.sql), self.values)
            .persistent(false)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Runs every statement as one write transaction, `BEGIN IMMEDIATE` to `COMMIT`. On
    /// an error the connection may be left inside the transaction: the caller must not
    /// reuse it.
    pub(super) async fn run_in_transaction(
        mut self,
        conn: &mut SqliteConnection,
    ) -> Result<(), sqlx::Error> {
        self.sql.insert_str(0, "BEGIN IMMEDIATE;\n");
        self.statement("COMMIT");
        self.run(conn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn memory() -> SqliteConnection {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        let mut b = Batch::new();
        b.statement("CREATE TABLE t (a INTEGER, b TEXT)");
        b.run(&mut conn).await.expect("a table");
        conn
    }

    async fn rows(conn: &mut SqliteConnection) -> Vec<(i64, Option<String>)> {
        sqlx::query_as("SELECT a, b FROM t ORDER BY rowid")
            .fetch_all(conn)
            .await
            .expect("rows")
    }

    #[tokio::test]
    async fn each_statement_takes_its_own_values_in_order() {
        let mut conn = memory().await;
        let mut b = Batch::new();
        b.statement("INSERT INTO t (a, b) VALUES (?, ?)")
            .bind(1_i64)
            .bind("one");
        b.rows("INSERT INTO t (a, b)", 2, 2, "")
            .bind(2_i64)
            .bind("two")
            .bind(3_i64)
            .bind(None::<String>);
        b.statement("UPDATE t SET b = ? WHERE a = ?")
            .bind("uno")
            .bind(1_i64);
        b.run_in_transaction(&mut conn).await.expect("committed");
        assert_eq!(
            rows(&mut conn).await,
            vec![(1, Some("uno".into())), (2, Some("two".into())), (3, None)]
        );
    }

    #[tokio::test]
    async fn a_failing_statement_leaves_nothing_committed() {
        let mut conn = memory().await;
        let mut b = Batch::new();
        b.statement("INSERT INTO t (a, b) VALUES (?, ?)")
            .bind(1_i64)
            .bind("one");
        b.statement("INSERT INTO nowhere (a) VALUES (?)")
            .bind(2_i64);
        assert!(b.run_in_transaction(&mut conn).await.is_err());
        let mut rollback = Batch::new();
        rollback.statement("ROLLBACK");
        rollback.run(&mut conn).await.expect("rolled back");
        assert!(rows(&mut conn).await.is_empty());
    }
}
