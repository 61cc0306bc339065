//! The crate doc's Layout stays true: every `crate::<module>` a module's code (tests
//! aside) names is on a row below its own in the table in `src/lib.rs`, so imports run one
//! way and no module is left out of the table.

use std::collections::BTreeMap;
use std::path::Path;

/// The rows of the Layout table in `src/lib.rs`, top first.
fn layers() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string("src/lib.rs").unwrap();
    let table = lib
        .split("//! Imports run one way")
        .nth(1)
        .and_then(|rest| rest.split("//! ```text").nth(1))
        .and_then(|rest| rest.split("//! ```").next())
        .expect("the Layout table in src/lib.rs");
    table
        .lines()
        .map(|l| l.trim_start_matches("//!").trim())
        .filter(|l| !l.is_empty())
        // A row is its module names; words after a wide gap are its note.
        .map(|l| l.split("   ").next().unwrap_or(""))
        .filter(|row| !row.trim().is_empty())
        .map(|row| row.split('·').map(|m| m.trim().to_string()).collect())
        .collect()
}

/// Every `crate::<top>` named outside `#[cfg(test)]` in `path` (a file, or the files under
/// a directory), with where.
fn uses(path: &Path, into: &mut Vec<(String, String)>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            uses(&entry.unwrap().path(), into);
        }
        return;
    }
    if path.extension().is_none_or(|e| e != "rs") || path.ends_with("tests.rs") {
        return;
    }
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        for part in line.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            into.push((format!("{}:{}", path.display(), n + 1), name));
        }
    }
}

#[test]
fn imports_run_down_the_layout_of_lib_rs() {
    let layers = layers();
    let row: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (n.as_str(), i)))
        .collect();
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir("src").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let Some(&own) = row.get(name.as_str()) else {
            wrong.push(format!("src/{name} is not in the Layout table"));
            continue;
        };
        let mut found = Vec::new();
        uses(&path, &mut found);
        for (place, used) in found {
            match row.get(used.as_str()) {
                Some(&theirs) if used == name || theirs > own => {}
                Some(_) => wrong.push(format!(
                    "{place}: {name} uses {used}, which is not below it"
                )),
                None => {}
            }
        }
    }
    assert!(layers.len() > 5, "the table was read: {layers:?}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
