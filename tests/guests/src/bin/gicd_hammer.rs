//! `gicd-hammer`: writes pseudo-random values (fixed seed) to random offsets of its GIC distributor and,
//! on GICv3, of its own redistributor, with interrupts masked; then re-initialises its GIC and checks
//! that it still works: its virtual timer interrupts, an SGI to itself and a software-pended SPI arrive.
//!
//! Accesses use the sizes the architecture allows at each offset: 32-bit everywhere, 8-bit for the
//! byte-wide registers (IPRIORITYR, ITARGETSR, CPENDSGIR/SPENDSGIR), 64-bit for the 64-bit ones
//! (IROUTER, GICR_TYPER, PROPBASER, PENDBASER); one access in eight is a read. An access that aborts is
//! counted and skipped. Run beside another domain, it shows a domain can only harm its own GIC.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::exceptions::{self, ExceptionFrame, Kind, Resolution};
use somnus_test_guests::gic::{self, Acknowledged, Trigger, Version};
use somnus_test_guests::random::PseudoRandom;
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, report, virtual_timer};

entry!("gicd-hammer", main);

/// Number of accesses.
const ACCESSES: u64 = 20_000;

/// Seed of the pseudo-random sequence.
const SEED: u64 = 0x6a1c_d0ff_5eed_0001;

/// Timer ticks (1 kHz) wanted after re-initialising, and how long they may take in microseconds.
const TICKS: u64 = 20;
const TICKS_TIMEOUT_MICROS: u64 = 500_000;

/// SGI and SPI sent to this vCPU after re-initialising.
const SGI: u32 = 3;
const SPI: u32 = 40;

/// Synchronous data aborts taken (and skipped) during the hammering.
static ABORTS: AtomicU64 = AtomicU64::new(0);

/// Timer period in counter ticks, and interrupts counted after re-initialising.
static PERIOD: AtomicU64 = AtomicU64::new(0);
static TIMER_TICKS: AtomicU64 = AtomicU64::new(0);
static SGIS: AtomicU64 = AtomicU64::new(0);
static SPIS: AtomicU64 = AtomicU64::new(0);

/// Size of one access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    Byte = 1,
    Word = 4,
    Doubleword = 8,
}

fn skip_abort(frame: &mut ExceptionFrame) -> Resolution {
    if frame.exception_class() != exceptions::EC_DATA_ABORT_SAME_EL {
        return Resolution::Unhandled;
    }
    ABORTS.store(ABORTS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    Resolution::SkipInstruction
}

/// A random offset in a frame of `size` bytes, biased towards the first 4 KiB where most registers are,
/// and the extra ranges in `interesting` (start, length).
fn pick_offset(random: &mut PseudoRandom, size: usize, interesting: &[(usize, usize)]) -> usize {
    let choice = random.below(8) as usize;
    match choice {
        0..=4 => random.below(0x1000.min(size) as u64) as usize,
        5 | 6 if !interesting.is_empty() => {
            let (start, length) = interesting[random.below(interesting.len() as u64) as usize];
            start + random.below(length as u64) as usize
        }
        _ => random.below(size as u64) as usize,
    }
}

/// The access width at `offset` of the distributor (`redistributor` false) or the redistributor.
fn pick_width(random: &mut PseudoRandom, version: Version, redistributor: bool, offset: usize) -> Width {
    let byte_wide = if redistributor {
        (0x1_0400..0x1_0420).contains(&offset)
    } else {
        (0x400..0xC00).contains(&offset) || (version == Version::V2 && (0xF10..0xF30).contains(&offset))
    };
    let double_wide = if redistributor {
        matches!(offset & !7, 0x08 | 0x70 | 0x78)
    } else {
        version == Version::V3 && (0x6100..0x7FE0).contains(&offset)
    };
    let coin = random.below(2) == 0;
    if byte_wide && coin {
        Width::Byte
    } else if double_wide && coin {
        Width::Doubleword
    } else {
        Width::Word
    }
}

fn random_value(random: &mut PseudoRandom) -> u64 {
    match random.below(8) {
        0 | 1 => u64::MAX,
        2 => 0,
        _ => random.next_u64(),
    }
}

/// Makes one access: a read one time in eight, else a write of a random value.
fn access(random: &mut PseudoRandom, address: usize, width: Width) {
    let read = random.below(8) == 0;
    let value = random_value(random);
    // SAFETY: `address` lies in this guest's GIC distributor or own redistributor frame (device memory,
    // never RAM), aligned to `width`. Such an access cannot touch memory the program uses; its effect on
    // the GIC is the point of the test, and an access that aborts is skipped by `skip_abort`.
    unsafe {
        match (width, read) {
            (Width::Byte, false) => (address as *mut u8).write_volatile(value as u8),
            (Width::Word, false) => (address as *mut u32).write_volatile(value as u32),
            (Width::Doubleword, false) => (address as *mut u64).write_volatile(value),
            (Width::Byte, true) => _ = (address as *const u8).read_volatile(),
            (Width::Word, true) => _ = (address as *const u32).read_volatile(),
            (Width::Doubleword, true) => _ = (address as *const u64).read_volatile(),
        }
    }
}

fn hammer(version: Version) {
    let mut random = PseudoRandom::new(SEED);
    let redistributor_base = (version == Version::V3).then(|| gic::redistributor_base(cpu::index()));
    let distributor_size = match version {
        Version::V2 => gic::FRAME_SIZE_V2,
        Version::V3 => gic::FRAME_SIZE_V3,
    };
    for _ in 0..ACCESSES {
        let (base, redistributor, offset) = match redistributor_base {
            Some(base) if random.below(2) == 0 => {
                (base, true, pick_offset(&mut random, gic::REDISTRIBUTOR_STRIDE, &[(0x1_0000, 0x1000)]))
            }
            _ => {
                let interesting: &[(usize, usize)] = match version {
                    Version::V2 => &[],
                    Version::V3 => &[(0x6100, 0x1EE0)],
                };
                (gic::DISTRIBUTOR_BASE, false, pick_offset(&mut random, distributor_size, interesting))
            }
        };
        let width = pick_width(&mut random, version, redistributor, offset);
        let aligned = offset & !(width as usize - 1);
        access(&mut random, base + aligned, width);
    }
}

/// Prints what the hammering left behind: GICD_CTLR and how many INTIDs are enabled and pending.
fn report_damage() {
    // SAFETY: GICD_CTLR is the first register of the distributor frame (device memory, never RAM);
    // reading it has no side effect.
    let control = unsafe { (gic::DISTRIBUTOR_BASE as *const u32).read_volatile() };
    let lines = gic::interrupt_lines();
    let enabled = (0..lines).filter(|&intid| gic::is_enabled(intid)).count();
    let pending = (0..lines).filter(|&intid| gic::is_pending(intid)).count();
    println!(
        "gicd-hammer: done, {} accesses aborted; GICD_CTLR={control:#x}, {enabled} of {lines} INTIDs enabled, \
         {pending} pending; re-initialising",
        ABORTS.load(Ordering::Relaxed)
    );
}

fn timer_tick(_interrupt: Acknowledged) {
    let ticks = TIMER_TICKS.load(Ordering::Relaxed) + 1;
    TIMER_TICKS.store(ticks, Ordering::Release);
    if ticks >= TICKS {
        virtual_timer::disable();
    } else {
        virtual_timer::set_deadline(virtual_timer::deadline() + PERIOD.load(Ordering::Relaxed));
    }
}

fn count_sgi(_interrupt: Acknowledged) {
    SGIS.store(SGIS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn count_spi(_interrupt: Acknowledged) {
    SPIS.store(SPIS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    println!("gicd-hammer: {detection}; {ACCESSES} accesses with seed {SEED:#x}");
    exceptions::set_handler(Kind::Synchronous, Some(skip_abort));
    hammer(detection.version);
    exceptions::set_handler(Kind::Synchronous, None);
    report_damage();

    gic::init_distributor();
    gic::init_cpu();
    interrupts::set_handler(virtual_timer::INTID, Some(timer_tick));
    interrupts::set_handler(SGI, Some(count_sgi));
    interrupts::set_handler(SPI, Some(count_spi));
    gic::enable(virtual_timer::INTID);
    gic::enable(SGI);
    gic::set_trigger(SPI, Trigger::Edge);
    gic::route_spi(SPI, cpu::index());
    gic::enable(SPI);

    let period = counter::frequency() / 1000;
    PERIOD.store(period, Ordering::Relaxed);
    let start = counter::now();
    virtual_timer::arm_at(start + period);
    cpu::unmask_interrupts();
    gic::send_sgi(SGI, cpu::index());
    gic::set_pending(SPI);
    let timeout = start + counter::ticks_from_micros(TICKS_TIMEOUT_MICROS);
    while TIMER_TICKS.load(Ordering::Acquire) < TICKS && counter::now() < timeout {
        cpu::wait_for_interrupt();
    }
    cpu::mask_interrupts();
    virtual_timer::disable();

    let (ticks, sgi_count, pended_spi_count) =
        (TIMER_TICKS.load(Ordering::Acquire), SGIS.load(Ordering::Acquire), SPIS.load(Ordering::Acquire));
    println!(
        "gicd-hammer: after re-initialising: {ticks} timer ticks in {} us, SGI {SGI} x{sgi_count}, SPI {SPI} x{pended_spi_count}",
        counter::micros_from_ticks(counter::now() - start)
    );
    if ticks < TICKS {
        fail!("the virtual timer interrupted {ticks} times, expected {TICKS}");
    }
    if sgi_count != 1 || pended_spi_count != 1 {
        fail!("SGI {SGI} arrived {sgi_count} times and SPI {SPI} {pended_spi_count} times, expected once each");
    }
    report::pass()
}
