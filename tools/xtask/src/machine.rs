//! The emulated machine a board image boots on: GIC version, CPU count and CPU model, with the
//! limits each board puts on them.

use clap::ValueEnum;

use crate::board::Board;

/// Most CPUs QEMU's `virt` machine is started with (`--smp`).
pub const MAX_SMP: u8 = 8;

/// CPUs of QEMU's `xlnx-zcu102`: fixed at four Cortex-A53.
pub const ZCU102_CPUS: u8 = 4;

/// Default `--smp` for `qemu-virt`.
pub const QEMU_VIRT_DEFAULT_SMP: u8 = 4;

/// Interrupt controller architecture the emulated machine provides.
///
/// The hypervisor discovers it from the device tree at run time; this only changes QEMU's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum GicVersion {
    /// GICv2 (GIC-400 on the ZCU102).
    #[value(name = "2")]
    V2,
    /// GICv3.
    #[value(name = "3")]
    V3,
}

impl GicVersion {
    /// The version number, as QEMU's `gic-version=` and the ready line's `gic=v<N>` spell it.
    pub const fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// CPU model of the emulated cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum CpuModel {
    /// Arm Cortex-A53 (the ZCU102's application cores).
    #[value(name = "cortex-a53")]
    CortexA53,
    /// Arm Cortex-A72.
    #[value(name = "cortex-a72")]
    CortexA72,
}

impl CpuModel {
    /// QEMU's `-cpu` name.
    pub const fn qemu_name(self) -> &'static str {
        match self {
            Self::CortexA53 => "cortex-a53",
            Self::CortexA72 => "cortex-a72",
        }
    }
}

/// A validated machine configuration: what `cargo xtask run` boots and what a QEMU test expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Board whose image is booted.
    pub board: Board,
    /// GIC version QEMU provides.
    pub gic: GicVersion,
    /// Number of physical CPUs.
    pub smp: u8,
    /// Model of every CPU.
    pub cpu: CpuModel,
}

impl Machine {
    /// Applies the board's defaults to the options that were not given and checks the board's
    /// limits; the error says which option the board refuses and why.
    pub fn new(board: Board, gic: Option<GicVersion>, smp: Option<u8>, cpu: Option<CpuModel>) -> Result<Self, String> {
        let machine = match board {
            Board::QemuVirt => Self {
                board,
                gic: gic.unwrap_or(GicVersion::V2),
                smp: smp.unwrap_or(QEMU_VIRT_DEFAULT_SMP),
                cpu: cpu.unwrap_or(CpuModel::CortexA53),
            },
            Board::Zcu102 => {
                if gic == Some(GicVersion::V3) {
                    return Err("board zcu102 has a GICv2 (GIC-400): `--gic 3` is not possible, \
                                use `--gic 2` or leave it out"
                        .to_owned());
                }
                if let Some(n) = smp.filter(|&n| n != ZCU102_CPUS) {
                    return Err(format!(
                        "board zcu102 always has {ZCU102_CPUS} CPUs: `--smp {n}` is not possible, \
                         use `--smp {ZCU102_CPUS}` or leave it out"
                    ));
                }
                if let Some(model) = cpu.filter(|&model| model != CpuModel::CortexA53) {
                    return Err(format!(
                        "board zcu102 has Cortex-A53 cores: `--cpu {}` is not possible",
                        model.qemu_name()
                    ));
                }
                Self { board, gic: GicVersion::V2, smp: ZCU102_CPUS, cpu: CpuModel::CortexA53 }
            }
        };
        if !(1..=MAX_SMP).contains(&machine.smp) {
            return Err(format!("`--smp {}` is out of range 1..={MAX_SMP}", machine.smp));
        }
        Ok(machine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_virt_defaults() {
        let machine = Machine::new(Board::QemuVirt, None, None, None).unwrap();
        assert_eq!(machine, Machine { board: Board::QemuVirt, gic: GicVersion::V2, smp: 4, cpu: CpuModel::CortexA53 });
    }

    #[test]
    fn zcu102_is_fixed() {
        let machine = Machine::new(Board::Zcu102, Some(GicVersion::V2), Some(4), None).unwrap();
        assert_eq!((machine.gic, machine.smp), (GicVersion::V2, 4));
        let err = Machine::new(Board::Zcu102, Some(GicVersion::V3), None, None).unwrap_err();
        assert!(err.contains("GICv2"), "{err}");
        let err = Machine::new(Board::Zcu102, None, Some(2), None).unwrap_err();
        assert!(err.contains("always has 4 CPUs"), "{err}");
        let err = Machine::new(Board::Zcu102, None, None, Some(CpuModel::CortexA72)).unwrap_err();
        assert!(err.contains("Cortex-A53"), "{err}");
    }

    #[test]
    fn smp_range_is_checked() {
        assert!(Machine::new(Board::QemuVirt, None, Some(0), None).is_err());
        assert!(Machine::new(Board::QemuVirt, None, Some(9), None).is_err());
        assert!(Machine::new(Board::QemuVirt, None, Some(8), None).is_ok());
    }
}
