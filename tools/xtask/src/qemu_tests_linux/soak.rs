//! The suspend soak: `SOMNUS_LINUX_SOAK=<cycles> cargo xtask test --filter linux-2-vcpus-suspend`
//! runs the suspend tests with `<cycles>` cycles instead of [`TEST_CYCLES`]. Their domain file
//! is then a copy of `tests/linux/suspend.toml` with `somnus.cycles=<cycles>` and absolute paths,
//! written to `target/assets/linux-soak/` before the tests run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::assets::assets_dir;
use crate::paths;

/// The environment variable that asks for a soak.
pub const VARIABLE: &str = "SOMNUS_LINUX_SOAK";

/// Cycles of the suspend tests in the normal suite (`somnus.cycles=` of `suspend.toml`).
pub const TEST_CYCLES: u32 = 20;

/// The kernel command-line parameter the init script reads.
const PARAMETER: &str = "somnus.cycles=";

/// The soak's cycle count from [`VARIABLE`]: `None` when it is not set, an error when it is not
/// a positive number.
pub fn requested_cycles() -> Result<Option<u32>, String> {
    let Ok(value) = std::env::var(VARIABLE) else { return Ok(None) };
    match value.trim().parse::<u32>() {
        Ok(cycles) if cycles > 0 => Ok(Some(cycles)),
        _ => Err(format!("ignoring {VARIABLE}={value:?}: not a positive number of cycles")),
    }
}

/// `target/assets/linux-soak/`.
pub fn soak_dir() -> PathBuf {
    assets_dir().join("linux-soak")
}

/// Where the soak copy of `tests/linux/<name>.toml` with `cycles` cycles is written.
pub fn soak_domain_path(name: &str, cycles: u32) -> PathBuf {
    soak_dir().join(format!("{name}-{cycles}-cycles.toml"))
}

/// `text` (a domain file of `tests/linux/`) with its `somnus.cycles=` set to `cycles` and every
/// path (`"../../...`) made absolute below `repository`.
pub fn soak_domain_file(text: &str, cycles: u32, repository: &Path) -> Result<String> {
    let Some(at) = text.find(PARAMETER) else { bail!("no `{PARAMETER}` to change") };
    let value_start = at + PARAMETER.len();
    let value_end = text[value_start..].find(|c: char| !c.is_ascii_digit()).map_or(text.len(), |end| value_start + end);
    let changed = format!("{}{cycles}{}", &text[..value_start], &text[value_end..]);
    let root = repository.to_str().context("the repository path is not UTF-8")?;
    Ok(changed.replace("\"../../", &format!("\"{root}/")))
}

/// Writes the soak copy of `tests/linux/<name>.toml` with `cycles` cycles; returns its path.
pub fn write_soak_domain_file(name: &str, cycles: u32) -> Result<PathBuf> {
    let source = paths::repo_root().join("tests").join("linux").join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&source).with_context(|| format!("reading {}", source.display()))?;
    let soaked = soak_domain_file(&text, cycles, &paths::repo_root())
        .with_context(|| format!("making a soak copy of {}", source.display()))?;
    let path = soak_domain_path(name, cycles);
    std::fs::create_dir_all(soak_dir()).with_context(|| format!("creating {}", soak_dir().display()))?;
    std::fs::write(&path, soaked).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUSPEND: &str = "[[domain]]\nkernel = \"../../target/assets/debian-arm64/Image\"\n\
                           cmdline = \"console=ttyAMA0 somnus.cycles=20\"\n";

    #[test]
    fn the_copy_changes_the_cycles_and_the_paths() {
        let soaked = soak_domain_file(SUSPEND, 200, Path::new("/work/somnus")).unwrap();
        assert_eq!(
            soaked,
            "[[domain]]\nkernel = \"/work/somnus/target/assets/debian-arm64/Image\"\n\
             cmdline = \"console=ttyAMA0 somnus.cycles=200\"\n"
        );
        assert!(soak_domain_file("cmdline = \"x\"", 2, Path::new("/r")).is_err());
    }

    #[test]
    fn the_suite_file_has_the_test_cycles() {
        let text = std::fs::read_to_string(paths::repo_root().join("tests/linux/suspend.toml")).unwrap();
        assert!(text.contains(&format!("{PARAMETER}{TEST_CYCLES}\"")), "{text}");
        let soaked = soak_domain_file(&text, 7, &paths::repo_root()).unwrap();
        assert!(soaked.contains(&format!("{PARAMETER}7\"")));
        assert!(!soaked.contains("../"));
    }

    #[test]
    fn soak_files_live_below_the_assets() {
        assert_eq!(soak_domain_path("suspend", 50), assets_dir().join("linux-soak/suspend-50-cycles.toml"));
    }
}
