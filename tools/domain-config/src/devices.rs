//! The devices a domain can be given by name in its `devices` list, with the physical
//! interrupt each one brings and the boards that have it.

use somnus_abi::domain_bundle::DeviceGrant;
use somnus_abi::guest_platform::RTC_SPI;

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
pub const DEVICES: &[DeviceInfo] = &[DeviceInfo {
    name: "rtc",
    grant: DeviceGrant::Rtc,
    spi: RTC_SPI,
    // The qemu-virt PL031 is passed through; the ZCU102's RTC is a different device.
    boards: &[Board::QemuVirt],
}];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtc_is_on_qemu_virt_only() {
        let rtc = find("rtc").expect("rtc is known");
        assert_eq!((rtc.grant, rtc.spi), (DeviceGrant::Rtc, 2));
        assert_eq!(names_on(Board::QemuVirt), ["rtc"]);
        assert!(names_on(Board::Zcu102).is_empty());
        assert!(find("gpio").is_none());
    }
}
