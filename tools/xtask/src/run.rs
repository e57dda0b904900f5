//! `cargo xtask run`: build the image with its domains and replace this process with QEMU
//! booting it, directly or, with `--u-boot`, through U-Boot from a boot partition.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::{Console, RunArgs};
use crate::host_tools;
use crate::image::{self, ImageRequest};
use crate::process::{Sink, describe};
use crate::qemu::{self, Serial};

/// Builds the image and execs QEMU; returns only if QEMU cannot be started.
pub fn run(args: &RunArgs) -> Result<()> {
    let machine = match args.machine() {
        Ok(machine) => machine,
        Err(message) => bail!(message),
    };
    let sink = Sink::Terminal;
    host_tools::ensure(host_tools::QEMU, &sink)?;
    let features = args.build.features();
    let domains = crate::demo_domains::usable(&args.domains(), args.domains.is_some(), &sink)?;
    let image = image::make(&sink, &ImageRequest::standard(machine, &features, &domains))?;
    let serial = match &args.console {
        None => Serial::Terminal,
        Some(Console::Unix(path)) => {
            remove_stale_socket(path)?;
            eprintln!("serial line on unix socket {0}: connect with `socat -,rawer UNIX-CONNECT:{0}`", path.display());
            Serial::UnixSocket(path.clone())
        }
    };
    let mut command = if args.u_boot {
        crate::u_boot::qemu_command(&sink, machine, &image.elf, &image.bin, &serial, &args.qemu_args)?
    } else {
        qemu::qemu_command(machine, &image.elf, &serial, &args.qemu_args)
    };
    eprintln!("$ {}", describe(&command));
    if serial == Serial::Terminal {
        eprintln!("(QEMU: press Ctrl-A X to quit, Ctrl-A C for the monitor)");
    }
    let error = command.exec();
    bail!("cannot start {}: {error}", qemu::QEMU)
}

/// QEMU refuses to listen on a path that exists: remove a socket left by an earlier run, but
/// never another kind of file.
fn remove_stale_socket(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => Ok(std::fs::remove_file(path)?),
        Ok(_) => bail!("{} exists and is not a socket; choose another --console path", path.display()),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_sockets_are_removed_other_files_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-run-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        remove_stale_socket(&socket).unwrap();
        assert!(!socket.exists());
        remove_stale_socket(&socket).unwrap();
        let file = dir.join("plain");
        std::fs::write(&file, "x").unwrap();
        assert!(remove_stale_socket(&file).is_err());
        assert!(file.exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
