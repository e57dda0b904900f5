//! Building domains at boot from the bundle the board carries: host memory, stage-2 translation,
//! kernel/initrd/device-tree copies, vCPUs pinned and vCPU 0 started at the kernel's entry.

use somnus_abi::domain_bundle::{self, BundleHeader, DomainImage, MAX_DEVICES, MAX_NAME_LENGTH};
use somnus_abi::guest_platform::{GICV2_CPU_INTERFACE, MAX_VCPUS, RAM_BASE};
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::Message;
use spin::{Mutex, Once};

use crate::arch::aarch64::stage2::{self, Stage2, Stage2Error};
use crate::arch::aarch64::vcpu_switch::DomainRegisters;
use crate::arch::aarch64::{mmu, vcpu_table};
use crate::board::PassthroughDevice;
use crate::interrupt_delivery;
use crate::memory_map::LEVEL2_BLOCK_SIZE;
use crate::platform::{GicInfo, PlatformInfo};
use crate::run_loop::SCHEDULER;
use crate::scheduler::MAX_DOMAINS;
use crate::scheduler::{RunState, slot_of};
use crate::{println, services};

/// Hands out host RAM for guests, 2 MiB aligned, above the hypervisor image.
struct GuestMemoryAllocator {
    next: u64,
    end: u64,
}

impl GuestMemoryAllocator {
    fn new(platform: &PlatformInfo) -> Self {
        let (_, image_end) = mmu::image_range();
        let region = platform.ram_regions().iter().find(|region| region.contains(image_end.saturating_sub(1)));
        let next = image_end.next_multiple_of(LEVEL2_BLOCK_SIZE);
        Self { next, end: region.map_or(next, |region| region.end() & !(LEVEL2_BLOCK_SIZE - 1)) }
    }

    fn allocate(&mut self, size: u64) -> Option<u64> {
        let start = self.next;
        let end = start.checked_add(size.next_multiple_of(LEVEL2_BLOCK_SIZE))?;
        (end <= self.end).then(|| {
            self.next = end;
            start
        })
    }
}

/// Builds every domain of `bundle`; returns how many started.
#[must_use]
pub fn build_all(bundle: &'static [u8], platform: &PlatformInfo, passthrough: &'static [PassthroughDevice]) -> usize {
    BUNDLE.call_once(|| bundle);
    PASSTHROUGH.call_once(|| passthrough);
    let header: BundleHeader = match domain_bundle::decode(bundle) {
        Ok(header) => header,
        Err(error) => {
            println!("somnus: the domain bundle is unusable ({error:?}); no domain started");
            return 0;
        }
    };
    let mut allocator = GuestMemoryAllocator::new(platform);
    let mut started = 0;
    for (index, image) in header.domains.iter().enumerate() {
        let id = DomainId { index: index as u8, generation: 1 };
        match build(id, image, bundle, platform, passthrough, &mut allocator) {
            Ok(()) => started += 1,
            Err(reason) => println!("somnus: domain {} \"{}\" not started: {reason}", index + 1, image.name),
        }
    }
    started
}

/// The guest's CPU interface: GICv2's virtual CPU interface frame mapped where the guest expects
/// GICC (both 4 KiB pages, wherever the SoC puts the second); nothing for GICv3 (system registers).
fn map_interrupt_controller(translation: Stage2, platform: &PlatformInfo) -> Result<(), Stage2Error> {
    if let GicInfo::V2 { virtual_cpu_interface: Some(host), second_page_offset, .. } = platform.gic {
        translation.map_device_page(GICV2_CPU_INTERFACE.0, host.0)?;
        translation.map_device_page(GICV2_CPU_INTERFACE.0 + 0x1000, host.0 + second_page_offset)?;
    }
    Ok(())
}

/// The board devices the image names, each granted to at most one domain, never the
/// hypervisor's own console (a device tree may make a board's usual spare UART the console).
fn granted_devices(
    image: &DomainImage,
    passthrough: &[PassthroughDevice],
    platform: &PlatformInfo,
) -> Result<heapless::Vec<PassthroughDevice, MAX_DEVICES>, &'static str> {
    let mut devices = heapless::Vec::new();
    for grant in &image.devices {
        let device = passthrough
            .iter()
            .find(|device| device.grant == *grant)
            .ok_or("a device is not available on this board")?;
        if device.host_frame.0 == platform.uart.base.0 & !0xFFF {
            return Err("a device is the hypervisor's console UART");
        }
        if interrupt_delivery::owner_of(device.intid).is_some() {
            return Err("a device is already given to another domain");
        }
        devices.push(*device).map_err(|_| "too many devices")?;
    }
    Ok(devices)
}

/// What the kernel keeps of a built domain, to restart it from scratch (SYSTEM_RESET).
#[derive(Clone, Debug)]
pub struct DomainSlot {
    /// Identity and current generation.
    pub id: DomainId,
    /// Configured name.
    pub name: heapless::String<MAX_NAME_LENGTH>,
    /// Host RAM backing it.
    pub host: u64,
    /// Its size.
    pub size: u64,
    /// Stage-2 translation.
    pub translation: Stage2,
    /// Physical CPU of each vCPU.
    pub pcpus: [usize; MAX_VCPUS],
    /// Number of vCPUs.
    pub vcpu_count: usize,
}

/// Every built domain, by slot index.
pub static DOMAINS: Mutex<[Option<DomainSlot>; MAX_DOMAINS]> = Mutex::new([const { None }; MAX_DOMAINS]);
/// The bundle the domains come from.
static BUNDLE: Once<&'static [u8]> = Once::new();
/// The devices of the board that can be passed through.
static PASSTHROUGH: Once<&'static [PassthroughDevice]> = Once::new();

fn build(
    id: DomainId,
    image: &DomainImage,
    bundle: &'static [u8],
    platform: &PlatformInfo,
    passthrough: &[PassthroughDevice],
    allocator: &mut GuestMemoryAllocator,
) -> Result<(), &'static str> {
    let size = image.memory_bytes;
    if size == 0 || !size.is_multiple_of(LEVEL2_BLOCK_SIZE) {
        return Err("memory size is not a non-zero multiple of 2 MiB");
    }
    let vcpu_count = usize::from(image.vcpu_count);
    if vcpu_count == 0 || vcpu_count > MAX_VCPUS {
        return Err("vCPU count out of range");
    }
    let pcpu_of = |vcpu: usize| image.pcpus.get(vcpu).map_or(vcpu % platform.cpu_count, |&pcpu| usize::from(pcpu));
    if (0..vcpu_count).any(|vcpu| pcpu_of(vcpu) >= platform.cpu_count) {
        return Err("a vCPU is pinned to a physical CPU that does not exist");
    }
    let devices = granted_devices(image, passthrough, platform)?;
    let host = allocator.allocate(size).ok_or("not enough host memory left")?;
    let translation = Stage2::new().map_err(|_| "out of stage-2 tables")?;
    translation.map_ram(RAM_BASE.0, host, size).map_err(|_| "stage-2 mapping failed")?;
    map_interrupt_controller(translation, platform).map_err(|_| "stage-2 mapping of the GIC failed")?;
    for device in &devices {
        translation
            .map_device_page(device.guest_frame.0, device.host_frame.0)
            .map_err(|_| "stage-2 mapping of a device failed")?;
    }
    let mut pcpus = [0; MAX_VCPUS];
    for (vcpu, pcpu) in pcpus.iter_mut().enumerate().take(vcpu_count) {
        *pcpu = pcpu_of(vcpu);
    }
    let slot = DomainSlot { id, name: image.name.clone(), host, size, translation, pcpus, vcpu_count };
    start_generation(&slot, image, bundle, platform, &devices)?;
    DOMAINS.lock()[id.index as usize] = Some(slot.clone());
    println!(
        "somnus: domain {} \"{}\": {} vCPU(s), {} MiB at {host:#x}, entry {}",
        id.index + 1,
        image.name,
        vcpu_count,
        size >> 20,
        image.entry
    );
    Ok(())
}

/// Loads a pristine copy of the domain's image into its memory and starts its vCPU 0: the same
/// path for the first boot and every SYSTEM_RESET. The caller guarantees no vCPU of the domain
/// is on a CPU.
fn start_generation(
    slot: &DomainSlot,
    image: &DomainImage,
    bundle: &'static [u8],
    platform: &PlatformInfo,
    devices: &[PassthroughDevice],
) -> Result<(), &'static str> {
    load(image, bundle, slot.host, slot.size, platform)?;
    let vmid = slot.id.index + 1;
    // Each generation's virtual counter starts near zero, as on a machine just powered on.
    let counter_offset = crate::arch::aarch64::hypervisor_timer::now();
    let domain_registers = |vcpu: usize| DomainRegisters {
        vttbr: slot.translation.vttbr(vmid),
        vmpidr: (1 << 31) | vcpu as u64,
        counter_offset,
    };
    stage2::invalidate_vmid(slot.translation.vttbr(vmid));
    let mut scheduler = SCHEDULER.lock();
    for vcpu in 0..slot.vcpu_count {
        let vcpu_id = VcpuId { domain: slot.id, index: vcpu as u8 };
        scheduler.add(vcpu_id, slot.pcpus[vcpu]).map_err(|_| "scheduler refused a vCPU")?;
        interrupt_delivery::clear(vcpu_id);
        // SAFETY: the vCPU is off and not loaded on any CPU, so nobody else touches its slot.
        unsafe {
            *vcpu_table::domain_registers(slot_of(vcpu_id)) = domain_registers(vcpu);
            vcpu_table::context(slot_of(vcpu_id)).reset_at(0, 0);
        }
    }
    let boot_vcpu = VcpuId { domain: slot.id, index: 0 };
    // SAFETY: as above.
    unsafe { vcpu_table::context(slot_of(boot_vcpu)).reset_at(image.entry.0, image.device_tree_address.0) };
    let first_pcpu = slot.pcpus[0];
    drop(scheduler);
    // The services learn of the new generation before its vCPU 0 can run: its first call or
    // access then always finds the domain known (each mailbox is in order).
    services::registry().broadcast(
        &Message::DomainStarted { domain: slot.id, vcpu_count: image.vcpu_count, memory_bytes: slot.size },
        services::run_on_service_stack,
        &mut services::apply_action,
    );
    for device in devices {
        interrupt_delivery::grant(slot.id, device.intid);
    }
    SCHEDULER.lock().set_state(boot_vcpu, RunState::Runnable);
    if first_pcpu != crate::arch::aarch64::cpu::index() {
        crate::interrupts::kick(first_pcpu);
    }
    Ok(())
}

/// Restarts the domain in `index` as a new generation from its pristine image. Every vCPU of the
/// old generation must already be off and off every CPU.
pub fn restart(index: u8) -> Result<DomainId, &'static str> {
    let mut slot = DOMAINS.lock().get(index as usize).cloned().flatten().ok_or("no such domain")?;
    let bundle = BUNDLE.get().copied().ok_or("no bundle")?;
    let header = domain_bundle::decode(bundle).map_err(|_| "the bundle is unusable")?;
    let image = header.domains.get(index as usize).ok_or("the domain is not in the bundle")?;
    let platform = crate::boot::platform();
    let passthrough = PASSTHROUGH.get().copied().unwrap_or(&[]);
    let devices = passthrough.iter().filter(|device| image.devices.contains(&device.grant)).copied();
    let devices: heapless::Vec<PassthroughDevice, MAX_DEVICES> = devices.collect();
    slot.id.generation = slot.id.generation.wrapping_add(1);
    start_generation(&slot, image, bundle, platform, &devices)?;
    DOMAINS.lock()[index as usize] = Some(slot.clone());
    println!("somnus: domain {} \"{}\" restarted (generation {})", index + 1, image.name, slot.id.generation);
    Ok(slot.id)
}

/// Fills the domain's RAM: zeros, then the kernel and initrd chunks, then the device tree that
/// matches the machine's GIC; cleans it to the point of coherency for a guest running uncached.
fn load(
    image: &DomainImage,
    bundle: &'static [u8],
    host: u64,
    size: u64,
    platform: &PlatformInfo,
) -> Result<(), &'static str> {
    // SAFETY: [host, host + size) was just allocated for this domain from RAM the hypervisor owns
    // and maps; nothing else refers to it.
    let memory = unsafe { core::slice::from_raw_parts_mut(host as *mut u8, size as usize) };
    memory.fill(0);
    let device_tree = if platform.gic.version() == 3 { image.device_tree_gicv3 } else { image.device_tree_gicv2 };
    let chunks = image.loads.iter().map(|chunk| (chunk.address.0, chunk.blob, chunk.zero_fill)).chain([(
        image.device_tree_address.0,
        device_tree,
        0,
    )]);
    for (address, blob, zero_fill) in chunks {
        let bytes = domain_bundle::blob_bytes(bundle, blob).map_err(|_| "a blob lies outside the bundle")?;
        let start = usize::try_from(address.wrapping_sub(RAM_BASE.0)).map_err(|_| "a load address is out of range")?;
        let end = start
            .checked_add(bytes.len())
            .and_then(|end| end.checked_add(usize::try_from(zero_fill).ok()?))
            .filter(|&end| end <= memory.len())
            .ok_or("a kernel, initrd or device tree does not fit the domain's memory")?;
        memory[start..start + bytes.len()].copy_from_slice(bytes);
        memory[start + bytes.len()..end].fill(0);
    }
    clean_to_point_of_coherency(host, size);
    Ok(())
}

fn clean_to_point_of_coherency(start: u64, size: u64) {
    for line in (start..start + size).step_by(64) {
        // SAFETY: cleaning a cache line by address has no effect on memory contents.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) line, options(nostack)) };
    }
    // SAFETY: barriers and instruction-cache invalidation have no memory-safety effect.
    unsafe { core::arch::asm!("dsb sy", "ic ialluis", "dsb ish", "isb", options(nostack)) };
}
