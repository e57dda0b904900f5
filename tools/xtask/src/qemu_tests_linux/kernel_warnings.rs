//! Which lines of Linux's log are warnings a Linux test must fail on: kernel warnings, oopses
//! and stalls anywhere, and any line of the drivers of the hardware Somnus emulates (GIC, arch
//! timer, PL011 UART, PL031 RTC, PSCI) that is not one of the lines a clean boot prints. Those
//! were taken from real boot and suspend logs of Debian's 6.1 kernel on qemu-virt (GICv2 and
//! GICv3, 2 and 4 vCPUs) and zcu102; a driver line that is new but harmless belongs in
//! [`DRIVERS`].
//!
//! Not a warning: `hrtimer: interrupt took <n> ns`, printed once when the host was slow to run a
//! vCPU (QEMU's threads compete for 2 host cores), which says nothing about Somnus.

/// Text that is wrong wherever Linux prints it.
pub const ALWAYS_WRONG: &[&str] = &[
    "WARNING:",
    "Oops",
    "BUG:",
    "Internal error:",
    "Kernel panic",
    "Unable to handle kernel",
    "Call trace:",
    "rcu: INFO:",
    "detected stall",
    "nobody cared",
    "Disabling IRQ #",
    "unexpected IRQ",
    "Spurious",
    "spurious",
    "blocked for more than",
    "failed to come online",
    "failed to boot",
    "may not have shut down cleanly",
    "Error taking CPU",
    "Non-boot CPUs are not disabled",
    "Some devices failed to",
    "Freezing of tasks failed",
    "clocksource: Marking",
    "timekeeping watchdog",
];

/// A driver whose every line is checked: lines starting with `prefix` must contain one of
/// `expected`.
#[derive(Clone, Copy, Debug)]
pub struct Driver {
    /// What the driver's lines start with (after the timestamp).
    pub prefix: &'static str,
    /// What its lines in a clean boot contain.
    pub expected: &'static [&'static str],
}

/// The drivers of the devices Somnus provides, with the lines a clean boot prints.
pub const DRIVERS: &[Driver] = &[
    // GICv2 prints nothing; GICv3 its size and one redistributor per CPU (again at each resume).
    Driver { prefix: "GIC", expected: &[" SPIs implemented", "GICv3 features: ", ": found redistributor "] },
    Driver { prefix: "arch_timer: ", expected: &["timer(s) running at "] },
    Driver {
        prefix: "psci: ",
        expected: &[
            "probing for conduit method from DT.",
            "PSCIv1.1 detected in firmware.",
            "Using standard PSCI v0.2 function IDs",
            "Trusted OS migration not required",
            "SMC Calling Convention v1.1",
            " killed (polled ",
        ],
    },
    Driver { prefix: "9000000.pl011: ", expected: &["ttyAMA0 at MMIO 0x9000000 "] },
    Driver { prefix: "uart-pl011 ", expected: &["no DMA platform data"] },
    // The tty layer reports lost input (`ttyAMA ttyAMA0: 1 input overrun(s)`) under this name.
    Driver { prefix: "ttyAMA", expected: &[] },
    Driver { prefix: "rtc-pl031 ", expected: &["registered as rtc0", "setting system clock to "] },
];

/// Why `message` (a line of Linux's log without its timestamp) is a warning, or `None`.
pub fn warning(message: &str) -> Option<String> {
    if let Some(text) = ALWAYS_WRONG.iter().find(|text| message.contains(**text)) {
        return Some(format!("Linux printed `{text}`"));
    }
    let driver = DRIVERS.iter().find(|driver| message.starts_with(driver.prefix))?;
    if driver.expected.iter().any(|text| message.contains(text)) {
        return None;
    }
    Some(format!("a line of the `{}` driver that a clean boot does not print", driver.prefix.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every driver line of real clean logs (GICv2, GICv3 with 4 vCPUs, zcu102), and some others.
    const CLEAN: &[&str] = &[
        "psci: probing for conduit method from DT.",
        "psci: PSCIv1.1 detected in firmware.",
        "psci: Using standard PSCI v0.2 function IDs",
        "psci: Trusted OS migration not required",
        "psci: SMC Calling Convention v1.1",
        "psci: CPU1 killed (polled 0 ms)",
        "psci: CPU3 killed (polled 4 ms)",
        "GICv3: 160 SPIs implemented",
        "GICv3: 0 Extended SPIs implemented",
        "GICv3: GICv3 features: 16 PPIs",
        "GICv3: CPU2: found redistributor 2 region 0:0x00000000080e0000",
        "CPU features: detected: GIC system register CPU interface",
        "Root IRQ handler: gic_handle_irq",
        "arch_timer: cp15 timer(s) running at 62.50MHz (virt).",
        "Calibrating delay loop (skipped), value calculated using timer frequency.. 125.00 BogoMIPS (lpj=250000)",
        "Serial: AMBA PL011 UART driver",
        "9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1",
        "printk: console [ttyAMA0] enabled",
        "uart-pl011 9000000.pl011: no DMA platform data",
        "rtc-pl031 9010000.pl031: registered as rtc0",
        "rtc-pl031 9010000.pl031: setting system clock to 2026-11-25T19:12:10 UTC (1795633930)",
        "hrtimer: interrupt took 11552368 ns",
        "CPU1: Booted secondary processor 0x0000000001 [0x410fd034]",
        "Freezing remaining freezable tasks completed (elapsed 0.003 seconds)",
        "PM: suspend entry (deep)",
        "reboot: Power down",
    ];

    /// Warnings and errors these drivers and the kernel print when something is wrong.
    const WRONG: &[&str] = &[
        "WARNING: CPU: 0 PID: 1 at kernel/irq/manage.c:1234 __free_irq+0x1/0x2",
        "Internal error: Oops: 0000000096000004 [#1] SMP",
        "BUG: soft lockup - CPU#1 stuck for 22s! [swapper/1:0]",
        "rcu: INFO: rcu_sched self-detected stall on CPU",
        "irq 13: nobody cared (try booting with the \"irqpoll\" option)",
        "GIC: PPI11 is secure or misconfigured",
        "GICv3: CPU1: mpidr 1 has no re-distributor!",
        "GICv2m: failed to map",
        "arch_timer: No interrupt available, giving up",
        "arch_timer: frequency not available",
        "psci: failed to boot CPU1 (-22)",
        "psci: CPU1 may not have shut down cleanly (AFFINITY_INFO reports 1)",
        "CPU1: failed to come online",
        "uart-pl011 9000000.pl011: failed to enable clock",
        "ttyAMA ttyAMA0: 1 input overrun(s)",
        "rtc-pl031 9010000.pl031: rtc core: registered with error -22",
        "Non-boot CPUs are not disabled",
        "PM: Some devices failed to suspend, or early wake event detected",
    ];

    #[test]
    fn a_clean_boot_has_no_warning() {
        for line in CLEAN {
            assert_eq!(warning(line), None, "{line}");
        }
    }

    #[test]
    fn warnings_are_found() {
        for line in WRONG {
            assert!(warning(line).is_some(), "{line}");
        }
        assert_eq!(warning("BUG: x").unwrap(), "Linux printed `BUG:`");
        assert_eq!(
            warning("arch_timer: No interrupt available, giving up").unwrap(),
            "a line of the `arch_timer:` driver that a clean boot does not print"
        );
    }
}
