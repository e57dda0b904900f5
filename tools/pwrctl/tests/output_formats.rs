//! Snapshots of what pwrctl prints, from constructed domain statuses: the `list` table, the
//! `list --json` document (contract 6), the `show` report, the console summary and `watch` lines.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::sample_domains;
use pwrctl::json::domain_list_json;
use pwrctl::render::{domain_report, domain_table, frequency_text, seconds_text, summary_line, wake_interrupt_text};
use pwrctl::watch::{Transitions, utc_time_of_day};
use somnus_abi::ids::DomainId;
use somnus_abi::management::DomainState;

const FREQUENCY: u64 = 62_500_000;

#[test]
fn list_table() {
    let expected = "\
ID  NAME       STATE      SINCE    VCPUS                        SUSPENDS  RESUMES  LAST WAKE   RESUME µs
1   linux      suspended  12.345s  0:suspended@cpu0 1:off@cpu1  3         2        34 (rtc)    41.250
2   heartbeat  running    0.000s   0:on@cpu2                    0         0        -           -
3   rtos       paused     3.000s   0:on@cpu3                    1         1        management  7.008
(times from the hypervisor's counter at 62.5 MHz)
";
    assert_eq!(domain_table(&sample_domains(), FREQUENCY), expected);
}

#[test]
fn list_table_without_domains() {
    let expected = "\
ID  NAME  STATE  SINCE  VCPUS  SUSPENDS  RESUMES  LAST WAKE  RESUME µs
(times from the hypervisor's counter at 100 MHz)
";
    assert_eq!(domain_table(&[], 100_000_000), expected);
}

#[test]
fn list_json() {
    let calls = |version: u64, features: u64, off: u64, on: u64, suspend: u64| {
        format!(
            r#"{{"PSCI_VERSION":{version},"PSCI_FEATURES":{features},"CPU_SUSPEND":0,"CPU_OFF":{off},"CPU_ON":{on},"AFFINITY_INFO":0,"MIGRATE_INFO_TYPE":0,"SYSTEM_OFF":0,"SYSTEM_RESET":0,"SYSTEM_RESET2":0,"SYSTEM_SUSPEND":{suspend},"PSCI_STAT_RESIDENCY":0,"PSCI_STAT_COUNT":0,"SMCCC_VERSION":0,"SMCCC_ARCH_FEATURES":0,"unknown":0}}"#
        )
    };
    let linux = format!(
        r#"{{"id":1,"name":"linux","state":"suspended","since_ns":12345678901,"vcpus":[{{"id":0,"state":"suspended","pcpu":0}},{{"id":1,"state":"off","pcpu":1}}],"suspend_entry":"0x40081234","context_id":"0x0","suspend_count":3,"resume_count":2,"last_wake_interrupt":34,"last_resume_latency_us":41.25,"psci_calls":{}}}"#,
        calls(1, 4, 1, 1, 3)
    );
    let heartbeat = format!(
        r#"{{"id":2,"name":"heartbeat","state":"running","since_ns":0,"vcpus":[{{"id":0,"state":"on","pcpu":2}}],"suspend_entry":null,"context_id":null,"suspend_count":0,"resume_count":0,"last_wake_interrupt":null,"last_resume_latency_us":null,"psci_calls":{}}}"#,
        calls(1, 0, 0, 0, 0)
    );
    let rtos = format!(
        r#"{{"id":3,"name":"rtos","state":"paused","since_ns":3000000000,"vcpus":[{{"id":0,"state":"on","pcpu":3}}],"suspend_entry":"0x40000000","context_id":"0xdeadbeef","suspend_count":1,"resume_count":1,"last_wake_interrupt":"management","last_resume_latency_us":7.008,"psci_calls":{}}}"#,
        calls(0, 0, 0, 0, 0)
    );
    let expected = format!(r#"{{"domains":[{linux},{heartbeat},{rtos}]}}"#);
    assert_eq!(domain_list_json(&sample_domains()), expected);
    assert_eq!(domain_list_json(&[]), r#"{"domains":[]}"#);
}

#[test]
fn show_report() {
    let expected = "\
domain 1 \"linux\" (generation 2)
  state              suspended
  since              12.345678s
  suspend entry      0x40081234
  context id         0x0
  suspends           3
  resumes            2
  last wake          34 (rtc)
  last resume        41.250 µs (counter at 62.5 MHz)
  vCPUs              STATE      PCPU  POWER-DOWNS  RESIDENCY µs
    0                suspended  cpu0  3            1500000
    1                off        cpu1  1            4000000
  PSCI calls
    PSCI_VERSION           1
    PSCI_FEATURES          4
    CPU_SUSPEND            0
    CPU_OFF                1
    CPU_ON                 1
    AFFINITY_INFO          0
    MIGRATE_INFO_TYPE      0
    SYSTEM_OFF             0
    SYSTEM_RESET           0
    SYSTEM_RESET2          0
    SYSTEM_SUSPEND         3
    PSCI_STAT_RESIDENCY    0
    PSCI_STAT_COUNT        0
    SMCCC_VERSION          0
    SMCCC_ARCH_FEATURES    0
    unknown                0
";
    assert_eq!(domain_report(&sample_domains()[0], FREQUENCY), expected);
}

#[test]
fn show_report_of_a_domain_never_suspended() {
    let report = domain_report(&sample_domains()[1], FREQUENCY);
    let head: Vec<&str> = report.lines().take(11).collect();
    let expected = [
        "domain 2 \"heartbeat\" (generation 0)",
        "  state              running",
        "  since              0.000000s",
        "  suspend entry      -",
        "  context id         -",
        "  suspends           0",
        "  resumes            0",
        "  last wake          -",
        "  last resume        -",
        "  vCPUs              STATE      PCPU  POWER-DOWNS  RESIDENCY µs",
        "    0                on         cpu2  0            0",
    ];
    assert_eq!(head, expected);
}

#[test]
fn console_summary() {
    let expected =
        "1 linux suspended (since 12.345s), 2 heartbeat running (since 0.000s), 3 rtos paused (since 3.000s)";
    assert_eq!(summary_line(&sample_domains()), expected);
    assert_eq!(summary_line(&[]), "no domains");
}

#[test]
fn small_formats() {
    assert_eq!(wake_interrupt_text(Some(33)), "33 (uart)");
    assert_eq!(wake_interrupt_text(Some(27)), "27 (virtual timer)");
    assert_eq!(wake_interrupt_text(Some(30)), "30 (physical timer)");
    assert_eq!(wake_interrupt_text(Some(5)), "5 (SGI)");
    assert_eq!(wake_interrupt_text(Some(77)), "77");
    assert_eq!(wake_interrupt_text(Some(u32::MAX)), "management");
    assert_eq!(wake_interrupt_text(None), "-");
    assert_eq!(frequency_text(62_500_000), "62.5 MHz");
    assert_eq!(frequency_text(100_000_000), "100 MHz");
    assert_eq!(frequency_text(33_333_333), "33.333 MHz");
    assert_eq!(seconds_text(1_000_000_001, 9), "1.000000001s");
    assert_eq!(seconds_text(59_999_999_999, 3), "59.999s");
}

#[test]
fn watch_lines() {
    let domains = sample_domains();
    let mut transitions = Transitions::new(&domains);
    let linux = DomainId { index: 0, generation: 2 };
    assert_eq!(
        transitions.record(linux, DomainState::Running, 20_000_000_000),
        "hv 20.000000s  1 linux  suspended -> running"
    );
    assert_eq!(
        transitions.record(linux, DomainState::Suspended, 21_500_000_500),
        "hv 21.500000s  1 linux  running -> suspended"
    );
    let newcomer = DomainId { index: 5, generation: 0 };
    assert_eq!(transitions.record(newcomer, DomainState::Off, 1), "hv 0.000000s  6 domain6  off -> off");
    let time = UNIX_EPOCH + Duration::from_millis(((3 * 86_400 + 14 * 3600 + 3 * 60 + 22) * 1000) + 117);
    assert_eq!(utc_time_of_day(time), "14:03:22.117Z");
}
