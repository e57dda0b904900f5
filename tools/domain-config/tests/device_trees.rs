//! The generated guest device trees, read back with the `fdt` crate and, when it is installed,
//! decompiled by `dtc`.

use std::process::Command;

use fdt::Fdt;
use fdt::node::FdtNode;
use somnus_abi::domain_bundle::DeviceGrant;
use somnus_domain_config::device_tree::{GuestTree, STDOUT_PATH, generate};
use somnus_domain_config::{GicVersion, layout::DEVICE_TREE_RESERVE};

mod common;

fn linux_tree() -> GuestTree<'static> {
    GuestTree {
        vcpus: 2,
        ram: 0x4000_0000..0x4400_0000,
        cmdline: Some("console=ttyAMA0 earlycon"),
        initrd: Some(0x43fe_f000..0x43fe_f028),
        devices: &[],
    }
}

fn minimal_tree() -> GuestTree<'static> {
    GuestTree { vcpus: 1, ram: 0x4000_0000..0x4020_0000, cmdline: None, initrd: None, devices: &[] }
}

/// The big-endian 32-bit cells of a property.
fn cells(node: FdtNode<'_, '_>, name: &str) -> Vec<u32> {
    let property = node.property(name).unwrap_or_else(|| panic!("{} has no {name}", node.name));
    property.value.chunks_exact(4).map(|cell| u32::from_be_bytes(cell.try_into().expect("four bytes"))).collect()
}

/// A property's string list.
fn strings<'a>(node: FdtNode<'_, 'a>, name: &str) -> Vec<&'a str> {
    let property = node.property(name).unwrap_or_else(|| panic!("{} has no {name}", node.name));
    property.value.split(|&byte| byte == 0).filter(|s| !s.is_empty()).map(|s| std::str::from_utf8(s).unwrap()).collect()
}

fn node<'b, 'a>(fdt: &'b Fdt<'a>, path: &str) -> FdtNode<'b, 'a> {
    fdt.find_node(path).unwrap_or_else(|| panic!("no node {path}"))
}

/// 64-bit values as pairs of cells.
fn pairs(values: &[u64]) -> Vec<u32> {
    values.iter().flat_map(|&value| [(value >> 32) as u32, value as u32]).collect()
}

#[test]
fn common_nodes_match_the_guest_platform() {
    for gic in [GicVersion::V2, GicVersion::V3] {
        let blob = generate(&linux_tree(), gic).unwrap();
        assert!(blob.len() as u64 <= DEVICE_TREE_RESERVE);
        let fdt = Fdt::new(&blob).unwrap();
        let root = node(&fdt, "/");
        assert_eq!(strings(root, "compatible"), ["linux,dummy-virt"]);
        assert_eq!((cells(root, "#address-cells"), cells(root, "#size-cells")), (vec![2], vec![2]));
        let intc = node(&fdt, "/intc@8000000");
        assert_eq!(cells(root, "interrupt-parent"), cells(intc, "phandle"));

        let memory = node(&fdt, "/memory@40000000");
        assert_eq!(strings(memory, "device_type"), ["memory"]);
        assert_eq!(cells(memory, "reg"), pairs(&[0x4000_0000, 0x400_0000]));

        let cpus = node(&fdt, "/cpus");
        assert_eq!((cells(cpus, "#address-cells"), cells(cpus, "#size-cells")), (vec![1], vec![0]));
        let cpu_names: Vec<&str> = cpus.children().map(|cpu| cpu.name).collect();
        assert_eq!(cpu_names, ["cpu@0", "cpu@1"]);
        for (index, cpu) in cpus.children().enumerate() {
            assert_eq!(strings(cpu, "device_type"), ["cpu"]);
            assert_eq!(strings(cpu, "compatible"), ["arm,armv8"]);
            assert_eq!(strings(cpu, "enable-method"), ["psci"]);
            assert_eq!(cells(cpu, "reg"), [index as u32]);
        }

        let psci = node(&fdt, "/psci");
        assert_eq!(strings(psci, "compatible"), ["arm,psci-1.0", "arm,psci-0.2"]);
        assert_eq!(strings(psci, "method"), ["hvc"]);

        assert_eq!(cells(intc, "#interrupt-cells"), [3]);
        assert!(intc.property("interrupt-controller").is_some());

        let timer = node(&fdt, "/timer");
        assert_eq!(strings(timer, "compatible"), ["arm,armv8-timer"]);
        assert!(timer.property("always-on").is_some());

        let clock = node(&fdt, "/apb-pclk");
        assert_eq!(strings(clock, "compatible"), ["fixed-clock"]);
        assert_eq!(cells(clock, "clock-frequency"), [24_000_000]);
        let uart = node(&fdt, "/pl011@9000000");
        assert_eq!(strings(uart, "compatible"), ["arm,pl011", "arm,primecell"]);
        assert_eq!(cells(uart, "reg"), pairs(&[0x900_0000, 0x1000]));
        assert_eq!(cells(uart, "interrupts"), [0, 1, 4]);
        assert_eq!(cells(uart, "clocks"), [cells(clock, "phandle")[0]; 2]);
        assert_eq!(strings(uart, "clock-names"), ["uartclk", "apb_pclk"]);
        let rtc = node(&fdt, "/pl031@9010000");
        assert_eq!(strings(rtc, "compatible"), ["arm,pl031", "arm,primecell"]);
        assert_eq!(cells(rtc, "reg"), pairs(&[0x901_0000, 0x1000]));
        assert_eq!(cells(rtc, "interrupts"), [0, 2, 4]);

        let chosen = node(&fdt, "/chosen");
        assert_eq!(strings(chosen, "stdout-path"), [STDOUT_PATH]);
        assert_eq!(fdt.chosen().stdout().map(|uart| uart.name), Some("pl011@9000000"));
        assert_eq!(fdt.chosen().bootargs(), Some("console=ttyAMA0 earlycon"));
        assert_eq!(cells(chosen, "linux,initrd-start"), pairs(&[0x43fe_f000]));
        assert_eq!(cells(chosen, "linux,initrd-end"), pairs(&[0x43fe_f028]));
    }
}

#[test]
fn gic_v2_has_a_cpu_interface_and_cpu_masks_in_the_timer_flags() {
    let blob = generate(&linux_tree(), GicVersion::V2).unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    let intc = node(&fdt, "/intc@8000000");
    assert_eq!(strings(intc, "compatible"), ["arm,cortex-a15-gic"]);
    assert_eq!(cells(intc, "reg"), pairs(&[0x800_0000, 0x1_0000, 0x801_0000, 0x2000]));
    // Two vCPUs: mask 0b11 in bits 8..16, level-high (4).
    assert_eq!(cells(node(&fdt, "/timer"), "interrupts"), [1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304]);
    let eight = GuestTree { vcpus: 8, ..linux_tree() };
    let blob = generate(&eight, GicVersion::V2).unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    assert_eq!(cells(node(&fdt, "/timer"), "interrupts")[2], 0xff04);
}

#[test]
fn gic_v3_has_one_redistributor_frame_pair_per_vcpu() {
    let blob = generate(&linux_tree(), GicVersion::V3).unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    let intc = node(&fdt, "/intc@8000000");
    assert_eq!(strings(intc, "compatible"), ["arm,gic-v3"]);
    assert_eq!(cells(intc, "reg"), pairs(&[0x800_0000, 0x1_0000, 0x80a_0000, 2 * 0x2_0000]));
    assert_eq!(cells(intc, "#redistributor-regions"), [1]);
    assert_eq!(cells(node(&fdt, "/timer"), "interrupts"), [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
}

#[test]
fn optional_parts_are_left_out() {
    let blob = generate(&minimal_tree(), GicVersion::V3).unwrap();
    let fdt = Fdt::new(&blob).unwrap();
    assert!(fdt.find_node("/pl031@9010000").is_some(), "every domain has an RTC, virtual or granted");
    let chosen = node(&fdt, "/chosen");
    for absent in ["bootargs", "linux,initrd-start", "linux,initrd-end"] {
        assert!(chosen.property(absent).is_none(), "{absent}");
    }
    assert_eq!(node(&fdt, "/cpus").children().count(), 1);
    assert!(fdt.find_node("/serial@ff010000").is_none(), "UART1 only when granted");
}

/// A zcu102 domain given UART1 (`devices = ["uart1"]`).
fn uart1_tree() -> GuestTree<'static> {
    GuestTree { devices: &[DeviceGrant::Uart1], ..minimal_tree() }
}

#[test]
fn uart1_has_the_node_linux_xilinx_uartps_binds_to() {
    for gic in [GicVersion::V2, GicVersion::V3] {
        let blob = generate(&uart1_tree(), gic).unwrap();
        let fdt = Fdt::new(&blob).unwrap();
        let uart = node(&fdt, "/serial@ff010000");
        assert_eq!(strings(uart, "compatible"), ["xlnx,zynqmp-uart", "cdns,uart-r1p12"]);
        assert_eq!(cells(uart, "reg"), pairs(&[0xff01_0000, 0x1000]));
        // SPI 22 (INTID 54), level-sensitive active high, as on the ZynqMP.
        assert_eq!(cells(uart, "interrupts"), [0, 22, 4]);
        assert_eq!(strings(uart, "clock-names"), ["uart_clk", "pclk"]);
        let clock = node(&fdt, "/uart1-clock");
        assert_eq!(strings(clock, "compatible"), ["fixed-clock"]);
        assert_eq!(cells(clock, "#clock-cells"), [0]);
        assert_eq!(cells(clock, "clock-frequency"), [100_000_000]);
        assert_eq!(cells(uart, "clocks"), [cells(clock, "phandle")[0]; 2]);
        let phandles: Vec<u32> = ["/intc@8000000", "/apb-pclk", "/uart1-clock"]
            .iter()
            .map(|path| cells(node(&fdt, path), "phandle")[0])
            .collect();
        assert_eq!(phandles, [1, 2, 3], "every phandle is unique");
        assert_eq!(fdt.chosen().stdout().map(|uart| uart.name), Some("pl011@9000000"), "still the console");
    }
}

#[test]
fn dtc_decompiles_both_trees_without_warnings() {
    if dtc_missing() {
        println!("note: dtc is not installed; skipping the dtc check (apt-get install device-tree-compiler)");
        return;
    }
    let dir = common::scratch_dir("dtc");
    for (gic, name) in [(GicVersion::V2, "v2"), (GicVersion::V3, "v3")] {
        let path = dir.join(format!("guest-{name}.dtb"));
        std::fs::write(&path, generate(&linux_tree(), gic).unwrap()).unwrap();
        let output = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "dtc failed on the GIC{name} tree: {stderr}");
        assert!(stderr.trim().is_empty(), "dtc warns about the GIC{name} tree: {stderr}");
        let source = String::from_utf8_lossy(&output.stdout);
        for expected in [
            "compatible = \"linux,dummy-virt\";",
            "enable-method = \"psci\";",
            "method = \"hvc\";",
            "stdout-path = \"/pl011@9000000\";",
            "bootargs = \"console=ttyAMA0 earlycon\";",
            "pl031@9010000 {",
        ] {
            assert!(source.contains(expected), "{expected:?} missing from the GIC{name} tree:\n{source}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dtc_accepts_the_uart1_node_and_its_clock() {
    if dtc_missing() {
        println!("note: dtc is not installed; skipping the dtc check (apt-get install device-tree-compiler)");
        return;
    }
    let dir = common::scratch_dir("dtc-uart1");
    let path = dir.join("guest-uart1.dtb");
    std::fs::write(&path, generate(&uart1_tree(), GicVersion::V2).unwrap()).unwrap();
    let output = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "dtc: {stderr}");
    let source = String::from_utf8_lossy(&output.stdout);
    assert!(source.contains("serial@ff010000 {"), "{source}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn dtc_missing() -> bool {
    Command::new("dtc").arg("--version").output().is_err()
}
