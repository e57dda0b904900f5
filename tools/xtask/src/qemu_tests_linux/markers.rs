//! The lines the Linux tests look for: the markers the `/init` scripts of `tests/linux/` print
//! (`somnus-linux: ...`), the lines of Linux's own log, the hypervisor's lines about a domain's
//! power state, and the heartbeat's; plus how to take a console line apart into who printed it
//! and what.

/// Linux is the first domain of every Linux test (console lines `(d1) ...`).
pub const LINUX_DOMAIN: u8 = 1;

/// The bare-metal `heartbeat` beside it is the second.
pub const HEARTBEAT_DOMAIN: u8 = 2;

/// Every marker of the init scripts starts with this.
pub const MARKER: &str = "somnus-linux: ";

/// Printed first by every init script.
pub const INIT_REACHED: &str = "init reached";

/// `cpus online <list>`: the content of `/sys/devices/system/cpu/online`.
pub const CPUS_ONLINE: &str = "cpus online ";

/// `mem_sleep <states>`: the content of `/sys/power/mem_sleep`.
pub const MEM_SLEEP: &str = "mem_sleep ";

/// What `mem_sleep` must show: suspend to RAM, chosen by default.
pub const DEEP_SELECTED: &str = "[deep]";

/// `suspend <i> of <n>`: cycle `i` arms the RTC alarm and writes `mem` to `/sys/power/state`.
pub const SUSPEND: &str = "suspend ";

/// `resumed <i> of <n>, cpus online <list>`.
pub const RESUMED: &str = "resumed ";

/// After the last cycle.
pub const CYCLES_DONE: &str = "suspend cycles done";

/// Printed instead of the cycles when Linux has no RTC.
pub const NO_RTC: &str = "no RTC";

/// Printed when writing `mem` to `/sys/power/state` failed.
pub const FAILED: &str = " failed";

/// Linux's last line before PSCI SYSTEM_OFF (`poweroff -f`).
pub const POWER_DOWN: &str = "reboot: Power down";

/// Linux found the PSCI 1.1 the hypervisor offers.
pub const PSCI_DETECTED: &str = "psci: PSCIv1.1 detected in firmware";

/// The hypervisor's line when domain 1 called SYSTEM_SUSPEND and was suspended.
pub const DOMAIN_SUSPENDED: &str = "somnus: domain 1 suspended, resume at ";

/// The hypervisor's line when an interrupt resumed domain 1: `... by interrupt <INTID>`.
pub const DOMAIN_RESUMED: &str = "somnus: domain 1 resumed by interrupt ";

/// A heartbeat line: `heartbeat <count>`.
pub const HEARTBEAT: &str = "heartbeat ";

/// The virtual PL031's interrupt (SPI 2).
pub const RTC_INTID: u32 = 34;

/// The virtual PL011's interrupt (SPI 1).
pub const UART_INTID: u32 = 33;

/// The EL1 virtual timer's interrupt (PPI 11).
pub const VIRTUAL_TIMER_INTID: u32 = 27;

/// Who printed a console line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A domain, with the text after its `(dN) ` prefix.
    Domain(u8, &'a str),
    /// The hypervisor: the whole line from `somnus: ` on.
    Hypervisor(&'a str),
    /// Anything else (QEMU, a line cut in two).
    Other,
}

impl<'a> Line<'a> {
    /// Takes a console line apart.
    pub fn parse(line: &'a str) -> Self {
        if let Some(rest) = line.strip_prefix("(d")
            && let Some((number, text)) = rest.split_once(") ")
            && let Ok(domain) = number.parse()
        {
            return Self::Domain(domain, text);
        }
        match line.find(crate::qemu_tests::kernel_log::PREFIX) {
            Some(at) => Self::Hypervisor(line[at..].trim_end()),
            None => Self::Other,
        }
    }
}

/// The text of a Linux log line without its `[    1.234567] ` timestamp (other lines unchanged).
pub fn without_timestamp(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .filter(|(stamp, _)| stamp.trim_start().chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map_or(text, |(_, message)| message)
}

/// The marker in a Linux line, without `somnus-linux: `.
pub fn marker(text: &str) -> Option<&str> {
    text.strip_prefix(MARKER)
}

/// The INTID of a hypervisor resume line of domain 1 (which may end in a note such as
/// ` (3 similar lines left out)`).
pub fn resumed_by(line: &str) -> Option<u32> {
    let rest = line.strip_prefix(DOMAIN_RESUMED)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// `/sys/devices/system/cpu/online` of a domain whose `vcpus` are all on: `0`, `0-1`, `0-3`.
pub fn all_online(vcpus: u8) -> String {
    match vcpus {
        0 | 1 => "0".to_owned(),
        many => format!("0-{}", many - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_taken_apart() {
        assert_eq!(Line::parse("(d1) [    0.1] psci: x"), Line::Domain(1, "[    0.1] psci: x"));
        assert_eq!(Line::parse("(d12) a) b"), Line::Domain(12, "a) b"));
        assert_eq!(Line::parse("(d2) "), Line::Domain(2, ""));
        assert_eq!(Line::parse("somnus: domain 1 suspended\r"), Line::Hypervisor("somnus: domain 1 suspended"));
        assert_eq!(Line::parse("noise somnus: ready"), Line::Hypervisor("somnus: ready"));
        assert_eq!(Line::parse("(dx) somnus"), Line::Other);
        assert_eq!(Line::parse("[qemu] hello"), Line::Other);
    }

    #[test]
    fn timestamps_are_dropped() {
        assert_eq!(
            without_timestamp("[    1.674088] psci: CPU1 killed (polled 0 ms)"),
            "psci: CPU1 killed (polled 0 ms)"
        );
        assert_eq!(without_timestamp("[12345.000001] x"), "x");
        assert_eq!(without_timestamp("somnus-linux: init reached"), "somnus-linux: init reached");
        assert_eq!(without_timestamp("[deep] s2idle"), "[deep] s2idle");
    }

    #[test]
    fn markers_and_wake_ups() {
        assert_eq!(marker("somnus-linux: suspend 1 of 20"), Some("suspend 1 of 20"));
        assert_eq!(marker("[ 1.0] somnus-linux: x"), None);
        assert_eq!(resumed_by("somnus: domain 1 resumed by interrupt 34"), Some(34));
        assert_eq!(resumed_by("somnus: domain 1 resumed by interrupt 27 (2 similar lines left out)"), Some(27));
        assert_eq!(resumed_by("somnus: domain 1 resumed by a wake request"), None);
        assert_eq!(resumed_by("somnus: domain 2 resumed by interrupt 34"), None);
    }

    #[test]
    fn online_lists() {
        assert_eq!(all_online(1), "0");
        assert_eq!(all_online(2), "0-1");
        assert_eq!(all_online(4), "0-3");
    }

    #[test]
    fn the_suspend_script_prints_these_markers() {
        let path = crate::paths::repo_root().join("tests/linux/suspend.init");
        let script = std::fs::read_to_string(&path).unwrap();
        assert!(script.contains(&format!("echo \"{MARKER}$*\"")), "{}", path.display());
        for text in [INIT_REACHED, CPUS_ONLINE, MEM_SLEEP, SUSPEND, RESUMED, CYCLES_DONE, NO_RTC] {
            assert!(script.contains(&format!("say \"{text}")), "{text}");
        }
        assert!(script.contains(&format!("say \"{SUSPEND}$i of $cycles\"")));
        assert!(
            script.contains(&format!(
                "say \"{RESUMED}$i of $cycles, {CPUS_ONLINE}$(cat /sys/devices/system/cpu/online)\""
            ))
        );
        assert!(script.contains(&format!("say \"{SUSPEND}$i{FAILED}\"")));
        assert!(script.contains("somnus.cycles=*"));
    }
}
