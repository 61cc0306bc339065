//! Maps key paths such as `zones[2].area` to `line:col` in the TOML text.
//!
//! Validation runs on typed structs that no longer know where they came from; this index,
//! built once from the parsed document, lets every error point at the line to fix.

use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// A place in the configuration text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

/// Byte spans of every key and value in a TOML document, by key path.
#[derive(Debug, Default)]
pub struct SpanIndex {
    /// Path → (key span, value span).
    spans: BTreeMap<String, (Range<usize>, Range<usize>)>,
    /// Byte offsets where each line starts.
    line_starts: Vec<usize>,
    /// The text, for character-accurate columns.
    text: String,
}

impl SpanIndex {
    /// Indexes a parsed document.
    pub fn build(text: &str, root: &DeTable<'_>) -> Self {
        let mut index = SpanIndex {
            spans: BTreeMap::new(),
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            text: text.to_string(),
        };
        index.walk_table("", root);
        index
    }

    fn walk_table(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            self.spans.insert(path.clone(), (key.span(), value.span()));
            self.walk_value(&path, value.get_ref());
        }
    }

    fn walk_value(&mut self, path: &str, value: &DeValue<'_>) {
        match value {
            DeValue::Table(t) => self.walk_table(path, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    self.spans
                        .insert(item_path.clone(), (item.span(), item.span()));
                    self.walk_value(&item_path, item.get_ref());
                }
            }
            _ => {}
        }
    }

    /// Where the key at `path` is written; falls back to the nearest parent that is
    /// written (a missing key is reported at its table).
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut candidate = path.to_string();
        loop {
            if let Some((key, _)) = self.spans.get(&candidate) {
                return Some(self.location_of(key.start));
            }
            let cut = candidate.rfind(['.', '['])?;
            candidate.truncate(cut);
            if candidate.is_empty() {
                return None;
            }
        }
    }

    /// The deepest key path whose value contains the byte offset.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        self.spans
            .iter()
            .filter(|(_, (key, value))| {
                key.contains(&offset) || value.contains(&offset) || value.start == offset
            })
            .max_by_key(|(path, (_, value))| (path.len(), usize::MAX - value.len()))
            .map(|(path, _)| path.clone())
    }

    /// Line and column of a byte offset.
    pub fn location_of(&self, offset: usize) -> Location {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let end = offset.min(self.text.len());
        let col = self
            .text
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        Location {
            line: line + 1,
            col: col + 1,
        }
    }
}
