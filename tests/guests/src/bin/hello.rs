//! `hello`: prints that it runs at EL1 and what it learned from the device tree (size, CPUs, RAM and
//! the command line, `/chosen/bootargs`, when there is one), then passes.
//!
//! It fails when not at EL1, or when x0 is non-zero but holds no valid device tree; x0 = 0 (what plain
//! QEMU passes to an ELF image) only prints `hello: no device tree given`.

#![no_std]
#![no_main]

use somnus_test_guests::{cpu, device_tree, entry, fail, println, report};

entry!("hello", main);

fn main(device_tree_address: u64) -> ! {
    let level = cpu::current_el();
    println!("hello from {} at EL{level}", report::guest_name());
    println!("hello: device tree at {device_tree_address:#x}");
    if level != 1 {
        fail!("running at EL{level}, expected EL1");
    }
    match device_tree::parse(device_tree_address) {
        Some(tree) => {
            let cpus = tree.cpus().count();
            println!("hello: device tree of {} bytes, {cpus} cpus", tree.total_size());
            if let Some((start, end)) = device_tree::ram_range(&tree) {
                println!("hello: RAM {start:#x}..{end:#x}");
            }
            if let Some(bootargs) = device_tree::bootargs(&tree) {
                println!("hello: bootargs \"{bootargs}\"");
            }
        }
        // Plain QEMU passes x0 = 0 to ELF images; a hypervisor passing an address must pass a tree.
        None if device_tree_address == 0 => println!("hello: no device tree given"),
        None => fail!("no valid device tree at {device_tree_address:#x}"),
    }
    report::pass()
}
