//! `sgi-ping-pong`: vCPU 0 starts vCPU 1 with PSCI CPU_ON, then the two bounce SGIs 10,000 times
//! (`round_trips=N` on the command line for another count):
//! vCPU 0 sends SGI 1 to vCPU 1, whose handler answers with SGI 2 to vCPU 0, whose handler sends the
//! next SGI 1. Checks the counts on both sides and that no SGI arrives at the wrong vCPU or, on GICv2
//! (where GICC_IAR names the sender), from the wrong vCPU. Needs a guest with 2 vCPUs.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, psci, report, start};

entry!("sgi-ping-pong", main);

/// SGI that vCPU 0 sends to vCPU 1.
const PING: u32 = 1;

/// SGI that vCPU 1 sends back to vCPU 0.
const PONG: u32 = 2;

/// Number of round trips.
const DEFAULT_ROUND_TRIPS: u64 = 10_000;
/// Round trips of this run (`round_trips=N` on the command line, else the default).
static ROUND_TRIPS: AtomicU64 = AtomicU64::new(DEFAULT_ROUND_TRIPS);

/// The second vCPU.
const PARTNER: usize = 1;

/// Context id given to CPU_ON.
const CONTEXT_ID: u64 = 0x5917_0000_0000_0001;

/// How long the vCPUs may take in all (start-up and round trips), in microseconds.
const TIMEOUT_MICROS: u64 = 30_000_000;

/// vCPU 1 initialised its GIC interface and unmasked interrupts.
static PARTNER_READY: AtomicBool = AtomicBool::new(false);

/// PINGs vCPU 1 received.
static PINGS: AtomicU64 = AtomicU64::new(0);

/// PONGs vCPU 0 received.
static PONGS: AtomicU64 = AtomicU64::new(0);

/// SGIs that arrived at the wrong vCPU or from the wrong sender.
static MISDIRECTED: AtomicU64 = AtomicU64::new(0);

fn misdirected(interrupt: Acknowledged, expected_at: usize, expected_from: usize) -> bool {
    let wrong_target = cpu::index() != expected_at;
    let wrong_source = interrupt.source_cpu.is_some_and(|source| source != expected_from);
    if wrong_target || wrong_source {
        MISDIRECTED.store(MISDIRECTED.load(Ordering::Relaxed) + 1, Ordering::Release);
        println!(
            "sgi-ping-pong: SGI {} at vCPU {} from {:?}, expected at vCPU {expected_at} from vCPU {expected_from}",
            interrupt.intid,
            cpu::index(),
            interrupt.source_cpu
        );
    }
    wrong_target || wrong_source
}

fn ping(interrupt: Acknowledged) {
    if misdirected(interrupt, PARTNER, 0) {
        return;
    }
    PINGS.store(PINGS.load(Ordering::Relaxed) + 1, Ordering::Release);
    gic::send_sgi(PONG, 0);
}

fn pong(interrupt: Acknowledged) {
    if misdirected(interrupt, 0, PARTNER) {
        return;
    }
    let pongs = PONGS.load(Ordering::Relaxed) + 1;
    PONGS.store(pongs, Ordering::Release);
    if pongs < ROUND_TRIPS.load(Ordering::Relaxed) {
        gic::send_sgi(PING, PARTNER);
    }
}

fn partner(_context_id: u64) -> ! {
    gic::init_cpu();
    gic::enable(PING);
    PARTNER_READY.store(true, Ordering::Release);
    cpu::unmask_interrupts();
    loop {
        cpu::wait_for_interrupt();
    }
}

fn main(device_tree: u64) -> ! {
    let round_trips = somnus_test_guests::device_tree::parse(device_tree)
        .as_ref()
        .and_then(somnus_test_guests::device_tree::bootargs)
        .and_then(|arguments| somnus_test_guests::device_tree::command_line_value(arguments, "round_trips"))
        .and_then(|value| value.parse::<u64>().ok())
        .filter(|&count| count > 0);
    if let Some(count) = round_trips {
        ROUND_TRIPS.store(count, Ordering::Release);
    }
    let detection = gic::init(device_tree);
    interrupts::set_handler(PING, Some(ping));
    interrupts::set_handler(PONG, Some(pong));
    gic::enable(PONG);
    start::set_warm_handler(partner);
    let result = psci::cpu_on(Conduit::Hvc, PARTNER as u64, CONTEXT_ID);
    println!("sgi-ping-pong: {detection}; CPU_ON({PARTNER}) -> {result:#x}");
    if result != 0 {
        fail!("CPU_ON returned {result:#x}");
    }
    let begin = counter::now();
    let timeout = begin + counter::ticks_from_micros(TIMEOUT_MICROS);
    while !PARTNER_READY.load(Ordering::Acquire) {
        if counter::now() > timeout {
            fail!("vCPU {PARTNER} did not initialise its GIC interface");
        }
        core::hint::spin_loop();
    }

    let start = counter::now();
    gic::send_sgi(PING, PARTNER);
    // Checked with interrupts masked: the last PONG's handler cannot run between the check and WFI
    // (which would then wait forever); WFI still returns for a pending interrupt, taken at unmasking.
    while PONGS.load(Ordering::Acquire) < ROUND_TRIPS.load(Ordering::Relaxed)
        && MISDIRECTED.load(Ordering::Acquire) == 0
    {
        if counter::now() > timeout {
            break;
        }
        cpu::wait_for_interrupt();
        cpu::unmask_interrupts();
        cpu::mask_interrupts();
    }
    let stop = counter::now();
    // Let a stray extra SGI arrive before counting.
    cpu::unmask_interrupts();
    counter::delay_micros(10_000);
    cpu::mask_interrupts();

    let received_pings = PINGS.load(Ordering::Acquire);
    let pongs = PONGS.load(Ordering::Acquire);
    let misdirected = MISDIRECTED.load(Ordering::Acquire);
    println!(
        "sgi-ping-pong: {pongs} round trips in {} us, vCPU {PARTNER} got {received_pings} SGI {PING}, vCPU 0 got {pongs} SGI \
         {PONG}, {misdirected} misdirected",
        counter::micros_from_ticks(stop - start)
    );
    if misdirected != 0 {
        fail!("{misdirected} SGIs arrived at the wrong vCPU or from the wrong sender");
    }
    let round_trips = ROUND_TRIPS.load(Ordering::Acquire);
    if received_pings != round_trips || pongs != round_trips {
        fail!("vCPU {PARTNER} got {received_pings} and vCPU 0 got {pongs} SGIs, expected {round_trips} each");
    }
    report::pass()
}
