//! The device-tree nodes of the devices passed through to a domain that the guest platform has no
//! node for otherwise: the ZynqMP's UART1, with the fixed clock Linux's `xilinx_uartps` driver asks
//! for. (The PL031 has its node whether the domain has the machine's or its own virtual one.)

use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform::{CADENCE_UART1, CADENCE_UART1_SPI, DEVICE_FRAME_SIZE};
use vm_fdt::{FdtWriter, FdtWriterResult};

use crate::device_tree::{FIRST_DEVICE_PHANDLE, GIC_SPI, IRQ_TYPE_LEVEL_HIGH, strings};

/// `compatible` of the ZynqMP's UARTs, as the Linux binding (`cdns,uart.yaml`) and Linux's
/// `zynqmp.dtsi` write it; `xilinx_uartps` knows both strings.
pub const CADENCE_UART_COMPATIBLE: [&str; 2] = ["xlnx,zynqmp-uart", "cdns,uart-r1p12"];

/// Reference clock of the ZynqMP's UARTs as the ZCU102's boot firmware sets it up (QEMU's model
/// runs at its own 50 MHz whatever the tree says, and sends bytes at no particular baud rate).
pub const CADENCE_UART_CLOCK_HZ: u32 = 100_000_000;

/// phandle of UART1's clock.
const UART1_CLOCK_PHANDLE: u32 = FIRST_DEVICE_PHANDLE;

/// Writes the nodes `devices` need, at the root.
pub fn write(fdt: &mut FdtWriter, devices: &[DeviceGrant]) -> FdtWriterResult<()> {
    for device in devices {
        match device {
            DeviceGrant::Rtc => {}
            DeviceGrant::Uart1 => write_uart1(fdt)?,
        }
    }
    Ok(())
}

/// UART1: its frame, its SPI, and a fixed clock of its own as both its reference clock
/// (`uart_clk`) and its bus clock (`pclk`), the names `xilinx_uartps` looks up.
fn write_uart1(fdt: &mut FdtWriter) -> FdtWriterResult<()> {
    let clock = fdt.begin_node("uart1-clock")?;
    fdt.property_string("compatible", "fixed-clock")?;
    fdt.property_u32("#clock-cells", 0)?;
    fdt.property_u32("clock-frequency", CADENCE_UART_CLOCK_HZ)?;
    fdt.property_string("clock-output-names", "uart1_ref")?;
    fdt.property_phandle(UART1_CLOCK_PHANDLE)?;
    fdt.end_node(clock)?;

    let address = CADENCE_UART1.as_u64();
    let node = fdt.begin_node(&format!("serial@{address:x}"))?;
    fdt.property_string_list("compatible", strings(&CADENCE_UART_COMPATIBLE))?;
    fdt.property_array_u64("reg", &[address, DEVICE_FRAME_SIZE])?;
    fdt.property_array_u32("interrupts", &[GIC_SPI, CADENCE_UART1_SPI, IRQ_TYPE_LEVEL_HIGH])?;
    fdt.property_array_u32("clocks", &[UART1_CLOCK_PHANDLE, UART1_CLOCK_PHANDLE])?;
    fdt.property_string_list("clock-names", strings(&["uart_clk", "pclk"]))?;
    fdt.end_node(node)
}
