//! Text output: the `list` table, the `show` report and the one-line summary of `console`.

use std::fmt::Write as _;

use somnus_abi::guest_platform::{RTC_SPI, TIMER_PPIS, UART_SPI};
use somnus_abi::management::{DomainState, DomainStatus, PSCI_COUNTER_NAMES, VcpuState};

/// `last_wake_intid` of a wake-up asked for by management (`pwrctl wake`).
pub const MANAGEMENT_WAKE: u32 = u32::MAX;
/// First shared peripheral interrupt (SPI) INTID.
const FIRST_SPI: u32 = 32;
/// First private peripheral interrupt (PPI) INTID.
const FIRST_PPI: u32 = 16;

/// A domain state as users read it (and as `list --json` spells it).
#[must_use]
pub fn domain_state_name(state: DomainState) -> &'static str {
    match state {
        DomainState::Running => "running",
        DomainState::Paused => "paused",
        DomainState::Suspended => "suspended",
        DomainState::Off => "off",
        DomainState::Crashed => "crashed",
    }
}

/// A vCPU state as users read it.
#[must_use]
pub fn vcpu_state_name(state: VcpuState) -> &'static str {
    match state {
        VcpuState::On => "on",
        VcpuState::Off => "off",
        VcpuState::Suspended => "suspended",
    }
}

/// The device behind a guest-platform interrupt, when it is known.
#[must_use]
pub fn interrupt_device(intid: u32) -> Option<&'static str> {
    let [secure_physical, physical, virtual_timer, hypervisor] = TIMER_PPIS.map(|ppi| ppi + FIRST_PPI);
    match intid {
        _ if intid == FIRST_SPI + UART_SPI => Some("uart"),
        _ if intid == FIRST_SPI + RTC_SPI => Some("rtc"),
        _ if intid == virtual_timer => Some("virtual timer"),
        _ if intid == physical || intid == secure_physical || intid == hypervisor => Some("physical timer"),
        0..FIRST_PPI => Some("SGI"),
        _ => None,
    }
}

/// A wake-up interrupt: `34 (rtc)`, `management` for `pwrctl wake`, `-` if none yet.
#[must_use]
pub fn wake_interrupt_text(intid: Option<u32>) -> String {
    match intid {
        None => "-".to_owned(),
        Some(MANAGEMENT_WAKE) => "management".to_owned(),
        Some(intid) => match interrupt_device(intid) {
            Some(device) => format!("{intid} ({device})"),
            None => intid.to_string(),
        },
    }
}

/// Nanoseconds as microseconds with three decimals (`41.250`).
#[must_use]
pub fn microseconds_text(nanoseconds: u64) -> String {
    format!("{}.{:03}", nanoseconds / 1000, nanoseconds % 1000)
}

/// Nanoseconds as seconds with `decimals` (3, 6 or 9) decimals.
#[must_use]
pub fn seconds_text(nanoseconds: u64, decimals: u32) -> String {
    let divisor = 10u64.pow(9 - decimals.min(9));
    let fraction = (nanoseconds % 1_000_000_000) / divisor;
    format!("{}.{fraction:0width$}s", nanoseconds / 1_000_000_000, width = decimals as usize)
}

/// A counter frequency: `62.5 MHz`.
#[must_use]
pub fn frequency_text(hertz: u64) -> String {
    let kilohertz = hertz / 1000;
    let text = format!("{}.{:03}", kilohertz / 1000, kilohertz % 1000);
    format!("{} MHz", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A domain's vCPUs: `0:on@cpu0 1:off@cpu1`.
#[must_use]
pub fn vcpus_text(domain: &DomainStatus) -> String {
    let vcpus: Vec<String> = domain
        .vcpus
        .iter()
        .map(|vcpu| format!("{}:{}@cpu{}", vcpu.index, vcpu_state_name(vcpu.state), vcpu.pcpu))
        .collect();
    vcpus.join(" ")
}

/// The number users name a domain by (slot index + 1).
#[must_use]
pub fn domain_number(domain: &DomainStatus) -> u16 {
    u16::from(domain.id.index) + 1
}

/// The `list` table: one row per domain, columns aligned, then the counter frequency.
#[must_use]
pub fn domain_table(domains: &[DomainStatus], timer_frequency: u64) -> String {
    let header = ["ID", "NAME", "STATE", "SINCE", "VCPUS", "SUSPENDS", "RESUMES", "LAST WAKE", "RESUME µs"];
    let mut rows = vec![header.map(str::to_owned)];
    for domain in domains {
        rows.push([
            domain_number(domain).to_string(),
            domain.name.as_str().to_owned(),
            domain_state_name(domain.state).to_owned(),
            seconds_text(domain.since_ns, 3),
            vcpus_text(domain),
            domain.suspend_count.to_string(),
            domain.resume_count.to_string(),
            wake_interrupt_text(domain.last_wake_intid),
            domain.last_resume_latency_ns.map_or_else(|| "-".to_owned(), microseconds_text),
        ]);
    }
    let mut widths = [0; 9];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        table.push_str(line.trim_end());
        table.push('\n');
    }
    let _ = writeln!(table, "(times from the hypervisor's counter at {})", frequency_text(timer_frequency));
    table
}

/// The `show` report: every field of one domain.
#[must_use]
pub fn domain_report(domain: &DomainStatus, timer_frequency: u64) -> String {
    let hex = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |value| format!("{value:#x}"));
    let mut report = String::new();
    let _ =
        writeln!(report, "domain {} \"{}\" (generation {})", domain_number(domain), domain.name, domain.id.generation);
    let _ = writeln!(report, "  state              {}", domain_state_name(domain.state));
    let _ = writeln!(report, "  since              {}", seconds_text(domain.since_ns, 6));
    let _ = writeln!(report, "  suspend entry      {}", hex(domain.suspend_entry));
    let _ = writeln!(report, "  context id         {}", hex(domain.suspend_context_id));
    let _ = writeln!(report, "  suspends           {}", domain.suspend_count);
    let _ = writeln!(report, "  resumes            {}", domain.resume_count);
    let _ = writeln!(report, "  last wake          {}", wake_interrupt_text(domain.last_wake_intid));
    let latency = domain.last_resume_latency_ns.map_or_else(
        || "-".to_owned(),
        |nanoseconds| format!("{} µs (counter at {})", microseconds_text(nanoseconds), frequency_text(timer_frequency)),
    );
    let _ = writeln!(report, "  last resume        {latency}");
    let _ = writeln!(report, "  vCPUs              STATE      PCPU  POWER-DOWNS  RESIDENCY µs");
    for vcpu in &domain.vcpus {
        let _ = writeln!(
            report,
            "    {:<16} {:<10} cpu{:<2} {:<12} {}",
            vcpu.index,
            vcpu_state_name(vcpu.state),
            vcpu.pcpu,
            vcpu.power_down_count,
            vcpu.power_down_residency_us
        );
    }
    let _ = writeln!(report, "  PSCI calls");
    for (name, count) in PSCI_COUNTER_NAMES.iter().zip(domain.calls) {
        let _ = writeln!(report, "    {name:<22} {count}");
    }
    report
}

/// One line for `console`: `1 linux running, 2 rtos suspended (since 12.345s)`.
#[must_use]
pub fn summary_line(domains: &[DomainStatus]) -> String {
    if domains.is_empty() {
        return "no domains".to_owned();
    }
    let parts: Vec<String> = domains
        .iter()
        .map(|domain| {
            format!(
                "{} {} {} (since {})",
                domain_number(domain),
                domain.name,
                domain_state_name(domain.state),
                seconds_text(domain.since_ns, 3)
            )
        })
        .collect();
    parts.join(", ")
}
