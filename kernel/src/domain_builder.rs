//! Building domains at boot from the bundle the board carries: host memory, stage-2 translation,
//! kernel/initrd/device-tree copies, vCPUs pinned and vCPU 0 started at the kernel's entry.

use somnus_abi::domain_bundle::{self, BundleHeader, DomainImage};
use somnus_abi::guest_platform::RAM_BASE;
use somnus_abi::ids::{DomainId, VcpuId};
use somnus_abi::ipc::Message;

use crate::arch::aarch64::stage2::{self, Stage2};
use crate::arch::aarch64::vcpu_switch::{self, DomainRegisters};
use crate::arch::aarch64::{mmu, vcpu_table};
use crate::memory_map::LEVEL2_BLOCK_SIZE;
use crate::platform::PlatformInfo;
use crate::run_loop::SCHEDULER;
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
pub fn build_all(bundle: &'static [u8], platform: &PlatformInfo) -> usize {
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
        match build(id, image, bundle, platform, &mut allocator) {
            Ok(()) => started += 1,
            Err(reason) => println!("somnus: domain {} \"{}\" not started: {reason}", index + 1, image.name),
        }
    }
    started
}

fn build(
    id: DomainId,
    image: &DomainImage,
    bundle: &'static [u8],
    platform: &PlatformInfo,
    allocator: &mut GuestMemoryAllocator,
) -> Result<(), &'static str> {
    let size = image.memory_bytes;
    if size == 0 || !size.is_multiple_of(LEVEL2_BLOCK_SIZE) {
        return Err("memory size is not a non-zero multiple of 2 MiB");
    }
    let vcpu_count = usize::from(image.vcpu_count);
    if vcpu_count == 0 || vcpu_count > somnus_abi::guest_platform::MAX_VCPUS {
        return Err("vCPU count out of range");
    }
    let pcpu_of = |vcpu: usize| image.pcpus.get(vcpu).map_or(vcpu % platform.cpu_count, |&pcpu| usize::from(pcpu));
    if (0..vcpu_count).any(|vcpu| pcpu_of(vcpu) >= platform.cpu_count) {
        return Err("a vCPU is pinned to a physical CPU that does not exist");
    }
    let host = allocator.allocate(size).ok_or("not enough host memory left")?;
    load(image, bundle, host, size, platform)?;
    let translation = Stage2::new().map_err(|_| "out of stage-2 tables")?;
    translation.map_ram(RAM_BASE.0, host, size).map_err(|_| "stage-2 mapping failed")?;
    let vmid = id.index + 1;
    let domain_registers = |vcpu: usize| DomainRegisters {
        vttbr: translation.vttbr(vmid),
        vmpidr: (1 << 31) | vcpu as u64,
        counter_offset: 0,
    };
    vcpu_switch::load_domain(&domain_registers(0));
    stage2::invalidate_current_vmid();
    let mut scheduler = SCHEDULER.lock();
    for vcpu in 0..vcpu_count {
        let vcpu_id = VcpuId { domain: id, index: vcpu as u8 };
        scheduler.add(vcpu_id, pcpu_of(vcpu)).map_err(|_| "scheduler refused a vCPU")?;
        // SAFETY: the vCPU is not runnable yet, so no other CPU touches its slot.
        unsafe {
            *vcpu_table::domain_registers(slot_of(vcpu_id)) = domain_registers(vcpu);
            vcpu_table::context(slot_of(vcpu_id)).reset_at(0, 0);
        }
    }
    let boot_vcpu = VcpuId { domain: id, index: 0 };
    // SAFETY: as above.
    unsafe { vcpu_table::context(slot_of(boot_vcpu)).reset_at(image.entry.0, image.device_tree_address.0) };
    scheduler.set_state(boot_vcpu, RunState::Runnable);
    drop(scheduler);
    services::registry().broadcast(
        Message::DomainStarted { domain: id, vcpu_count: image.vcpu_count },
        services::run_on_service_stack,
        &mut services::apply_action,
    );
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
