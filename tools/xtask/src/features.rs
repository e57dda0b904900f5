//! Cargo features of a board build, and the image directory they select.
//!
//! Images built with features (test builds such as `el2-fault-test`) go to their own directory,
//! `target/images/<board>-<features>/`, so they never overwrite the normal images.

use std::fmt;

/// A normalised (sorted, deduplicated) list of cargo features for a board crate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Features(Vec<String>);

impl Features {
    /// No features: the normal build.
    pub const fn none() -> Self {
        Self(Vec::new())
    }

    /// Parses cargo's `--features` syntax: names separated by commas and/or spaces.
    pub fn parse(list: &str) -> Self {
        let mut names: Vec<String> = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        Self(names)
    }

    /// Whether this is the normal build.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Cargo arguments selecting these features (nothing for the normal build).
    pub fn cargo_args(&self) -> Vec<String> {
        if self.is_empty() { Vec::new() } else { vec!["--features".to_owned(), self.0.join(",")] }
    }

    /// Suffix of the image directory: empty for the normal build, otherwise `-` and the
    /// features joined by `-`, with characters other than letters, digits, `-` and `_`
    /// (for example the `/` of `dep/feature`) replaced by `_`.
    pub fn dir_suffix(&self) -> String {
        let mut suffix = String::new();
        for name in &self.0 {
            suffix.push('-');
            suffix.extend(name.chars().map(
                |c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }
                },
            ));
        }
        suffix
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_build_has_no_suffix_or_arguments() {
        let features = Features::parse(" , ");
        assert!(features.is_empty());
        assert_eq!(features.dir_suffix(), "");
        assert!(features.cargo_args().is_empty());
    }

    #[test]
    fn features_are_sorted_deduplicated_and_made_path_safe() {
        let features = Features::parse("el2-fault-test,kernel/trace el2-fault-test");
        assert_eq!(features.cargo_args(), ["--features", "el2-fault-test,kernel/trace"]);
        assert_eq!(features.dir_suffix(), "-el2-fault-test-kernel_trace");
    }
}
