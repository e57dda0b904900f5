//! The services every Somnus board runs, with their routes; shared by the board crates through
//! `#[path]` so that the composition is written once.

use somnus_abi::guest_platform::{
    DEVICE_FRAME_SIZE, GIC_DISTRIBUTOR, GIC_DISTRIBUTOR_SIZE, GICV3_REDISTRIBUTOR_STRIDE, GICV3_REDISTRIBUTORS,
    MAX_VCPUS, RTC, UART,
};
use somnus_kernel::arch::aarch64::hypervisor_timer;
use somnus_kernel::platform::{GicInfo, PlatformInfo};
use somnus_kernel::service_host::{Route, ServiceRegistry};
use somnus_service_psci::PsciService;
use somnus_service_vgic::{GicVersion, VgicService};
use somnus_service_virtual_rtc::VirtualRtcService;
use somnus_service_virtual_uart::VirtualUartService;
use static_cell::StaticCell;

/// Creates the PSCI, vGIC, virtual UART and virtual RTC services for this machine and registers them.
pub fn register(registry: &mut ServiceRegistry, platform: &PlatformInfo) {
    static PSCI: StaticCell<PsciService> = StaticCell::new();
    static VGIC: StaticCell<VgicService> = StaticCell::new();
    static UART_SERVICE: StaticCell<VirtualUartService> = StaticCell::new();
    static RTC_SERVICE: StaticCell<VirtualRtcService> = StaticCell::new();

    // Guests see the GIC version the machine has: the hardware virtualizes its CPU interface.
    let distributor = Route::Mmio { base: GIC_DISTRIBUTOR, size: GIC_DISTRIBUTOR_SIZE };
    let redistributors =
        Route::Mmio { base: GICV3_REDISTRIBUTORS, size: MAX_VCPUS as u64 * GICV3_REDISTRIBUTOR_STRIDE };
    let (version, gic_routes): (_, &[Route]) = match platform.gic {
        GicInfo::V2 { .. } => (GicVersion::V2, &[distributor, Route::Interrupts]),
        GicInfo::V3 { .. } => (GicVersion::V3, &[distributor, redistributors, Route::Interrupts]),
    };
    let registered = registry.add(PSCI.init(PsciService::new()), &[Route::Calls, Route::PowerEvents])
        && registry.add(VGIC.init(VgicService::new(version)), gic_routes)
        && registry.add(
            UART_SERVICE.init(VirtualUartService::new()),
            &[Route::Mmio { base: UART, size: DEVICE_FRAME_SIZE }, Route::ConsoleInput],
        )
        && registry.add(
            RTC_SERVICE.init(VirtualRtcService::new(epoch_seconds())),
            &[Route::Mmio { base: RTC, size: DEVICE_FRAME_SIZE }, Route::Alarm],
        );
    assert!(registered, "the service registry has room for the board's services");
}

/// The wall-clock time (seconds since 1970) at monotonic time 0, for the guests' RTCs.
fn epoch_seconds() -> u32 {
    let since_boot = hypervisor_timer::now_ns() / 1_000_000_000;
    crate::wall_clock::seconds().wrapping_sub(since_boot as u32)
}
