//! The QEMU tests of the virtual GIC (issue 4): the interrupt guests of `tests/guests` in the
//! configurations `tests/domains/vgic-*.toml`, on qemu-virt with GICv2 and GICv3 and on zcu102,
//! with what their output must show. Two of them type on the serial line. The passthrough tests
//! run where the device is: the PL031 on qemu-virt (`vgic-rtc`), UART1 on zcu102
//! (`vgic-passthrough-uart`).
//!
//! Domain `(d<N>)` is the N-th `[[domain]]` of the file. Every guest names the GIC it found
//! (`<guest>: GICv<n> from device tree`), which must be the machine's.
//!
//! `vgic-interrupts` and `vgic-timers` give every vCPU that waits for an interrupt a physical CPU
//! of its own; `vgic-shared-cpus` runs the same guests beside busy domains on shared CPUs. It
//! guards two faults fixed on issue 4: an SGI to a vCPU that blocked in WFI while another vCPU took
//! its CPU was not seen until something else woke it (the interrupt was queued after its state
//! was read), and a virtual timer that expired while its vCPU was off its CPU was delivered twice,
//! the second time with CNTV_CTL_EL0.ISTATUS clear.
//!
//! And the `uart-echo` that gets the input runs on CPU 0, which takes the console's interrupt, and
//! gets `ping` typed at once: after echoing what it got, it sometimes takes one more receive
//! interrupt (INTID 33) with UARTMIS clear and nothing to read, and fails. Seen in about 1 run of
//! 40 so, 1 of 10 with the domain on CPU 1, about half as d2 of `vgic-console-focus` on CPU 1, and
//! in 2 of 3 with `ping` typed a byte at a time, each after the echo of the one before.

use crate::board::Board;
use crate::machine::{CpuModel, GicVersion, Machine};
use crate::qemu_tests::definitions::{Boot, QemuTest, boot, machine};
use crate::qemu_tests::guest_check::{FollowedBy, GuestExpectations, Pattern, check_guests};
use crate::qemu_tests::runner::{Progress, SerialInput};

/// The machines every test here runs on: both GIC versions of qemu-virt (4 CPUs) and zcu102.
const EVERY_MACHINE: [(Board, GicVersion); 3] =
    [(Board::QemuVirt, GicVersion::V2), (Board::QemuVirt, GicVersion::V3), (Board::Zcu102, GicVersion::V2)];

/// The virtual timer, on 4 CPUs of which two stay idle, so that QEMU's threads compete little
/// for the host (a thread descheduled for 95 ms, seen when the SGI guests ran beside it, makes
/// `virtual-timer` fall behind its deadlines):
/// - `virtual-timer` (d1, CPU 0): PPI 27 at 1 kHz for 2 s, no tick lost (the guest compares the
///   ticks handled with 2000 and with the deadlines CNTVCT passed), none without ISTATUS, no
///   spurious IRQ;
/// - `wfi-timer` (d2, CPU 1): WFI with the timer armed 50 ms ahead returns only after the deadline,
///   with the timer handler run.
///
/// Not with `-icount`, as the domain tests with timing use it: `virtual-timer` alone then handles
/// only 250..1900 of its 2000 ticks (largest latency 0.08..1.9 s), nor on one CPU, where it
/// handles about 1900 without `-icount` (largest latency 100..150 ms; plain QEMU: 3.8 ms).
const TIMERS: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "virtual-timer: GICv"),
        Pattern::domain(1, " without ISTATUS, 0 spurious IRQs"),
        Pattern::domain(1, "TEST PASS virtual-timer"),
        Pattern::domain(2, "wfi-timer: woke after "),
        Pattern::domain(2, "TEST PASS wfi-timer"),
    ],
    forbidden: &[],
    followed_by: &[],
};

/// SGIs, priorities and a hammered GIC, at once on 4 CPUs:
/// - `sgi-ping-pong` (d1, CPUs 0 and 1): 10,000 SGI round trips between its two vCPUs, none lost,
///   extra or misdirected;
/// - `gicd-hammer` (d2, CPU 2): 20,000 random GICD (and GICR) accesses, then its timer, an SGI and
///   an SPI still arrive, once each;
/// - `heartbeat` (d3, CPU 3, every 20 ms): at least 5 beats while the hammering lasts and 10
///   after the hammer passed;
/// - `interrupt-priorities` (d4, CPU 3): 12 SPIs pended at once (more than the 4 list registers
///   of QEMU's GICs) arrive once each, most urgent first, in exactly this order.
///
/// That the others pass beside the hammer shows it cannot harm their GICs.
const INTERRUPTS: GuestExpectations = GuestExpectations {
    domains: 4,
    required: &[
        Pattern::domain(1, "sgi-ping-pong: 10000 round trips in "),
        Pattern::domain(1, " vCPU 1 got 10000 SGI 1, vCPU 0 got 10000 SGI 2, 0 misdirected"),
        Pattern::domain(1, "TEST PASS sgi-ping-pong"),
        Pattern::domain(2, "gicd-hammer: done, "),
        Pattern::domain(2, " timer ticks in "),
        Pattern::domain(2, " SGI 3 x1, SPI 40 x1"),
        Pattern::domain(2, "TEST PASS gicd-hammer"),
        Pattern::domain(3, "heartbeat: every 20 ms"),
        Pattern::domain(4, "interrupt-priorities: GICv"),
        Pattern::domain(
            4,
            "interrupt-priorities: order 43(0x10) 41(0x20) 46(0x30) 49(0x40) 45(0x50) 48(0x60) 40(0x70) \
             51(0x80) 44(0x90) 50(0xa0) 42(0xb0) 47(0xc0)",
        ),
        Pattern::domain(4, "TEST PASS interrupt-priorities"),
    ],
    forbidden: &[],
    followed_by: &[
        FollowedBy {
            after: Pattern::domain(2, "gicd-hammer: GICv"),
            count: 5,
            matching: Pattern::domain(3, "heartbeat "),
            before: Some(Pattern::domain(2, "gicd-hammer: done, ")),
        },
        FollowedBy {
            after: Pattern::domain(2, "TEST PASS gicd-hammer"),
            count: 10,
            matching: Pattern::domain(3, "heartbeat "),
            before: None,
        },
    ],
};

/// The SGI and WFI guests on CPUs shared with busy-waiting domains (see the module comment):
/// `sgi-ping-pong` (d1, CPUs 0 and 1, 2,000 round trips) beside a `heartbeat` on each of its CPUs, and `wfi-timer`
/// (d4) beside the heartbeat of CPU 0. The heartbeats must keep beating while the others run.
const SHARED_CPUS: GuestExpectations = GuestExpectations {
    domains: 4,
    required: &[
        Pattern::domain(1, " vCPU 1 got 2000 SGI 1, vCPU 0 got 2000 SGI 2, 0 misdirected"),
        Pattern::domain(1, "TEST PASS sgi-ping-pong"),
        Pattern::domain(4, "wfi-timer: woke after "),
        Pattern::domain(4, "TEST PASS wfi-timer"),
    ],
    forbidden: &[],
    followed_by: &[
        FollowedBy {
            after: Pattern::domain(1, "sgi-ping-pong: GICv"),
            count: 3,
            matching: Pattern::domain(2, "heartbeat "),
            before: Some(Pattern::domain(1, "TEST PASS sgi-ping-pong")),
        },
        FollowedBy {
            after: Pattern::domain(1, "sgi-ping-pong: GICv"),
            count: 3,
            matching: Pattern::domain(3, "heartbeat "),
            before: Some(Pattern::domain(1, "TEST PASS sgi-ping-pong")),
        },
    ],
};

/// `rtc-alarm` (d1) owns the machine's PL031 (`devices = ["rtc"]`, qemu-virt) and gets its alarm,
/// SPI 2 (INTID 34), after 1.5..3 s with RTCMIS set. `rtc-probe` (d2) finds its own virtual PL031
/// at the same address instead: the PL031 ID, a clock that takes a loaded value, no interrupt from
/// the owner's alarm while it watches with INTID 34 enabled (the owner's alarm must come during
/// that watch), then its own alarm exactly once.
const RTC: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "rtc-alarm: GICv"),
        Pattern::domain(1, "rtc-alarm: alarm interrupt after "),
        Pattern::domain(1, "TEST PASS rtc-alarm"),
        Pattern::domain(2, "rtc-probe: PL031 identification 0x00141031"),
        Pattern::domain(2, " after loading 1000"),
        Pattern::domain(2, "rtc-probe: INTID 34 arrived 0 times"),
        Pattern::domain(2, "rtc-probe: own alarm arrived 1 times (1 interrupts)"),
        Pattern::domain(2, "TEST PASS rtc-probe"),
    ],
    forbidden: &[],
    followed_by: &[FollowedBy {
        after: Pattern::domain(2, "rtc-probe: INTID 34 enabled here"),
        count: 1,
        matching: Pattern::domain(1, "rtc-alarm: alarm interrupt after "),
        before: Some(Pattern::domain(2, "rtc-probe: INTID 34 arrived ")),
    }],
};

/// `uart-loopback` (d1) owns the ZCU102's UART1 (`devices = ["uart1"]`), finds it in its device
/// tree, and takes its receive trigger interrupt, SPI 22 (INTID 54), once per round of 4 bytes in
/// local loopback, 40 times, each byte read back. `uart1-probe` (d2), on the same physical CPU, has
/// no UART1 in its tree, gets synchronous external aborts at its frame, and never sees INTID 54
/// while it watches with it enabled (toggling its enable and target all the while); the owner's
/// whole run of interrupts must fall inside that watch. Then INTID 54 pended in its own
/// distributor arrives there once.
const PASSTHROUGH_UART: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::domain(1, "uart-loopback: GICv"),
        Pattern::domain(1, "Cadence UART at 0xff010000, INTID 54 from device tree"),
        Pattern::domain(
            1,
            "uart-loopback: 40 interrupts for 160 bytes, 0 wrong, 0 below the trigger level, 0 without the \
             trigger raised, 0 spurious IRQs",
        ),
        Pattern::domain(1, "TEST PASS uart-loopback"),
        Pattern::domain(2, "uart1-probe: no Cadence UART in its device tree"),
        Pattern::domain(2, "uart1-probe: read of 0xff01002c taken as a synchronous external abort"),
        Pattern::domain(2, "uart1-probe: write of 0xff01000c taken as a synchronous external abort"),
        Pattern::domain(2, "uart1-probe: INTID 54 arrived 0 times"),
        Pattern::domain(2, "uart1-probe: INTID 54 pended here arrived 1 times"),
        Pattern::domain(2, "TEST PASS uart1-probe"),
    ],
    forbidden: &[],
    followed_by: &[
        FollowedBy {
            after: Pattern::domain(2, "uart1-probe: INTID 54 enabled here"),
            count: 1,
            matching: Pattern::domain(1, "uart-loopback: sending "),
            before: Some(Pattern::domain(2, "uart1-probe: INTID 54 arrived ")),
        },
        FollowedBy {
            after: Pattern::domain(2, "uart1-probe: INTID 54 enabled here"),
            count: 1,
            matching: Pattern::domain(1, "uart-loopback: 40 interrupts"),
            before: Some(Pattern::domain(2, "uart1-probe: INTID 54 arrived ")),
        },
    ],
};

/// The same guests where every domain has its own virtual PL031 (no `devices`), on every
/// machine: `rtc-alarm` (d1) gets its virtual alarm, and `rtc-probe` (d2) is not disturbed by it.
const VIRTUAL_RTC: GuestExpectations =
    GuestExpectations { domains: 2, required: RTC.required, forbidden: &[], followed_by: &[] };

/// `uart-echo` (d1) has the console input focus (the first domain has it at boot); `ping` typed
/// on the serial line reaches it byte by byte through its PL011 receive interrupt.
const UART_ECHO: GuestExpectations = GuestExpectations {
    domains: 1,
    required: &[
        Pattern::domain(1, "uart-echo: GICv"),
        Pattern::domain(1, "uart-echo: got 0x70"),
        Pattern::domain(1, "uart-echo: got 0x69"),
        Pattern::domain(1, "uart-echo: got 0x6e"),
        Pattern::domain(1, "uart-echo: got 0x67"),
        Pattern::domain(1, "TEST PASS uart-echo"),
    ],
    forbidden: &[],
    followed_by: &[],
};

/// What the echo tests type: `ping` once the guest asks for it.
const TYPE_PING: &[SerialInput] = &[SerialInput { after: &[Pattern::domain(1, "uart-echo: type")], bytes: b"ping" }];

/// What the console prints after Ctrl-A three times moved the focus from d1 to d2.
const FOCUS_ON_D2: &str = "somnus: console input goes to d2 (Ctrl-A three times to switch)";

/// Two `uart-echo` domains, focus on d1 at boot: Ctrl-A three times moves it to d2 (the console
/// says so), then `ping` reaches d2 only; d1 receives nothing.
const CONSOLE_FOCUS: GuestExpectations = GuestExpectations {
    domains: 2,
    required: &[
        Pattern::anywhere(FOCUS_ON_D2),
        Pattern::domain(2, "uart-echo: got 0x70"),
        Pattern::domain(2, "uart-echo: got 0x69"),
        Pattern::domain(2, "uart-echo: got 0x6e"),
        Pattern::domain(2, "uart-echo: got 0x67"),
        Pattern::domain(2, "TEST PASS uart-echo"),
    ],
    forbidden: &[Pattern::domain(1, "got"), Pattern::domain(1, "TEST PASS")],
    followed_by: &[],
};

/// Once both domains wait for input, Ctrl-A three times; once the console says d2 has the focus,
/// `ping`.
const SWITCH_THEN_PING: &[SerialInput] = &[
    SerialInput {
        after: &[Pattern::domain(1, "uart-echo: type"), Pattern::domain(2, "uart-echo: type")],
        bytes: b"\x01\x01\x01",
    },
    SerialInput { after: &[Pattern::anywhere(FOCUS_ON_D2)], bytes: b"ping" },
];

/// Every vGIC test, in the order they run.
pub fn all() -> Vec<QemuTest> {
    let mut tests = Vec::new();
    for (board, gic) in EVERY_MACHINE {
        let machine = machine(board, gic, 4, CpuModel::CortexA53);
        tests.push(with_domains("vgic-timers", machine, TIMERS, &[]));
        tests.push(with_domains("vgic-interrupts", machine, INTERRUPTS, &[]));
        // Round trips beside busy domains wait for time slices: slow on a loaded host.
        let shared = with_domains("vgic-shared-cpus", machine, SHARED_CPUS, &[]);
        tests.push(QemuTest { timeout: std::time::Duration::from_secs(45), ..shared });
        tests.push(with_domains("vgic-virtual-rtc", machine, VIRTUAL_RTC, &[]));
    }
    // Only qemu-virt has a PL031 to pass through; a domain file with `devices = ["rtc"]` is
    // refused on zcu102, whose domains have the virtual one (`vgic-virtual-rtc`).
    for gic in [GicVersion::V2, GicVersion::V3] {
        let machine = machine(Board::QemuVirt, gic, 4, CpuModel::CortexA53);
        tests.push(with_domains("vgic-rtc", machine, RTC, &[]));
    }
    // Only zcu102 has a spare UART to pass through; `devices = ["uart1"]` is refused on qemu-virt.
    let zcu102 = machine(Board::Zcu102, GicVersion::V2, 4, CpuModel::CortexA53);
    tests.push(with_domains("vgic-passthrough-uart", zcu102, PASSTHROUGH_UART, &[]));
    for (board, gic) in EVERY_MACHINE {
        let machine = machine(board, gic, 4, CpuModel::CortexA53);
        tests.push(with_domains("vgic-uart-echo", machine, UART_ECHO, TYPE_PING));
    }
    let machine = machine(Board::QemuVirt, GicVersion::V2, 4, CpuModel::CortexA53);
    tests.push(with_domains("vgic-console-focus", machine, CONSOLE_FOCUS, SWITCH_THEN_PING));
    tests
}

/// `tests/domains/<name>.toml` booted on `machine`, typed on as `input` says, and checked against
/// `want` and the GIC version the guests report; named `<name>-<machine>`.
fn with_domains(name: &str, machine: Machine, want: GuestExpectations, input: &'static [SerialInput]) -> QemuTest {
    let config = format!("tests/domains/{name}.toml");
    let gic = machine.gic;
    QemuTest {
        domains: Some(config.into()),
        boot: Boot::NORMAL,
        input,
        check: Box::new(move |expected, lines: &[String]| {
            check_guests(expected, &want, lines).then(|| guests_found(gic, lines))
        }),
        ..boot(&format!("{name}-{}", machine_tag(machine)), machine.board, machine.gic, machine.smp, machine.cpu)
    }
}

/// Fails if a guest reports a GIC other than `gic`, or found its GIC without the device tree.
fn guests_found(gic: GicVersion, lines: &[String]) -> Progress {
    let wanted = format!("GICv{} from device tree", gic.number());
    let wrong = lines.iter().enumerate().find(|(_, line)| {
        domain_text(line).is_some_and(|text| {
            text.split_once(": GICv").is_some_and(|(guest, _)| !guest.contains(' ') && !text.contains(&wanted))
        })
    });
    match wrong {
        Some((index, line)) => {
            Progress::Failed(format!("line {}: `{line}`: the machine has GICv{}", index + 1, gic.number()))
        }
        None => Progress::Done,
    }
}

/// What a domain printed on `line`: the text after its `(d<N>) ` prefix.
fn domain_text(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once("(d")?;
    let (number, text) = rest.split_once(") ")?;
    number.parse::<u8>().is_ok().then_some(text)
}

/// `qemu-virt-gicv<g>-smp<n>` or `zcu102-smp4`, as in the other tests' names.
fn machine_tag(machine: Machine) -> String {
    match machine.board {
        Board::QemuVirt => format!("qemu-virt-gicv{}-smp{}", machine.gic.number(), machine.smp),
        Board::Zcu102 => format!("zcu102-smp{}", machine.smp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;

    fn names() -> Vec<String> {
        all().into_iter().map(|test| test.name).collect()
    }

    #[test]
    fn every_test_runs_on_both_gics_and_zcu102_except_the_passthrough_and_focus_tests() {
        let names = names();
        for prefix in ["vgic-timers-", "vgic-interrupts-", "vgic-shared-cpus-", "vgic-virtual-rtc-", "vgic-uart-echo-"]
        {
            let on: Vec<&String> = names.iter().filter(|name| name.starts_with(prefix)).collect();
            assert_eq!(on.len(), 3, "{prefix}: {on:?}");
            assert!(
                on.iter().any(|name| name.ends_with("gicv2-smp4"))
                    && on.iter().any(|name| name.ends_with("gicv3-smp4"))
            );
            assert!(on.iter().any(|name| name.ends_with("zcu102-smp4")), "{on:?}");
        }
        let rtc: Vec<&String> = names.iter().filter(|name| name.starts_with("vgic-rtc-")).collect();
        assert_eq!(rtc, ["vgic-rtc-qemu-virt-gicv2-smp4", "vgic-rtc-qemu-virt-gicv3-smp4"]);
        let uart: Vec<&String> = names.iter().filter(|name| name.starts_with("vgic-passthrough-")).collect();
        assert_eq!(uart, ["vgic-passthrough-uart-zcu102-smp4"]);
        assert!(names.contains(&"vgic-console-focus-qemu-virt-gicv2-smp4".to_owned()), "{names:?}");
    }

    #[test]
    fn configurations_exist_and_only_the_echo_tests_type() {
        for test in all() {
            let config = test.domains_path().expect("every test here has domains");
            assert!(config.is_file(), "{}: {} is missing", test.name, config.display());
            assert!(config.starts_with(paths::repo_root()), "{}", config.display());
            let echo = test.name.starts_with("vgic-uart-echo") || test.name.starts_with("vgic-console-focus");
            assert_eq!(!test.input.is_empty(), echo, "{}", test.name);
            assert_eq!(test.boot, Boot::NORMAL, "{}", test.name);
            assert_eq!(test.machine.smp, 4, "{}", test.name);
        }
    }

    #[test]
    fn the_focus_test_switches_before_typing_ping() {
        let [switch, ping] = SWITCH_THEN_PING else { panic!("two inputs") };
        assert_eq!(switch.bytes, [1, 1, 1]);
        assert_eq!(switch.after.len(), 2, "both domains wait for input first");
        assert_eq!(ping.bytes, b"ping");
        assert!(ping.after[0].matches(FOCUS_ON_D2), "ping only once the focus moved");
    }

    #[test]
    fn guests_must_find_the_machines_gic_in_the_device_tree() {
        let lines = |line: &str| {
            vec!["somnus: GICv2 distributor 0x8000000".to_owned(), line.to_owned(), "(d2) heartbeat 3".to_owned()]
        };
        assert_eq!(guests_found(GicVersion::V2, &lines("(d1) wfi-timer: GICv2 from device tree; x")), Progress::Done);
        let Progress::Failed(reason) = guests_found(GicVersion::V3, &lines("(d1) wfi-timer: GICv2 from device tree"))
        else {
            panic!("not failed")
        };
        assert_eq!(reason, "line 2: `(d1) wfi-timer: GICv2 from device tree`: the machine has GICv3");
        let from_register = lines("(d1) uart-echo: GICv2 from GICD_PIDR2");
        assert!(matches!(guests_found(GicVersion::V2, &from_register), Progress::Failed(_)));
    }
}
