//! Per-INTID storage split the way the GIC banks it: SGIs and PPIs (INTIDs 0 to 31) once per vCPU,
//! SPIs once per domain. Accessors take the banked vCPU and the INTID; an INTID past the supported
//! ones or a vCPU past the maximum reads as zero and ignores writes, so no guest value can index
//! out of bounds.

use crate::limits::{MAX_VCPUS, PRIVATE_COUNT, SPI_COUNT, SPI_WORDS, spi_index};

/// One bit per INTID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterruptBits {
    private: [u32; MAX_VCPUS],
    shared: [u32; SPI_WORDS],
}

impl InterruptBits {
    /// Every bit clear.
    pub const fn new() -> Self {
        Self { private: [0; MAX_VCPUS], shared: [0; SPI_WORDS] }
    }

    /// Every bit set (SPIs and every vCPU's SGIs and PPIs).
    pub const fn all_set() -> Self {
        Self { private: [u32::MAX; MAX_VCPUS], shared: [u32::MAX; SPI_WORDS] }
    }

    /// The bit of `intid`, banked for `vcpu` if private.
    pub fn get(&self, vcpu: u8, intid: u32) -> bool {
        self.word(vcpu, intid / 32) & (1 << (intid % 32)) != 0
    }

    /// Sets or clears the bit of `intid`, banked for `vcpu` if private.
    pub fn set(&mut self, vcpu: u8, intid: u32, value: bool) {
        if let Some(word) = self.word_mut(vcpu, intid / 32) {
            let bit = 1 << (intid % 32);
            if value {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    /// Word `index` (INTIDs `32 * index` to `32 * index + 31`); word 0 is `vcpu`'s bank.
    pub fn word(&self, vcpu: u8, index: u32) -> u32 {
        match index {
            0 => self.private.get(usize::from(vcpu)).copied().unwrap_or(0),
            _ => self.shared.get(index as usize - 1).copied().unwrap_or(0),
        }
    }

    /// Word `index` for writing, if it exists.
    pub fn word_mut(&mut self, vcpu: u8, index: u32) -> Option<&mut u32> {
        match index {
            0 => self.private.get_mut(usize::from(vcpu)),
            _ => self.shared.get_mut(index as usize - 1),
        }
    }

    /// The set SPIs, as INTIDs.
    pub fn shared_intids(&self) -> impl Iterator<Item = u32> + '_ {
        (PRIVATE_COUNT..PRIVATE_COUNT + SPI_COUNT).filter(|&intid| self.get(0, intid))
    }

    /// Whether any SPI bit is set.
    pub fn any_shared(&self) -> bool {
        self.shared.iter().any(|&word| word != 0)
    }
}

/// One byte per INTID (priorities).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterruptBytes {
    private: [[u8; PRIVATE_COUNT as usize]; MAX_VCPUS],
    shared: [u8; SPI_COUNT as usize],
}

impl InterruptBytes {
    /// Every byte zero.
    pub const fn new() -> Self {
        Self { private: [[0; PRIVATE_COUNT as usize]; MAX_VCPUS], shared: [0; SPI_COUNT as usize] }
    }

    /// The byte of `intid`, banked for `vcpu` if private.
    pub fn get(&self, vcpu: u8, intid: u32) -> u8 {
        match spi_index(intid) {
            Some(index) => self.shared[index],
            None => self.private.get(usize::from(vcpu)).and_then(|bank| bank.get(intid as usize)).copied().unwrap_or(0),
        }
    }

    /// Sets the byte of `intid`, banked for `vcpu` if private.
    pub fn set(&mut self, vcpu: u8, intid: u32, value: u8) {
        let byte = match spi_index(intid) {
            Some(index) => self.shared.get_mut(index),
            None => self.private.get_mut(usize::from(vcpu)).and_then(|bank| bank.get_mut(intid as usize)),
        };
        if let Some(byte) = byte {
            *byte = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::INTID_LIMIT;

    #[test]
    fn private_bits_are_banked_and_shared_bits_are_not() {
        let mut bits = InterruptBits::new();
        bits.set(1, 27, true);
        bits.set(1, 40, true);
        assert!(bits.get(1, 27) && !bits.get(0, 27));
        assert!(bits.get(0, 40) && bits.get(7, 40));
        assert_eq!(bits.word(1, 0), 1 << 27);
        assert_eq!(bits.word(0, 1), 1 << 8);
        assert_eq!(bits.shared_intids().next(), Some(40));
        assert_eq!(bits.shared_intids().count(), 1);
    }

    #[test]
    fn out_of_range_reads_zero_and_ignores_writes() {
        let mut bits = InterruptBits::new();
        bits.set(0, INTID_LIMIT, true);
        bits.set(0, u32::MAX, true);
        bits.set(200, 3, true);
        assert_eq!(bits, InterruptBits::new());
        assert!(!InterruptBits::all_set().get(0, INTID_LIMIT));
        assert!(!InterruptBits::all_set().get(8, 3));

        let mut bytes = InterruptBytes::new();
        bytes.set(0, INTID_LIMIT, 1);
        bytes.set(9, 0, 1);
        assert_eq!(bytes, InterruptBytes::new());
        assert_eq!(bytes.get(9, 0), 0);
        assert_eq!(bytes.get(0, u32::MAX), 0);
    }
}
