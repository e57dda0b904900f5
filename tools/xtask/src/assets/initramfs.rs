//! A minimal initramfs for Linux test domains: busybox at `/bin/busybox` with links for the
//! applets a test script uses, a `/init` script given as text, the mount points `/proc` and
//! `/sys`, and `/dev` with a `/dev/console` node (Debian's kernel does not mount devtmpfs by
//! itself, and init's standard streams come from that node). Written as a gzip-compressed cpio
//! "newc" archive to `target/assets/initramfs-<name>.cpio.gz`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::assets::cpio_newc::CpioWriter;
use crate::assets::package_cache::write_file;

/// Busybox applets linked into `/bin`.
pub const APPLETS: &[&str] = &["sh", "echo", "cat", "mount", "poweroff", "reboot", "sleep"];

/// Device numbers of `/dev/console` (TTYAUX_MAJOR 5, minor 1).
pub const CONSOLE_DEVICE: (u32, u32) = (5, 1);

/// What goes into one initramfs.
#[derive(Clone, Copy, Debug)]
pub struct InitramfsSpec<'a> {
    /// Name in the file name `initramfs-<name>.cpio.gz` (letters, digits, `-`, `_`).
    pub name: &'a str,
    /// The `/init` script (should start with `#!/bin/sh`).
    pub init_script: &'a str,
    /// The statically linked arm64 busybox to include.
    pub busybox: &'a Path,
}

/// Where the initramfs called `name` is written, below `assets_dir`.
pub fn initramfs_path(assets_dir: &Path, name: &str) -> PathBuf {
    assets_dir.join(format!("initramfs-{name}.cpio.gz"))
}

/// The uncompressed cpio archive of an initramfs.
pub fn archive(init_script: &str, busybox: &[u8]) -> Vec<u8> {
    let mut writer = CpioWriter::new();
    writer
        .directory("dev", 0o755)
        .character_device("dev/console", 0o600, CONSOLE_DEVICE.0, CONSOLE_DEVICE.1)
        .directory("proc", 0o555)
        .directory("sys", 0o555)
        .directory("bin", 0o755)
        .file("bin/busybox", 0o755, busybox);
    for applet in APPLETS {
        writer.symlink(&format!("bin/{applet}"), "busybox");
    }
    writer.file("init", 0o755, init_script.as_bytes());
    writer.finish()
}

/// gzip of `bytes` with a fixed header (no name, time zero), so equal input gives equal files.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

/// Writes `initramfs-<name>.cpio.gz` below `assets_dir` (rewritten only when its bytes change)
/// and returns its path.
pub fn build(assets_dir: &Path, spec: &InitramfsSpec<'_>) -> Result<PathBuf> {
    let valid_name =
        !spec.name.is_empty() && spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        bail!("initramfs name {:?}: use letters, digits, `-` and `_` only", spec.name);
    }
    let busybox = std::fs::read(spec.busybox).with_context(|| format!("reading busybox {}", spec.busybox.display()))?;
    let compressed = gzip(&archive(spec.init_script, &busybox));
    let path = initramfs_path(assets_dir, spec.name);
    if std::fs::read(&path).ok().as_deref() != Some(compressed.as_slice()) {
        write_file(&path, &compressed)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::assets::cpio_newc::{TYPE_CHARACTER_DEVICE, TYPE_DIRECTORY, TYPE_REGULAR, TYPE_SYMLINK};
    use crate::assets::cpio_reader::parse;

    const SCRIPT: &str = "#!/bin/sh\necho hello\n";

    #[test]
    fn the_archive_holds_busybox_its_applets_init_and_the_device_node() {
        let entries = parse(&archive(SCRIPT, b"\x7fELF-busybox")).unwrap();
        let find = |name: &str| entries.iter().find(|entry| entry.name == name).unwrap_or_else(|| panic!("{name}"));
        for directory in ["dev", "proc", "sys", "bin"] {
            assert_eq!(find(directory).file_type(), TYPE_DIRECTORY, "{directory}");
        }
        let console = find("dev/console");
        assert_eq!((console.file_type(), console.device), (TYPE_CHARACTER_DEVICE, (5, 1)));
        let busybox = find("bin/busybox");
        assert_eq!(
            (busybox.file_type(), busybox.mode & 0o777, busybox.data.as_slice()),
            (TYPE_REGULAR, 0o755, &b"\x7fELF-busybox"[..])
        );
        for applet in APPLETS {
            let link = find(&format!("bin/{applet}"));
            assert_eq!((link.file_type(), link.data.as_slice()), (TYPE_SYMLINK, &b"busybox"[..]), "{applet}");
        }
        let init = find("init");
        assert_eq!(
            (init.file_type(), init.mode & 0o777, init.data.as_slice()),
            (TYPE_REGULAR, 0o755, SCRIPT.as_bytes())
        );
        let position = |name: &str| entries.iter().position(|entry| entry.name == name).unwrap();
        assert!(position("dev") < position("dev/console") && position("bin") < position("bin/sh"), "parents first");
    }

    #[test]
    fn written_files_decompress_to_the_archive_and_are_reproducible() {
        let dir = std::env::temp_dir().join(format!("xtask-initramfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let busybox = dir.join("busybox");
        std::fs::write(&busybox, b"busybox bytes").unwrap();
        let spec = InitramfsSpec { name: "unit-test", init_script: SCRIPT, busybox: &busybox };
        let path = build(&dir, &spec).unwrap();
        assert_eq!(path, dir.join("initramfs-unit-test.cpio.gz"));
        let compressed = std::fs::read(&path).unwrap();
        assert_eq!(&compressed[..2], [0x1f, 0x8b], "gzip magic");
        let mut decompressed = Vec::new();
        GzDecoder::new(compressed.as_slice()).read_to_end(&mut decompressed).unwrap();
        assert_eq!(decompressed, archive(SCRIPT, b"busybox bytes"));
        assert_eq!(build(&dir, &spec).unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), compressed, "same input, same bytes");
        let bad = InitramfsSpec { name: "../x", ..spec };
        assert!(build(&dir, &bad).unwrap_err().to_string().contains("letters, digits"));
        let missing = InitramfsSpec { busybox: &dir.join("none"), ..spec };
        assert!(build(&dir, &missing).unwrap_err().to_string().contains("reading busybox"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
