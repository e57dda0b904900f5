//! Non-test source lines of the hypervisor's crates: every `.rs` file below a tree, without
//! `tests/` directories and without items marked `#[cfg(test)]` (the unit-test modules).

use std::path::Path;

use anyhow::{Context, Result};

/// The trees counted, by name, relative to the repository root.
pub const TREES: [(&str, &str); 3] = [("kernel", "kernel"), ("services", "services"), ("abi", "abi")];

/// Lines of non-test code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCount {
    /// Every line.
    pub lines: u64,
    /// Lines that are neither blank nor only a comment.
    pub code: u64,
}

impl std::ops::AddAssign for LineCount {
    fn add_assign(&mut self, other: Self) {
        self.lines += other.lines;
        self.code += other.code;
    }
}

/// Counts the non-test lines of one Rust source file.
#[must_use]
pub fn count_text(text: &str) -> LineCount {
    let mut count = LineCount::default();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("#[cfg(test)]") {
            skip_item(rest, &mut lines);
            continue;
        }
        count.lines += 1;
        if !trimmed.is_empty() && !trimmed.starts_with("//") {
            count.code += 1;
        }
    }
    count
}

/// Skips the item after a `#[cfg(test)]` whose line continues with `rest`: further attributes,
/// then either one line ending in `;` or a braced block up to its closing brace.
fn skip_item<'a>(rest: &str, lines: &mut impl Iterator<Item = &'a str>) {
    let mut depth: i64 = 0;
    let mut opened = false;
    let mut line = rest.trim().to_owned();
    loop {
        let is_attribute = line.starts_with("#[") && brace_delta(&line) == 0 && line.ends_with(']');
        if !line.is_empty() && !is_attribute {
            depth += brace_delta(&line);
            opened |= line.contains('{');
            if (opened && depth <= 0) || (!opened && line.ends_with(';')) {
                return;
            }
        }
        match lines.next() {
            Some(next) => next.trim().clone_into(&mut line),
            None => return,
        }
    }
}

/// Opening minus closing braces of a line, outside string literals and comments.
fn brace_delta(line: &str) -> i64 {
    let mut delta = 0;
    let mut in_string = false;
    let mut characters = line.chars().peekable();
    while let Some(character) = characters.next() {
        match (in_string, character) {
            (true, '\\') => {
                characters.next();
            }
            (_, '"') => in_string = !in_string,
            (false, '/') if characters.peek() == Some(&'/') => break,
            (false, '{') => delta += 1,
            (false, '}') => delta -= 1,
            _ => {}
        }
    }
    delta
}

/// Counts every `.rs` file below `directory`, leaving out `tests/` and `target/` directories.
pub fn count_tree(directory: &Path) -> Result<LineCount> {
    let mut total = LineCount::default();
    let entries = std::fs::read_dir(directory).with_context(|| format!("reading {}", directory.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() {
            if name != "tests" && name != "target" {
                total += count_tree(&path)?;
            }
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            total += count_text(&text);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_and_comments_are_left_out() {
        let text = "//! Module.\n\nuse x;\n\n/// Doc.\nfn f() {\n    let s = \"}\";\n}\n\n#[cfg(test)]\nmod tests {\n    \
                    #[test]\n    fn t() {\n        assert!(true);\n    }\n}\n";
        assert_eq!(count_text(text), LineCount { lines: 9, code: 4 });
    }

    #[test]
    fn single_line_and_attributed_test_items_are_left_out() {
        let text = "fn a() {}\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\n#[allow(dead_code)]\nconst X: u8 = 1;\n\
                    #[cfg(test)] use std::vec;\nfn b() {}\n";
        assert_eq!(count_text(text), LineCount { lines: 2, code: 2 });
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        assert_eq!(brace_delta("let s = \"{{\"; // {"), 0);
        assert_eq!(brace_delta("fn f() { let c = \"\\\"}\";"), 1);
        assert_eq!(brace_delta("}"), -1);
    }

    #[test]
    fn counts_this_crates_own_tree() {
        let source = crate::paths::repo_root().join("tools/xtask/src/bench");
        let count = count_tree(&source).unwrap();
        assert!(count.code > 100 && count.code < count.lines, "{count:?}");
    }
}
