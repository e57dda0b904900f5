//! The services every Somnus board runs, with their routes; shared by the board crates through
//! `#[path]` so that the composition is written once.

use somnus_abi::guest_platform::{DEVICE_FRAME_SIZE, UART};
use somnus_kernel::service_host::{Route, SERVICE_STACK_SIZE, ServiceRegistry, ServiceStack};
use somnus_service_psci::PsciService;
use somnus_service_virtual_uart::VirtualUartService;
use static_cell::StaticCell;

/// Creates the PSCI and virtual UART services and registers them.
pub fn register(registry: &mut ServiceRegistry) {
    static PSCI: StaticCell<PsciService> = StaticCell::new();
    static PSCI_STACK: StaticCell<ServiceStack> = StaticCell::new();
    static UART_SERVICE: StaticCell<VirtualUartService> = StaticCell::new();
    static UART_STACK: StaticCell<ServiceStack> = StaticCell::new();
    let registered = registry.add(
        PSCI.init(PsciService::new()),
        &[Route::Calls],
        PSCI_STACK.init(ServiceStack([0; SERVICE_STACK_SIZE])),
    ) && registry.add(
        UART_SERVICE.init(VirtualUartService::new()),
        &[Route::Mmio { base: UART, size: DEVICE_FRAME_SIZE }],
        UART_STACK.init(ServiceStack([0; SERVICE_STACK_SIZE])),
    );
    assert!(registered, "the service registry has room for the board's services");
}
