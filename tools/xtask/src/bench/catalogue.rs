//! The paths `cargo xtask bench` reports, their targets, and how each figure is obtained from the
//! `BENCH` lines of the benchmark guest (`tests/guests/src/bin/bench_paths`).

/// Where a path's figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The guest's `BENCH <name>` line under the hypervisor, as it is.
    Measured(&'static str),
    /// One measured line minus another, both under the hypervisor.
    Difference {
        /// The larger path.
        whole: &'static str,
        /// The part of it that is not this path.
        part: &'static str,
    },
    /// A measured line under the hypervisor minus the same line measured without a hypervisor
    /// (QEMU starting the guest at EL1).
    LessBareMetal(&'static str),
}

/// One reported path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathSpec {
    /// Name in the table, `bench.json` and the baseline.
    pub name: &'static str,
    /// Target in instructions (`None`: reported for orientation only).
    pub target: Option<u64>,
    /// How the figure is obtained.
    pub source: Source,
    /// What is measured, from where to where.
    pub description: &'static str,
}

/// The guest line of the virtual timer interrupt (with and without the hypervisor).
pub const TIMER_LINE: &str = "virtual-timer-raw";

/// Every reported path, in table order.
pub const PATHS: [PathSpec; 11] = [
    PathSpec {
        name: "null-hvc",
        target: Some(100),
        source: Source::Measured("null-hvc"),
        description: "HVC with an unassigned function ID until the instruction after it (answered NOT_SUPPORTED \
                      by the PSCI service, which takes every call)",
    },
    PathSpec {
        name: "psci-version",
        target: Some(150),
        source: Source::Measured("psci-version"),
        description: "HVC PSCI_VERSION until the instruction after it",
    },
    PathSpec {
        name: "trapped-register",
        target: None,
        source: Source::Measured("trapped-register"),
        description: "a read of CNTP_CTL_EL0 that the kernel answers itself (reads as zero): trap entry, \
                      decode, scheduling and exit without any service",
    },
    PathSpec {
        name: "service-round-trip",
        target: Some(120),
        source: Source::Difference { whole: "null-hvc", part: "trapped-register" },
        description: "kernel to service message and back: null-hvc minus trapped-register",
    },
    PathSpec {
        name: "gicd-read",
        target: Some(150),
        source: Source::Measured("gicd-read"),
        description: "32-bit load from GICD_IPRIORITYR8, emulated by the vGIC service",
    },
    PathSpec {
        name: "gicd-write",
        target: Some(150),
        source: Source::Measured("gicd-write"),
        description: "32-bit store to GICD_IPRIORITYR8, emulated by the vGIC service",
    },
    PathSpec {
        name: "virtual-timer",
        target: Some(150),
        source: Source::LessBareMetal(TIMER_LINE),
        description: "virtual timer deadline until the first instruction of the guest's IRQ vector, minus the \
                      same on QEMU without a hypervisor",
    },
    PathSpec {
        name: "virtual-ipi",
        target: Some(600),
        source: Source::Measured("virtual-ipi"),
        description: "SGI write on vCPU 0 until the first IRQ vector instruction of vCPU 1, both on one CPU \
                      (includes the switch to vCPU 1)",
    },
    PathSpec {
        name: "system-suspend",
        target: Some(800),
        source: Source::Measured("system-suspend"),
        description: "HVC SYSTEM_SUSPEND until the physical CPU idles (the hypervisor's WFI)",
    },
    PathSpec {
        name: "resume",
        target: Some(600),
        source: Source::Measured("resume"),
        description: "wake-up interrupt (the EL2 tick that finds the guest's timer expired) until the first \
                      instruction at the resume entry point",
    },
    PathSpec {
        name: "reset-to-guest",
        target: Some(100_000),
        source: Source::Measured("reset-to-guest"),
        description: "machine reset (counter 0) until the guest's first instruction",
    },
];

/// The target of path `name`, if it has one.
#[must_use]
pub fn target_of(name: &str) -> Option<u64> {
    PATHS.iter().find(|path| path.name == name).and_then(|path| path.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_targets_known() {
        let mut names: Vec<&str> = PATHS.iter().map(|path| path.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PATHS.len());
        assert_eq!(target_of("null-hvc"), Some(100));
        assert_eq!(target_of("trapped-register"), None);
        assert_eq!(target_of("no-such-path"), None);
    }
}
