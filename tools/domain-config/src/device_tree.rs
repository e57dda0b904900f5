//! The device tree a domain boots with: the QEMU-`virt`-compatible guest platform (memory, CPUs
//! with PSCI, the GIC, the architected timer, the PL011, the PL031 and the nodes of the devices
//! passed through to it), shaped like the tree QEMU's `virt` machine generates, for a GICv2 or a
//! GICv3 host.

use std::ops::Range;

use somnus_abi::GuestPhysAddr;
use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform::{
    GIC_DISTRIBUTOR, GIC_DISTRIBUTOR_SIZE, GICV2_CPU_INTERFACE, GICV2_CPU_INTERFACE_SIZE, GICV3_REDISTRIBUTOR_STRIDE,
    GICV3_REDISTRIBUTORS, RTC, RTC_SPI, TIMER_PPIS, UART, UART_SPI,
};
use vm_fdt::{FdtWriter, FdtWriterResult};

use crate::passthrough_nodes;

/// `interrupts` cell: shared peripheral interrupt.
pub(crate) const GIC_SPI: u32 = 0;
/// `interrupts` cell: private peripheral interrupt.
const GIC_PPI: u32 = 1;
/// `interrupts` flags: level-sensitive, active high (what QEMU's `virt` tree uses).
pub(crate) const IRQ_TYPE_LEVEL_HIGH: u32 = 4;
/// phandle of the interrupt controller.
const GIC_PHANDLE: u32 = 1;
/// phandle of the 24 MHz APB clock of the PrimeCell devices.
const CLOCK_PHANDLE: u32 = 2;
/// First phandle free for the nodes of passed-through devices.
pub(crate) const FIRST_DEVICE_PHANDLE: u32 = 3;
/// Frequency of the APB clock.
const APB_CLOCK_HZ: u32 = 24_000_000;
/// Path of the console, `/chosen/stdout-path`.
pub const STDOUT_PATH: &str = "/pl011@9000000";

/// The interrupt controller the host has, and so the one the domain sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    /// GICv2: distributor and CPU interface.
    V2,
    /// GICv3: distributor and one redistributor per vCPU.
    V3,
}

/// What a domain's tree describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestTree<'a> {
    /// Number of vCPUs.
    pub vcpus: u8,
    /// Guest physical RAM.
    pub ram: Range<u64>,
    /// `/chosen/bootargs`.
    pub cmdline: Option<&'a str>,
    /// `/chosen/linux,initrd-start` and `-end`.
    pub initrd: Option<Range<u64>>,
    /// Devices passed through to the domain (the PL031 has its node either way).
    pub devices: &'a [DeviceGrant],
}

/// Writes the flattened device tree blob.
pub fn generate(tree: &GuestTree<'_>, gic: GicVersion) -> FdtWriterResult<Vec<u8>> {
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_string("compatible", "linux,dummy-virt")?;
    fdt.property_string("model", "linux,dummy-virt")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_u32("interrupt-parent", GIC_PHANDLE)?;

    let memory = fdt.begin_node(&format!("memory@{:x}", tree.ram.start))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &[tree.ram.start, tree.ram.end - tree.ram.start])?;
    fdt.end_node(memory)?;

    write_cpus(&mut fdt, tree.vcpus)?;

    let psci = fdt.begin_node("psci")?;
    fdt.property_string_list("compatible", strings(&["arm,psci-1.0", "arm,psci-0.2"]))?;
    fdt.property_string("method", "hvc")?;
    fdt.end_node(psci)?;

    write_gic(&mut fdt, gic, tree.vcpus)?;
    write_timer(&mut fdt, gic, tree.vcpus)?;

    let clock = fdt.begin_node("apb-pclk")?;
    fdt.property_string("compatible", "fixed-clock")?;
    fdt.property_u32("#clock-cells", 0)?;
    fdt.property_u32("clock-frequency", APB_CLOCK_HZ)?;
    fdt.property_string("clock-output-names", "clk24mhz")?;
    fdt.property_phandle(CLOCK_PHANDLE)?;
    fdt.end_node(clock)?;

    write_primecell(&mut fdt, "pl011", UART, UART_SPI, &["uartclk", "apb_pclk"])?;
    // Every domain has a PL031: its own virtual one, or the machine's when it was granted.
    write_primecell(&mut fdt, "pl031", RTC, RTC_SPI, &["apb_pclk"])?;
    passthrough_nodes::write(&mut fdt, tree.devices)?;

    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("stdout-path", STDOUT_PATH)?;
    if let Some(cmdline) = tree.cmdline {
        fdt.property_string("bootargs", cmdline)?;
    }
    if let Some(initrd) = &tree.initrd {
        fdt.property_u64("linux,initrd-start", initrd.start)?;
        fdt.property_u64("linux,initrd-end", initrd.end)?;
    }
    fdt.end_node(chosen)?;

    fdt.end_node(root)?;
    fdt.finish()
}

/// `/cpus` with one `cpu@N` per vCPU; vCPU N has affinity N, so `reg = N`.
fn write_cpus(fdt: &mut FdtWriter, vcpus: u8) -> FdtWriterResult<()> {
    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    for vcpu in 0..u32::from(vcpus) {
        let cpu = fdt.begin_node(&format!("cpu@{vcpu:x}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_string("compatible", "arm,armv8")?;
        fdt.property_u32("reg", vcpu)?;
        fdt.property_string("enable-method", "psci")?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)
}

/// The interrupt controller at the guest platform's addresses.
fn write_gic(fdt: &mut FdtWriter, gic: GicVersion, vcpus: u8) -> FdtWriterResult<()> {
    let node = fdt.begin_node(&format!("intc@{:x}", GIC_DISTRIBUTOR.as_u64()))?;
    let distributor = [GIC_DISTRIBUTOR.as_u64(), GIC_DISTRIBUTOR_SIZE];
    match gic {
        GicVersion::V2 => {
            fdt.property_string("compatible", "arm,cortex-a15-gic")?;
            let cpu_interface = [GICV2_CPU_INTERFACE.as_u64(), GICV2_CPU_INTERFACE_SIZE];
            fdt.property_array_u64("reg", &[distributor, cpu_interface].concat())?;
        }
        GicVersion::V3 => {
            fdt.property_string("compatible", "arm,gic-v3")?;
            let redistributors = [GICV3_REDISTRIBUTORS.as_u64(), u64::from(vcpus) * GICV3_REDISTRIBUTOR_STRIDE];
            fdt.property_array_u64("reg", &[distributor, redistributors].concat())?;
            fdt.property_u32("#redistributor-regions", 1)?;
        }
    }
    fdt.property_u32("#interrupt-cells", 3)?;
    // No child nodes and no interrupt-map refers to it; dtc wants it in every interrupt provider.
    fdt.property_u32("#address-cells", 0)?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_phandle(GIC_PHANDLE)?;
    fdt.end_node(node)
}

/// The architected timer's four PPIs. On GICv2 the flags carry the mask of CPUs the PPI is
/// wired to, as QEMU writes them.
fn write_timer(fdt: &mut FdtWriter, gic: GicVersion, vcpus: u8) -> FdtWriterResult<()> {
    let flags = match gic {
        GicVersion::V2 => (((1_u32 << vcpus) - 1) << 8) | IRQ_TYPE_LEVEL_HIGH,
        GicVersion::V3 => IRQ_TYPE_LEVEL_HIGH,
    };
    let interrupts: Vec<u32> = TIMER_PPIS.iter().flat_map(|&ppi| [GIC_PPI, ppi, flags]).collect();
    let timer = fdt.begin_node("timer")?;
    fdt.property_string("compatible", "arm,armv8-timer")?;
    fdt.property_array_u32("interrupts", &interrupts)?;
    fdt.property_null("always-on")?;
    fdt.end_node(timer)
}

/// An Arm PrimeCell device with one page of registers, one SPI and the APB clock.
fn write_primecell(
    fdt: &mut FdtWriter,
    kind: &str,
    address: GuestPhysAddr,
    spi: u32,
    clock_names: &[&str],
) -> FdtWriterResult<()> {
    let node = fdt.begin_node(&format!("{kind}@{:x}", address.as_u64()))?;
    fdt.property_string_list("compatible", strings(&[&format!("arm,{kind}"), "arm,primecell"]))?;
    fdt.property_array_u64("reg", &[address.as_u64(), somnus_abi::guest_platform::DEVICE_FRAME_SIZE])?;
    fdt.property_array_u32("interrupts", &[GIC_SPI, spi, IRQ_TYPE_LEVEL_HIGH])?;
    fdt.property_array_u32("clocks", &vec![CLOCK_PHANDLE; clock_names.len()])?;
    fdt.property_string_list("clock-names", strings(clock_names))?;
    fdt.end_node(node)
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&item| item.to_owned()).collect()
}
