//! Bring-up: the boot CPU finds the machine, turns on translation, starts the other CPUs through
//! the firmware, and prints the ready line once every CPU's EL2 timer is ticking.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use crate::arch::aarch64::boot_entry::somnus_secondary_entry;
use crate::arch::aarch64::virtual_cpu_interface::{self, VirtualCpuInterface};
use crate::arch::aarch64::{cpu, el2_setup, firmware, hypervisor_timer, mmu, vectors};
use crate::board::BoardDescriptor;
use crate::console::{self, ConsoleUart};
use crate::device_tree;
use crate::drivers::generic_timer::GenericTimer;
use crate::drivers::gic_v2_hypervisor::GicV2HypervisorInterface;
use crate::interrupt_controller::InterruptController;
use crate::interrupts::{self, GIC, TimerInterrupts};
use crate::platform::{GicInfo, MAX_CPUS, MPIDR_AFFINITY_MASK, PlatformInfo, UartKind};
use crate::println;
use crate::run_loop::{self, SCHEDULER};
use crate::service_host::ServiceRegistry;
use crate::{domain_builder, services};

unsafe extern "Rust" {
    /// The board's description, defined by the board crate with `declare_board!`.
    safe static SOMNUS_BOARD: BoardDescriptor;
}

/// How long the boot CPU waits for the others to report in, in counter ticks per second units.
const CPU_START_TIMEOUT_SECONDS: u64 = 5;

static PLATFORM: Once<PlatformInfo> = Once::new();
/// Bit n set once CPU n took its first EL2 timer interrupt.
static ONLINE_CPUS: AtomicU64 = AtomicU64::new(0);
/// Bit n set once CPU n stopped on an unexpected exception.
static STOPPED_CPUS: AtomicU64 = AtomicU64::new(0);
static TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The machine description, once the boot CPU has found it.
#[must_use]
pub fn platform() -> &'static PlatformInfo {
    PLATFORM.get().expect("platform is known before any other CPU or interrupt runs")
}

/// Where the platform description came from.
enum PlatformSource {
    DeviceTree(usize),
    InvalidDeviceTree(usize, device_tree::DeviceTreeError),
    BoardConstants,
}

/// Rust entry of the boot CPU, called by `boot_entry` with the boot loader's x0 and CurrentEL.
#[unsafe(no_mangle)]
extern "C" fn somnus_primary_main(device_tree_address: usize, current_el: u64) -> ! {
    let board = &SOMNUS_BOARD;
    if current_el != 2 {
        refuse_wrong_exception_level(board, current_el);
    }
    let (mut platform, source) = discover_platform(board, device_tree_address);
    put_boot_cpu_first(&mut platform);
    let platform = PLATFORM.call_once(|| platform);
    // SAFETY: no other CPU runs yet and the MMU is off on this one.
    unsafe {
        mmu::build_tables(platform);
        mmu::enable();
    }
    // SAFETY: the UART frame comes from the platform description and is mapped as device memory.
    console::install(unsafe { ConsoleUart::new(&platform.uart) });
    print_banner(board, platform, &source);

    // SAFETY: the GIC frames come from the platform description and are mapped as device memory.
    let gic = GIC.call_once(|| unsafe { InterruptController::new(&platform.gic) });
    interrupts::set_timer_interrupts(TimerInterrupts {
        hypervisor: platform.hypervisor_timer_intid,
        virtual_timer: platform.virtual_timer_intid,
        maintenance: platform.maintenance_intid,
        console: platform.uart.intid,
    });
    install_virtual_cpu_interface(platform);
    gic.init_distributor(cpu::mpidr());
    init_this_cpu(0);

    SCHEDULER.lock().set_cpu_count(platform.cpu_count);
    crate::management::set_board(board.name);
    let mut registry = ServiceRegistry::new(services::stack_area());
    (board.register_services)(&mut registry, platform);
    services::install(registry);
    let domains = domain_builder::build_all(board.domain_bundle, platform, board.passthrough_devices);
    if let Some(intid) = platform.uart.intid
        && gic.enable(intid, cpu::mpidr()).is_ok()
    {
        console::enable_input();
    }
    start_secondary_cpus(platform);

    // Nothing is held here: the boot CPU may take its own tick while it waits.
    cpu::enable_interrupts();
    let online = wait_for_cpus(platform.cpu_count);
    cpu::disable_interrupts();
    println!(
        "somnus: ready board={} gic=v{} cpus={} domains={domains}",
        board.name,
        gic.version(),
        online.count_ones()
    );
    #[cfg(feature = "el2-fault-test")]
    {
        cpu::enable_interrupts();
        crate::fault_test::after_ready(platform.cpu_count);
        cpu::disable_interrupts();
    }
    run_loop::start_all();
    run_loop::run()
}

/// Rust entry of the other CPUs, started by `start_secondary_cpus`.
#[unsafe(no_mangle)]
extern "C" fn somnus_secondary_main(index: usize) -> ! {
    // SAFETY: the boot CPU built the tables before starting this CPU.
    unsafe { mmu::enable() };
    init_this_cpu(index);
    run_loop::run()
}

/// Per-CPU set-up shared by all CPUs; ends with the tick running. Interrupts stay masked: the
/// interrupt handlers take the scheduler and service locks, so a CPU only unmasks them where it
/// holds none (its idle wait).
fn init_this_cpu(index: usize) {
    cpu::set_index(index);
    vectors::install();
    el2_setup::configure_this_cpu();
    let platform = platform();
    let gic = GIC.get().expect("the boot CPU sets up the GIC before starting others");
    let mpidr = cpu::mpidr();
    let enabled = gic.init_this_cpu(mpidr).and_then(|()| {
        gic.enable(platform.hypervisor_timer_intid, mpidr)?;
        gic.enable(platform.virtual_timer_intid, mpidr)?;
        gic.enable(platform.maintenance_intid, mpidr)?;
        gic.enable(interrupts::RESCHEDULE_SGI, mpidr)
    });
    if let Err(error) = enabled {
        println!("somnus: cpu {index}: interrupt controller set-up failed ({error:?}); cpu left idle");
        mark_stopped(index);
        cpu::stop();
    }
    interrupts::register_this_cpu(gic, mpidr);
    hypervisor_timer::start();
}

/// Records the GIC's virtual CPU interface: GICH for GICv2 (a GICv2 without one cannot run
/// guests that use interrupts), the ICH system registers for GICv3.
fn install_virtual_cpu_interface(platform: &PlatformInfo) {
    match platform.gic {
        GicInfo::V2 { hypervisor_interface: Some(base), .. } => {
            // SAFETY: the GICH frame comes from the platform description and is mapped as device
            // memory; only the virtual CPU interface code uses it.
            let interface = unsafe { GicV2HypervisorInterface::new(base.0 as usize) };
            virtual_cpu_interface::install(VirtualCpuInterface::V2(interface));
        }
        GicInfo::V2 { hypervisor_interface: None, .. } => {
            println!("somnus: the GICv2 has no virtualization extensions; guests get no interrupts");
        }
        GicInfo::V3 { .. } => virtual_cpu_interface::install(VirtualCpuInterface::V3),
    }
}

fn start_secondary_cpus(platform: &PlatformInfo) {
    for (index, &mpidr) in platform.cpus().iter().enumerate().skip(1) {
        let entry = somnus_secondary_entry as *const () as u64;
        if let Err(error) = firmware::cpu_on(mpidr, entry, index as u64) {
            println!("somnus: cpu {index} (mpidr {mpidr:#x}) could not be started: {error:?}");
        }
    }
}

/// Waits until every CPU is online (or stopped), or the timeout passes; returns the online mask.
fn wait_for_cpus(count: usize) -> u64 {
    let everyone = if count >= 64 { u64::MAX } else { (1 << count) - 1 };
    let timer = GenericTimer::new();
    let deadline = timer.map(|timer| timer.ticks() + timer.frequency().hertz() * CPU_START_TIMEOUT_SECONDS);
    loop {
        let online = ONLINE_CPUS.load(Ordering::Acquire);
        if online | STOPPED_CPUS.load(Ordering::Acquire) == everyone {
            return online;
        }
        if let (Some(timer), Some(deadline)) = (timer, deadline)
            && timer.ticks() > deadline
        {
            println!("somnus: cpus {:#x} did not come online in {CPU_START_TIMEOUT_SECONDS} s", everyone & !online);
            return online;
        }
        cpu::wait_for_interrupt();
    }
}

/// Called on every EL2 timer interrupt of the calling CPU.
pub fn timer_tick() {
    let index = cpu::index();
    let Some(ticks) = TICKS.get(index) else { return };
    let count = ticks.fetch_add(1, Ordering::Relaxed) + 1;
    // A stack that grew into its canary has overwritten whatever lies below it: stop now.
    assert!(crate::arch::aarch64::per_cpu::stack_intact(), "the EL2 stack of cpu {index} overflowed");
    if count == 1 {
        println!("somnus: cpu {index} online (mpidr {:#x}), EL2 timer ticking", cpu::mpidr() & MPIDR_AFFINITY_MASK);
        ONLINE_CPUS.fetch_or(1 << index, Ordering::Release);
    }
    #[cfg(feature = "el2-fault-test")]
    crate::fault_test::on_tick(index, count);
}

/// Timer interrupts taken so far by CPU `index`.
#[must_use]
pub fn ticks_of(index: usize) -> u64 {
    TICKS.get(index).map_or(0, |ticks| ticks.load(Ordering::Relaxed))
}

/// Records that CPU `index` stopped for good.
pub fn mark_stopped(index: usize) {
    if index < MAX_CPUS {
        STOPPED_CPUS.fetch_or(1 << index, Ordering::Release);
    }
}

/// Whether CPU `index` stopped for good.
#[must_use]
pub fn is_stopped(index: usize) -> bool {
    index < MAX_CPUS && STOPPED_CPUS.load(Ordering::Acquire) & (1 << index) != 0
}

fn discover_platform(board: &BoardDescriptor, passed: usize) -> (PlatformInfo, PlatformSource) {
    let candidates = [Some(passed).filter(|&address| address != 0), board.device_tree_probe.map(|a| a.0 as usize)];
    for address in candidates.into_iter().flatten() {
        // SAFETY: the boot loader's x0 or the board's probe address is readable RAM; `blob_at`
        // checks the magic number before trusting the size field.
        if let Some(blob) = unsafe { device_tree::blob_at(address) } {
            return match device_tree::parse(blob) {
                Ok(platform) => (platform, PlatformSource::DeviceTree(address)),
                Err(error) => (board.fallback_platform, PlatformSource::InvalidDeviceTree(address, error)),
            };
        }
    }
    (board.fallback_platform, PlatformSource::BoardConstants)
}

/// Makes the boot CPU logical CPU 0, since it already runs on the first stack.
fn put_boot_cpu_first(platform: &mut PlatformInfo) {
    let mpidr = cpu::mpidr() & MPIDR_AFFINITY_MASK;
    if let Some(index) = platform.cpu_index_of(mpidr) {
        platform.cpu_mpidrs[..=index].rotate_right(1);
    } else {
        // The description does not list the CPU we run on: trust the hardware.
        let count = (platform.cpu_count + 1).min(MAX_CPUS);
        platform.cpu_mpidrs[..count].rotate_right(1);
        platform.cpu_mpidrs[0] = mpidr;
        platform.cpu_count = count;
    }
}

fn print_banner(board: &BoardDescriptor, platform: &PlatformInfo, source: &PlatformSource) {
    let firmware = firmware::psci_version().map_or_else(
        || heapless::String::<16>::try_from("none").unwrap_or_default(),
        |(major, minor)| {
            let mut text = heapless::String::new();
            let _ = write!(text, "{major}.{minor}");
            text
        },
    );
    println!("somnus: Somnus {} on {}, EL2, firmware PSCI {firmware}", env!("CARGO_PKG_VERSION"), board.name);
    match source {
        PlatformSource::DeviceTree(address) => println!("somnus: device tree at {address:#x}"),
        PlatformSource::InvalidDeviceTree(address, error) => {
            println!("somnus: device tree at {address:#x} unusable ({error}); using {} constants", board.name);
        }
        PlatformSource::BoardConstants => println!("somnus: no device tree; using {} constants", board.name),
    }
    for region in platform.ram_regions() {
        println!("somnus: RAM {:#x}..{:#x} ({} MiB)", region.base.0, region.end(), region.size >> 20);
    }
    let (image_start, image_end) = mmu::image_range();
    println!("somnus: hypervisor image {image_start:#x}..{image_end:#x}");
    match platform.gic {
        GicInfo::V2 { distributor, cpu_interface, .. } => {
            println!("somnus: GICv2 distributor {distributor}, CPU interface {cpu_interface}");
        }
        GicInfo::V3 { distributor, redistributors, .. } => {
            println!("somnus: GICv3 distributor {distributor}, redistributors {redistributors}");
        }
    }
    let uart = match platform.uart.kind {
        UartKind::Pl011 => "PL011",
        UartKind::Cadence => "Cadence UART",
    };
    println!("somnus: console {uart} at {}; {} cpus described", platform.uart.base, platform.cpu_count);
}

/// Says why Somnus cannot run and stops; the MMU is off and no lock may be taken.
fn refuse_wrong_exception_level(board: &BoardDescriptor, current_el: u64) -> ! {
    // SAFETY: the fallback UART is the board's console; nothing else uses it this early.
    let mut uart = unsafe { ConsoleUart::new(&board.fallback_platform.uart) };
    let advice = if current_el == 1 {
        "the boot loader dropped to EL1; with QEMU add virtualization=on to -M"
    } else {
        "no firmware took EL3; start Somnus from a boot loader that runs it at EL2"
    };
    let _ = writeln!(uart, "somnus: entered at EL{current_el}, but Somnus runs at EL2: {advice}. Stopping.");
    cpu::stop();
}
