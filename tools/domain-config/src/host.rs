//! The machine the domains are built for: its board, how many physical CPUs it has and how
//! much RAM is left for guests once the hypervisor has its share.

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// RAM every board keeps for the hypervisor itself.
pub const HYPERVISOR_RESERVED_BYTES: u64 = 16 * MIB;

/// A board Somnus runs on, as far as the domain configuration cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Board {
    /// QEMU's `virt` machine, started with 1 GiB of RAM.
    QemuVirt,
    /// The AMD/Xilinx ZCU102 (2 GiB of RAM in the low DDR bank).
    Zcu102,
}

impl Board {
    /// The board's name, as in `cargo xtask --board` and in messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::QemuVirt => "qemu-virt",
            Self::Zcu102 => "zcu102",
        }
    }

    /// The board's RAM in bytes (hypervisor and guests together).
    #[must_use]
    pub const fn ram_bytes(self) -> u64 {
        match self {
            Self::QemuVirt => 1024 * MIB,
            Self::Zcu102 => 2048 * MIB,
        }
    }
}

/// What a configuration is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    /// The board, which decides the devices a domain can be given.
    pub board: Board,
    /// Physical CPUs of the machine; `pcpus` entries must be below it.
    pub cpus: u8,
    /// RAM available to all domains together, in bytes.
    pub guest_ram_bytes: u64,
}

impl Host {
    /// `board` with `cpus` physical CPUs and its RAM minus [`HYPERVISOR_RESERVED_BYTES`] for guests.
    #[must_use]
    pub const fn new(board: Board, cpus: u8) -> Self {
        Self { board, cpus, guest_ram_bytes: board.ram_bytes() - HYPERVISOR_RESERVED_BYTES }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ram_is_board_ram_minus_the_hypervisor_share() {
        assert_eq!(Host::new(Board::QemuVirt, 4).guest_ram_bytes, 1008 * MIB);
        assert_eq!(Host::new(Board::Zcu102, 4).guest_ram_bytes, 2032 * MIB);
        assert_eq!(Board::Zcu102.name(), "zcu102");
    }
}
