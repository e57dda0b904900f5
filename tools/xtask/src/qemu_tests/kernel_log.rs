//! The hypervisor's serial output as the checks see it: kernel lines start at `somnus: `
//! (anything QEMU or the terminal put before it is dropped) and keep their position in the
//! whole output, whose other lines (such as an indented register dump) stay reachable.

/// Every kernel line starts with this.
pub const PREFIX: &str = "somnus: ";

/// Kernel lines of a boot log, in order, with their index in the full log.
pub struct KernelLog<'a> {
    all: &'a [String],
    lines: Vec<(usize, &'a str)>,
}

impl<'a> KernelLog<'a> {
    /// Picks the kernel lines out of the serial output.
    pub fn new(all: &'a [String]) -> Self {
        let lines = all
            .iter()
            .enumerate()
            .filter_map(|(index, line)| line.find(PREFIX).map(|at| (index, line[at..].trim_end())))
            .collect();
        Self { all, lines }
    }

    /// Kernel lines starting with `prefix`, with their indices.
    pub fn starting_with<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (usize, &'a str)> + 's {
        self.lines.iter().copied().filter(move |(_, line)| line.starts_with(prefix))
    }

    /// The first kernel line equal to `line` after index `after`.
    pub fn find_after(&self, after: usize, line: &str) -> Option<usize> {
        self.lines.iter().find(|&&(index, text)| index > after && text == line).map(|&(index, _)| index)
    }

    /// Every line of the output (kernel line or not) with index in `from..to`.
    pub fn between(&self, from: usize, to: usize) -> impl Iterator<Item = &'a str> + 'a {
        let all: &'a [String] = self.all;
        all.get(from..to.min(all.len())).unwrap_or_default().iter().map(String::as_str)
    }
}

/// The first line of the whole serial output that shows a Rust panic, if any.
pub fn panic_line(lines: &[String]) -> Option<&str> {
    lines.iter().map(String::as_str).find(|line| line.contains("panicked at"))
}

/// Whether `word` occurs in `text` as a whole word (not inside a longer name or number).
pub fn contains_word(text: &str, word: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

/// The value of register `name` in a dump: the first `0x<hex>` after the word `name`,
/// separated from it by spaces, `:` or `=` (so `ESR_EL2  0x96000045` and `x00=0x0` both work).
pub fn register_value(text: &str, name: &str) -> Option<u64> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).find_map(|(at, _)| {
        if text[..at].chars().next_back().is_some_and(is_name_char) {
            return None;
        }
        let rest = text[at + name.len()..].trim_start_matches([' ', '\t', ':', '=']);
        let digits = rest.strip_prefix("0x")?;
        let end = digits.find(|c: char| !c.is_ascii_hexdigit() && c != '_').unwrap_or(digits.len());
        u64::from_str_radix(&digits[..end].replace('_', ""), 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn kernel_lines_are_found_after_noise() {
        let lines = owned(&["qemu: warning", "\u{1b}[0msomnus: ready x  ", "somnus: cpu 0 stopped"]);
        let log = KernelLog::new(&lines);
        assert_eq!(log.starting_with("somnus: ready").collect::<Vec<_>>(), [(1, "somnus: ready x")]);
        assert_eq!(log.find_after(1, "somnus: cpu 0 stopped"), Some(2));
        assert_eq!(log.find_after(2, "somnus: cpu 0 stopped"), None);
        assert_eq!(log.between(0, 2).collect::<Vec<_>>(), ["qemu: warning", "\u{1b}[0msomnus: ready x  "]);
        assert_eq!(log.between(2, 9).count(), 1);
    }

    #[test]
    fn words_and_numbers() {
        assert!(contains_word("x00 0x1  x01=0x2", "x01"));
        assert!(!contains_word("x100 0x1", "x10"));
        assert!(!contains_word("0x00", "x00"));
        assert_eq!(register_value("  ESR_EL2  0x9600_0045 (DABT)", "ESR_EL2"), Some(0x9600_0045));
        assert_eq!(register_value("x01=0x10 x00: 0x2a", "x00"), Some(0x2a));
        assert_eq!(register_value("ESR_EL2 0x", "ESR_EL2"), None);
        assert_eq!(register_value("MY_ESR_EL2 0x1", "ESR_EL2"), None);
        assert_eq!(
            panic_line(&owned(&["ok", "panicked at kernel/src/lib.rs:1:1"])),
            Some("panicked at kernel/src/lib.rs:1:1")
        );
    }
}
