//! The table `cargo xtask bench` prints: one row per path and board configuration, against the
//! path's target, as Markdown (so it can go into docs/PERFORMANCE.md as it is).

use std::fmt::Write;

use crate::bench::catalogue::target_of;
use crate::bench::figures::Figure;

/// The Markdown table of `figures`, in their order.
#[must_use]
pub fn markdown(figures: &[Figure]) -> String {
    let mut table =
        String::from("| path | board | GIC | instructions | target | met? |\n|---|---|---|---:|---:|---|\n");
    for figure in figures {
        let target = target_of(&figure.path);
        let (target_text, met) = match target {
            Some(target) => (grouped(target), if figure.instructions <= target { "yes" } else { "no" }),
            None => ("—".to_owned(), "—"),
        };
        let _ = writeln!(
            table,
            "| {} | {} | v{} | {} | {target_text} | {met} |",
            figure.path,
            figure.board,
            figure.gic.number(),
            grouped(figure.instructions),
        );
    }
    table
}

/// `value` with thousands separated by commas.
#[must_use]
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::GicVersion;

    #[test]
    fn rows_compare_with_the_target() {
        let figure = |path: &str, instructions| Figure {
            path: path.into(),
            board: Board::Zcu102,
            gic: GicVersion::V2,
            instructions,
            iterations: 1,
        };
        let table = markdown(&[figure("null-hvc", 100), figure("psci-version", 151), figure("trapped-register", 7)]);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[0], "| path | board | GIC | instructions | target | met? |");
        assert_eq!(rows[2], "| null-hvc | zcu102 | v2 | 100 | 100 | yes |");
        assert_eq!(rows[3], "| psci-version | zcu102 | v2 | 151 | 150 | no |");
        assert_eq!(rows[4], "| trapped-register | zcu102 | v2 | 7 | — | — |");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(2_384_462), "2,384,462");
        assert_eq!(grouped(100_000), "100,000");
    }
}
