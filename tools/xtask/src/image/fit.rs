//! U-Boot FIT image (`somnus.itb`): the image tree source (`.its`) xtask generates, and the
//! `mkimage`/`dumpimage` calls that compile and check it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::process::Sink;

/// The one configuration of the image, which boots its kernel. U-Boot built with
/// `CONFIG_FIT_BEST_MATCH` (Debian's is) ignores `default` in a FIT without device trees, so
/// boot scripts name it: `bootm <address>#config-1`.
pub const CONFIGURATION: &str = "config-1";

/// The kernel a FIT image carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitKernel<'a> {
    /// Text of the image's and the kernel node's `description`.
    pub description: &'a str,
    /// File name of the raw binary, relative to the `.its` (it is `/incbin/`-ed).
    pub data_file: &'a str,
    /// Physical load address.
    pub load: u64,
    /// Physical entry point.
    pub entry: u64,
}

/// The image tree source: one kernel image and one default configuration booting it.
///
/// Addresses use one cell when they fit in 32 bits, two otherwise.
pub fn its_text(kernel: &FitKernel<'_>) -> String {
    let cells = if u32::try_from(kernel.load).is_ok() && u32::try_from(kernel.entry).is_ok() { 1 } else { 2 };
    let description = escape(kernel.description);
    let mut its = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        its,
        r#"/dts-v1/;

/ {{
    description = "{description}";
    #address-cells = <{cells}>;

    images {{
        kernel {{
            description = "{description}";
            data = /incbin/("{data_file}");
            type = "kernel";
            arch = "arm64";
            os = "linux";
            compression = "none";
            load = <{load}>;
            entry = <{entry}>;
            hash-1 {{
                algo = "sha256";
            }};
        }};
    }};

    configurations {{
        default = "{configuration}";
        {configuration} {{
            description = "{description}";
            kernel = "kernel";
        }};
    }};
}};
"#,
        data_file = escape(kernel.data_file),
        configuration = CONFIGURATION,
        load = address_cells(kernel.load, cells),
        entry = address_cells(kernel.entry, cells),
    );
    its
}

/// An address as device-tree cells: `0x40200000` or `0x1 0x00000000`.
fn address_cells(address: u64, cells: u8) -> String {
    if cells == 1 {
        format!("{address:#010x}")
    } else {
        format!("{:#x} {:#010x}", address >> 32, address & 0xffff_ffff)
    }
}

/// Escapes a device-tree string literal.
fn escape(text: &str) -> String {
    text.replace('\\', r"\\").replace('"', "\\\"")
}

/// Writes `its` as `source_name` into `dir`, compiles it to `itb_name` with `mkimage -f` (run inside `dir`,
/// so `/incbin/` paths are relative to it) and checks that `dumpimage -l` lists the kernel.
pub fn make_itb(sink: &Sink, dir: &Path, its: &str, source_name: &str, itb_name: &str) -> Result<()> {
    std::fs::write(dir.join(source_name), its)
        .with_context(|| format!("writing {}", dir.join(source_name).display()))?;
    sink.run(Command::new("mkimage").args(["-f", source_name, itb_name]).current_dir(dir))?;
    let listing = sink.output(Command::new("dumpimage").args(["-l", itb_name]).current_dir(dir))?;
    ensure!(
        listing.contains("(kernel)") && listing.contains("Kernel Image"),
        "`dumpimage -l {}` does not list the kernel image:\n{listing}",
        dir.join(itb_name).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_has_a_kernel_and_a_default_configuration() {
        let its = its_text(&FitKernel {
            description: "Somnus hypervisor (zcu102)",
            data_file: "somnus.bin",
            load: 0x10_0000,
            entry: 0x10_0040,
        });
        let expected_lines = [
            "/dts-v1/;",
            "#address-cells = <1>;",
            "data = /incbin/(\"somnus.bin\");",
            "type = \"kernel\";",
            "arch = \"arm64\";",
            "os = \"linux\";",
            "compression = \"none\";",
            "load = <0x00100000>;",
            "entry = <0x00100040>;",
            "default = \"config-1\";",
            "kernel = \"kernel\";",
        ];
        for line in expected_lines {
            assert!(its.lines().any(|l| l.trim() == line), "{line:?} missing from:\n{its}");
        }
        assert_eq!(its.matches('{').count(), its.matches('}').count());
        assert_eq!(its.matches("config-1 {").count(), 1, "exactly one configuration");
    }

    #[test]
    fn high_addresses_use_two_cells() {
        let its =
            its_text(&FitKernel { description: "x", data_file: "a.bin", load: 0x8_0000_0000, entry: 0x8_0000_1000 });
        assert!(its.contains("#address-cells = <2>;"), "{its}");
        assert!(its.contains("load = <0x8 0x00000000>;"), "{its}");
        assert!(its.contains("entry = <0x8 0x00001000>;"), "{its}");
    }

    #[test]
    fn strings_are_escaped() {
        let its = its_text(&FitKernel { description: r#"a "b" \c"#, data_file: "x.bin", load: 0, entry: 0 });
        assert!(its.contains(r#"description = "a \"b\" \\c";"#), "{its}");
    }
}
