//! The domain file `run` and `image` boot: one that names Debian's Linux (a path under
//! `target/assets/`) gets those assets prepared first; when the package archive cannot be
//! reached, the default demo falls back to the bare-metal one with a clear note, while a file the
//! user chose is refused with the reason.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::assets::{FetchError, Refresh, prepare_linux};
use crate::paths;
use crate::process::Sink;

/// What a domain file contains when it boots something from the fetched assets.
const ASSETS_MARKER: &str = "target/assets/";

/// The bare-metal demo, `tests/domains/demo-bare-metal.toml`.
pub fn bare_metal_demo() -> PathBuf {
    paths::repo_root().join("tests").join("domains").join("demo-bare-metal.toml")
}

/// Whether a domain file's text boots something from the fetched assets (outside comments).
pub fn needs_linux_assets(text: &str) -> bool {
    text.lines().any(|line| line.split('#').next().is_some_and(|code| code.contains(ASSETS_MARKER)))
}

/// The domain file to boot in place of `domains` (`chosen`: the user named it), after preparing
/// what it needs.
pub fn usable(domains: &Path, chosen: bool, sink: &Sink) -> Result<PathBuf> {
    let text = std::fs::read_to_string(domains).with_context(|| format!("reading {}", domains.display()))?;
    if !needs_linux_assets(&text) {
        return Ok(domains.to_path_buf());
    }
    eprintln!(
        "{} boots Debian's Linux: preparing its kernel and initramfs (cached in target/assets/)",
        domains.display()
    );
    match prepare_linux(sink, Refresh::IfMissing) {
        Ok(_) => Ok(domains.to_path_buf()),
        Err(error) => match error.downcast_ref::<FetchError>() {
            Some(fetch) if !chosen => {
                let fallback = bare_metal_demo();
                eprintln!("note: {fetch}; booting the bare-metal demo {} instead", fallback.display());
                Ok(fallback)
            }
            _ => bail!("cannot prepare the Linux assets {} needs: {error:#}", domains.display()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_asset_paths_count() {
        assert!(needs_linux_assets("kernel = \"../../target/assets/debian-arm64/Image\"\n"));
        assert!(!needs_linux_assets("# boots target/assets/ when ...\nkernel = \"../../target/guests/x\"\n"));
        assert!(!needs_linux_assets(""));
    }

    #[test]
    fn the_default_demos_boot_linux_and_the_fallback_does_not() {
        for board in crate::board::Board::ALL {
            let text = std::fs::read_to_string(paths::default_domains(board)).unwrap();
            assert!(needs_linux_assets(&text), "{board}");
        }
        let fallback = std::fs::read_to_string(bare_metal_demo()).unwrap();
        assert!(!needs_linux_assets(&fallback));
    }

    #[test]
    fn the_boards_boot_the_linux_scenario_demo() {
        let domains = |path: PathBuf| {
            let text = std::fs::read_to_string(&path).unwrap();
            text[text.find("[[domain]]").unwrap()..].to_owned()
        };
        let scenario = domains(paths::repo_root().join("tests/linux/demo.toml"));
        for board in crate::board::Board::ALL {
            assert_eq!(domains(paths::default_domains(board)), scenario, "{board}");
        }
    }
}
