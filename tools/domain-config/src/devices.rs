//! The devices a domain can be given by name in its `devices` list, with the physical
//! interrupt each one brings and the boards that have it.

use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform::{CADENCE_UART1_SPI, RTC_SPI};

use crate::host::Board;

/// A device a configuration can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name used in `devices = [...]`.
    pub name: &'static str,
    /// What the bundle records for it.
    pub grant: DeviceGrant,
    /// The shared peripheral interrupt (INTID - 32) it raises; one domain at most may have it.
    pub spi: u32,
    /// Boards on which it exists.
    pub boards: &'static [Board],
}

/// Every device a configuration can name.
pub const DEVICES: &[DeviceInfo] = &[
    DeviceInfo {
        name: "rtc",
        grant: DeviceGrant::Rtc,
        spi: RTC_SPI,
        // The qemu-virt PL031 is passed through; the ZCU102's RTC is a different device.
        boards: &[Board::QemuVirt],
    },
    DeviceInfo {
        name: "uart1",
        grant: DeviceGrant::Uart1,
        spi: CADENCE_UART1_SPI,
        // The ZynqMP's second Cadence UART; qemu-virt has a single non-secure UART.
        boards: &[Board::Zcu102],
    },
];

/// The device called `name`, on any board.
#[must_use]
pub fn find(name: &str) -> Option<&'static DeviceInfo> {
    DEVICES.iter().find(|device| device.name == name)
}

/// Names of the devices `board` has, for messages.
#[must_use]
pub fn names_on(board: Board) -> Vec<&'static str> {
    DEVICES.iter().filter(|device| device.boards.contains(&board)).map(|device| device.name).collect()
}

impl DeviceInfo {
    /// The boards that have it, for messages: `zcu102`, or `qemu-virt and zcu102`.
    #[must_use]
    pub fn board_names(&self) -> String {
        let names: Vec<&str> = self.boards.iter().map(|board| board.name()).collect();
        names.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtc_is_on_qemu_virt_only() {
        let rtc = find("rtc").expect("rtc is known");
        assert_eq!((rtc.grant, rtc.spi), (DeviceGrant::Rtc, 2));
        assert_eq!(names_on(Board::QemuVirt), ["rtc"]);
        assert_eq!(rtc.board_names(), "qemu-virt");
        assert!(find("gpio").is_none());
    }

    #[test]
    fn uart1_is_on_zcu102_only_with_spi_22() {
        let uart1 = find("uart1").expect("uart1 is known");
        assert_eq!((uart1.grant, uart1.spi), (DeviceGrant::Uart1, 22));
        assert_eq!(names_on(Board::Zcu102), ["uart1"]);
        assert_eq!(uart1.board_names(), "zcu102");
    }

    #[test]
    fn uart1_lies_above_the_ram_of_any_zcu102_domain() {
        use somnus_abi::guest_platform::{CADENCE_UART1, RAM_BASE};
        let largest_ram_end = RAM_BASE.as_u64() + crate::host::Host::new(Board::Zcu102, 4).guest_ram_bytes;
        assert!(largest_ram_end <= CADENCE_UART1.as_u64(), "{largest_ram_end:#x}");
    }

    #[test]
    fn names_are_unique_and_no_two_devices_of_a_board_share_an_interrupt() {
        for (index, device) in DEVICES.iter().enumerate() {
            for other in &DEVICES[index + 1..] {
                assert_ne!(device.name, other.name);
                let same_board = device.boards.iter().any(|board| other.boards.contains(board));
                assert!(!same_board || device.spi != other.spi, "{} and {}", device.name, other.name);
            }
        }
    }
}
