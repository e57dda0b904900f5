//! `system-reset`: PSCI SYSTEM_RESET (or SYSTEM_RESET2 with the architectural warm reset, type 0,
//! when the command line says `reset=system_reset2`) must restart the domain from scratch: a pristine
//! image, zeroed RAM, every vCPU of the old life gone. Needs 2 vCPUs.
//!
//! Nothing survives a reset, so every boot is the same: it checks that a static initialised in the
//! image still has its initial value (the image was reloaded), that two words of RAM outside the
//! image are zero (RAM was zeroed), that vCPU 1 is off, and, for 5 ms, that the second word stays
//! zero (the old vCPU 1, which kept writing it, is really gone). With `vcpu1=calls` on the command
//! line vCPU 1 calls PSCI_VERSION between its writes, so the reset may find it trapping into the
//! hypervisor.
//!
//! A boot calls the hypervisor at its first instruction (Somnus tells its services of the new
//! generation before its vCPU 0 runs, so the first call must be answered). It prints
//! `system-reset: boot: ...`,
//! then dirties the static and the first word, starts vCPU 1 (which writes the second word over and
//! over), prints `system-reset: calling <function> with vCPU 1 running` and resets. So the domain
//! boots again and again; the test counts the boots and the hypervisor's `restarted` lines.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use psci_support::{AFFINITY_OFF, SUCCESS, affinity, code_name};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::smccc::psci;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, device_tree, entry, fail, println};

entry!("system-reset", main);

/// The static's value in the image (it lives in `.data`, so only a reload restores it).
const PRISTINE: u64 = 0x9015_7153_0000_0001;
/// What a boot writes before resetting.
const DIRTY: u64 = 0xD1E7_D1E7_D1E7_D1E7;
/// Offset of the two RAM words from the start of RAM.
const RAM_WORDS_OFFSET: u64 = 8 << 20;
/// How long the boot watches the second word, in microseconds.
const WATCH_MICROS: u64 = 5_000;
/// How long a boot lasts before it resets, in microseconds (so the console is not flooded).
const LIFETIME_MICROS: u64 = 50_000;
/// Context id of vCPU 1.
const CTX_WRITER: u64 = 0x5253_0000_0000_0001;

static IMAGE_WORD: AtomicU64 = AtomicU64::new(PRISTINE);
/// vCPU 1 calls into the hypervisor between its writes (`vcpu1=calls`).
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Address of the first RAM word (the second follows it).
static RAM_WORDS: AtomicU64 = AtomicU64::new(0);

fn writer(context_id: u64) -> ! {
    if context_id != CTX_WRITER {
        fail!("vCPU 1 started with context id {context_id:#x}");
    }
    let address = RAM_WORDS.load(Ordering::Acquire) + 8;
    let calls = CALLS.load(Ordering::Acquire) != 0;
    loop {
        psci_support::set_ram_word(address, DIRTY);
        if calls {
            let _ = psci_support::call(Conduit::Hvc, psci::PSCI_VERSION, &[]);
        }
    }
}

fn main(device_tree_address: u64) -> ! {
    let tree = device_tree::parse(device_tree_address);
    let Some((ram_start, _)) = tree.as_ref().and_then(device_tree::ram_range) else {
        fail!("no RAM range in the device tree at {device_tree_address:#x}");
    };
    let option = |key: &str| {
        tree.as_ref()
            .and_then(device_tree::bootargs)
            .and_then(|arguments| device_tree::command_line_value(arguments, key))
    };
    let use_reset2 = option("reset") == Some("system_reset2");
    CALLS.store(u64::from(option("vcpu1") == Some("calls")), Ordering::Release);
    let name = if use_reset2 { "SYSTEM_RESET2(warm reset)" } else { "SYSTEM_RESET" };
    let boot_time = counter::micros_from_ticks(counter::now());
    let first = ram_start + RAM_WORDS_OFFSET;
    RAM_WORDS.store(first, Ordering::Release);

    let image_word = IMAGE_WORD.load(Ordering::Acquire);
    if image_word != PRISTINE {
        fail!(
            "the static in the image holds {image_word:#x}, not its initial {PRISTINE:#x}: the image was not reloaded"
        );
    }
    let (word, second) = (psci_support::ram_word(first), psci_support::ram_word(first + 8));
    if word != 0 || second != 0 {
        fail!("RAM at {first:#x} holds {word:#x} {second:#x}: it was not zeroed");
    }
    let vcpu1 = affinity(1);
    if vcpu1 != AFFINITY_OFF {
        fail!("AFFINITY_INFO(1) = {vcpu1:#x} at boot: vCPU 1 of the previous life is still on");
    }
    if psci_support::wait_until(WATCH_MICROS, || psci_support::ram_word(first + 8) != 0) {
        fail!("RAM at {:#x} was written after the boot: the previous life's vCPU 1 still runs", first + 8);
    }
    println!(
        "system-reset: boot: image pristine, RAM zeroed, vCPU 1 off and silent for {} ms; counter at {boot_time} us",
        WATCH_MICROS / 1000
    );

    IMAGE_WORD.store(DIRTY, Ordering::Release);
    psci_support::set_ram_word(first, DIRTY);
    set_warm_handler(writer);
    let result = psci_support::cpu_on_at(Conduit::Hvc, 1, warm_entry_address(), CTX_WRITER);
    if result != SUCCESS {
        fail!("CPU_ON(1) returned {result:#x} ({})", code_name(result));
    }
    if !psci_support::wait_until(1_000_000, || psci_support::ram_word(first + 8) == DIRTY) {
        fail!("vCPU 1 did not start writing");
    }
    counter::delay_micros(LIFETIME_MICROS);
    println!("system-reset: calling {name} with vCPU 1 running");
    let result = if use_reset2 {
        psci_support::call(Conduit::Smc, psci::PSCI_SYSTEM_RESET2_64, &[0, 0])
    } else {
        psci_support::call(Conduit::Hvc, psci::PSCI_SYSTEM_RESET, &[])
    };
    fail!("{name} returned {result:#x} ({})", code_name(result))
}
