//! The boards Somnus is built for, and the cross-compilation facts shared by every board.

use clap::ValueEnum;

/// Rust target of the hypervisor: soft-float, so EL2 never touches the guests' FP/SIMD registers.
pub const HYPERVISOR_TARGET: &str = "aarch64-unknown-none-softfloat";

/// Name of the binary every board crate builds.
pub const BINARY_NAME: &str = "somnus";

/// A board crate under `boards/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Board {
    /// QEMU's `virt` machine (`boards/qemu-virt`).
    #[value(name = "qemu-virt")]
    QemuVirt,
    /// AMD/Xilinx ZynqMP ZCU102 (`boards/zcu102`), emulated by QEMU's `xlnx-zcu102`.
    #[value(name = "zcu102")]
    Zcu102,
}

impl Board {
    /// Every board, in the order the test suite builds them.
    pub const ALL: [Self; 2] = [Self::QemuVirt, Self::Zcu102];

    /// The board's name as used on the command line, in directory names and in the ready line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::QemuVirt => "qemu-virt",
            Self::Zcu102 => "zcu102",
        }
    }

    /// Cargo package of the board crate.
    pub const fn package(self) -> &'static str {
        match self {
            Self::QemuVirt => "somnus-board-qemu-virt",
            Self::Zcu102 => "somnus-board-zcu102",
        }
    }

    /// Whether `cargo xtask image` also writes a U-Boot FIT image (`somnus.itb`) for this board.
    pub const fn wants_fit_image(self) -> bool {
        matches!(self, Self::Zcu102)
    }
}

impl std::fmt::Display for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_clap_values() {
        for board in Board::ALL {
            let value = board.to_possible_value().expect("every board is selectable");
            assert_eq!(value.get_name(), board.name());
            assert_eq!(board.package(), format!("somnus-board-{}", board.name()));
        }
    }
}
