//! `target/bench/bench.json` and the committed baseline `docs/bench-baseline.json`: the figures
//! (path, board, gic, instructions, iterations) with the date, the QEMU version, the image sizes
//! and the source line counts.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::{Map, Value, json};

use crate::bench::figures::Figure;
use crate::bench::image_size::ImageSize;
use crate::bench::source_lines::LineCount;
use crate::board::Board;
use crate::machine::GicVersion;

/// Everything one `cargo xtask bench` run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenchReport {
    /// The day of the run, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// `qemu-system-aarch64 --version`, first line.
    pub qemu_version: String,
    /// Every path on every configuration measured.
    pub figures: Vec<Figure>,
    /// Per board, the image without domains.
    pub image_sizes: Vec<(Board, ImageSize)>,
    /// Per tree (`kernel`, `services`, `abi`), non-test source lines.
    pub source_lines: Vec<(String, LineCount)>,
}

/// The report as pretty-printed JSON.
#[must_use]
pub fn to_json(report: &BenchReport) -> String {
    let figures: Vec<Value> = report
        .figures
        .iter()
        .map(|figure| {
            json!({
                "path": figure.path,
                "board": figure.board.name(),
                "gic": figure.gic.number(),
                "instructions": figure.instructions,
                "iterations": figure.iterations,
            })
        })
        .collect();
    let mut images = Map::new();
    for (board, size) in &report.image_sizes {
        images.insert(
            board.name().to_owned(),
            json!({
                "somnus.bin": size.binary,
                ".text": size.text,
                ".rodata": size.read_only_data,
                ".data": size.data,
                ".bss and stacks": size.zero_initialised,
            }),
        );
    }
    let mut lines = Map::new();
    for (tree, count) in &report.source_lines {
        lines.insert(tree.clone(), json!({ "lines": count.lines, "code": count.code }));
    }
    let document = json!({
        "date": report.date,
        "qemu": report.qemu_version,
        "figures": figures,
        "image_size_bytes": images,
        "source_lines": lines,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// The figures of a report written by [`to_json`] (the rest is not needed to compare).
pub fn figures_from_json(text: &str) -> Result<Vec<Figure>> {
    let document: Value = serde_json::from_str(text).context("not JSON")?;
    let Some(figures) = document.get("figures").and_then(Value::as_array) else {
        bail!("no \"figures\" array");
    };
    figures
        .iter()
        .enumerate()
        .map(|(index, figure)| figure_from(figure).with_context(|| format!("figures[{index}]")))
        .collect()
}

fn figure_from(value: &Value) -> Result<Figure> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).with_context(|| format!("no string \"{key}\""));
    let number = |key: &str| value.get(key).and_then(Value::as_u64).with_context(|| format!("no number \"{key}\""));
    let board_name = text("board")?;
    let board = Board::from_str(board_name, false).map_err(|_| anyhow::anyhow!("unknown board \"{board_name}\""))?;
    let gic = match number("gic")? {
        2 => GicVersion::V2,
        3 => GicVersion::V3,
        other => bail!("unknown GIC version {other}"),
    };
    Ok(Figure {
        path: text("path")?.to_owned(),
        board,
        gic,
        instructions: number("instructions")?,
        iterations: number("iterations")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        BenchReport {
            date: "2026-11-25".into(),
            qemu_version: "QEMU emulator version 7.2.22".into(),
            figures: vec![
                Figure {
                    path: "null-hvc".into(),
                    board: Board::QemuVirt,
                    gic: GicVersion::V3,
                    instructions: 3161,
                    iterations: 1000,
                },
                Figure {
                    path: "resume".into(),
                    board: Board::Zcu102,
                    gic: GicVersion::V2,
                    instructions: 9,
                    iterations: 20,
                },
            ],
            image_sizes: vec![(
                Board::QemuVirt,
                ImageSize { binary: 207_616, text: 108_568, read_only_data: 12_232, data: 86_800, zero_initialised: 1 },
            )],
            source_lines: vec![("kernel".into(), LineCount { lines: 7000, code: 5000 })],
        }
    }

    #[test]
    fn figures_survive_a_round_trip() {
        let text = to_json(&report());
        assert_eq!(figures_from_json(&text).unwrap(), report().figures);
        assert!(text.contains("\"somnus.bin\": 207616"), "{text}");
        assert!(text.contains("\"date\": \"2026-11-25\""), "{text}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn broken_baselines_say_what_is_wrong() {
        let error = figures_from_json("{}").unwrap_err();
        assert_eq!(error.to_string(), "no \"figures\" array");
        let text = r#"{"figures": [{"path": "x", "board": "rpi4", "gic": 2, "instructions": 1, "iterations": 1}]}"#;
        assert_eq!(format!("{:#}", figures_from_json(text).unwrap_err()), "figures[0]: unknown board \"rpi4\"");
        let text = r#"{"figures": [{"path": "x", "board": "zcu102", "gic": 4, "instructions": 1, "iterations": 1}]}"#;
        assert_eq!(format!("{:#}", figures_from_json(text).unwrap_err()), "figures[0]: unknown GIC version 4");
        let text = r#"{"figures": [{"board": "zcu102", "gic": 2, "instructions": 1, "iterations": 1}]}"#;
        assert_eq!(format!("{:#}", figures_from_json(text).unwrap_err()), "figures[0]: no string \"path\"");
    }
}
