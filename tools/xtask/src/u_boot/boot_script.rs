//! The boot script of the boot partition: `boot.cmd`, which U-Boot's distro boot runs when it
//! finds its compiled form `boot.scr` (`mkimage -T script`) on a partition it scans. It loads the
//! FIT image from that same partition and boots it with the device tree U-Boot was given, so
//! nobody has to type at U-Boot's prompt.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::process::Sink;

/// What the script prints before it loads the FIT image (followed by the file, the partition and
/// the address).
pub const LOADING_MESSAGE: &str = "boot.scr: loading ";

/// What the script boots, and where it puts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootScript<'a> {
    /// File name of the FIT image, next to the script on its partition.
    pub fit_file: &'a str,
    /// The FIT configuration `bootm` boots.
    pub configuration: &'a str,
    /// Where the FIT image is loaded: above everything the hypervisor's image occupies, since
    /// `bootm` copies the hypervisor out of the FIT to its load address and must not overwrite
    /// the FIT while it reads it.
    pub fit_address: u64,
}

/// The text of `boot.cmd`.
///
/// U-Boot's distro boot sets `devtype`, `devnum`, `distro_bootpart` and `prefix` (the directory
/// the script was found in) before it runs the script. The device tree is U-Boot's own,
/// `fdtcontroladdr`, which the board (or QEMU) gave it: `bootm` copies it, adds `/chosen` and
/// passes the copy's address in x0.
pub fn text(script: &BootScript<'_>) -> String {
    let BootScript { fit_file, configuration, fit_address } = *script;
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        r#"# Somnus boot script, written by cargo xtask. Compiled into boot.scr with
#   mkimage -A arm64 -O linux -T script -C none -n "Somnus boot script" -d boot.cmd boot.scr
# The distro boot of U-Boot runs it from the partition it found it on. It loads {fit_file}
# from there above the memory of the hypervisor image, which bootm copies out of the FIT to its
# load address, and boots the FIT configuration {configuration} by name (a U-Boot built with
# FIT_BEST_MATCH ignores the default of a FIT without device trees) with the device tree of
# U-Boot itself, which bootm copies, completes and passes in x0.
setenv somnus_fit_addr {fit_address:#x}
echo "{LOADING_MESSAGE}${{prefix}}{fit_file} from ${{devtype}} ${{devnum}}:${{distro_bootpart}} to ${{somnus_fit_addr}}"
if load ${{devtype}} ${{devnum}}:${{distro_bootpart}} ${{somnus_fit_addr}} ${{prefix}}{fit_file}; then
    bootm ${{somnus_fit_addr}}#{configuration} - ${{fdtcontroladdr}}
fi
"#
    );
    text
}

/// Compiles `source` into the U-Boot script image `output` with `mkimage` (run inside `dir`, so
/// both names are relative to it).
pub fn compile(sink: &Sink, dir: &Path, source: &str, output: &str) -> Result<()> {
    sink.run(
        Command::new("mkimage")
            .args(["-A", "arm64", "-O", "linux", "-T", "script", "-C", "none", "-n", "Somnus boot script"])
            .args(["-d", source, output])
            .current_dir(dir),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> String {
        text(&BootScript { fit_file: "somnus.itb", configuration: "config-1", fit_address: 0x4040_0000 })
    }

    /// The script's commands, without comments and indentation.
    fn commands(text: &str) -> Vec<&str> {
        text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
    }

    #[test]
    fn loads_the_fit_from_the_partition_it_was_found_on_and_boots_it() {
        assert_eq!(
            commands(&demo()),
            [
                "setenv somnus_fit_addr 0x40400000",
                "echo \"boot.scr: loading ${prefix}somnus.itb from ${devtype} ${devnum}:${distro_bootpart} \
                 to ${somnus_fit_addr}\"",
                "if load ${devtype} ${devnum}:${distro_bootpart} ${somnus_fit_addr} ${prefix}somnus.itb; then",
                "bootm ${somnus_fit_addr}#config-1 - ${fdtcontroladdr}",
                "fi",
            ]
        );
    }

    #[test]
    fn the_loading_message_is_what_the_script_echoes() {
        let text = demo();
        let echo = commands(&text).into_iter().find(|line| line.starts_with("echo ")).unwrap();
        assert!(echo.starts_with(&format!("echo \"{LOADING_MESSAGE}")), "{echo}");
        assert!(!LOADING_MESSAGE.contains("somnus: "), "kernel lines start with `somnus: `");
    }

    #[test]
    fn comments_hold_no_variable_or_quote_hush_could_trip_on() {
        let text = demo();
        for comment in text.lines().filter(|line| line.starts_with('#')) {
            assert!(!comment.contains("${") && !comment.contains('`') && !comment.contains('\''), "{comment}");
        }
        assert!(text.ends_with("fi\n"));
    }

    #[test]
    fn addresses_and_names_come_from_the_request() {
        let text = text(&BootScript { fit_file: "other.itb", configuration: "conf-7", fit_address: 0x1800_0000 });
        assert!(text.contains("setenv somnus_fit_addr 0x18000000\n"), "{text}");
        assert!(text.contains("${prefix}other.itb; then"), "{text}");
        assert!(text.contains("bootm ${somnus_fit_addr}#conf-7 - ${fdtcontroladdr}"), "{text}");
    }
}
