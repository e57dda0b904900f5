//! Checks that a flattened device tree blob is well formed before the `fdt` crate walks it.
//!
//! `fdt` 0.1.5 trusts the blob: inconsistent header offsets, unterminated names, property lengths
//! past the end, unbalanced nodes or properties after child nodes make it index out of bounds or
//! fail an assertion. After [`check_structure`] has accepted a blob, none of those can happen.
//!
//! NOP tokens are refused: `dtc` never emits them, and `fdt` 0.1.5 mis-walks a node that has one
//! between its properties and its children. A boot loader that NOPs out nodes leaves the kernel on
//! its board's fallback description.

use super::DeviceTreeError;

/// Size of the version-17 header.
pub(super) const HEADER_SIZE: usize = 40;
/// The FDT magic number (stored big endian).
pub(super) const MAGIC: u32 = 0xD00D_FEED;
/// Deepest node nesting accepted (`fdt` itself can track 63 levels).
const MAX_DEPTH: usize = 32;

const TOKEN_BEGIN_NODE: u32 = 1;
const TOKEN_END_NODE: u32 = 2;
const TOKEN_PROPERTY: u32 = 3;
const TOKEN_END: u32 = 9;

/// Properties that `fdt` reads as a cell without checking their length.
const CELL_COUNT_PROPERTIES: [&str; 3] = ["#address-cells", "#size-cells", "#interrupt-cells"];

/// The big-endian word at `offset` in `bytes`, if it is entirely inside.
pub(super) fn read_be_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let word = bytes.get(offset..offset.checked_add(4)?)?;
    <[u8; 4]>::try_from(word).ok().map(u32::from_be_bytes)
}

/// The blob cut to its `totalsize`, if its header, structure block and strings block are
/// consistent.
pub(super) fn check_structure(blob: &[u8]) -> Result<&[u8], DeviceTreeError> {
    let header_word = |index: usize| read_be_u32(blob, index * 4).ok_or(DeviceTreeError::Truncated);
    if header_word(0)? != MAGIC {
        return Err(DeviceTreeError::BadMagic);
    }
    let total_size = header_word(1)? as usize;
    if total_size < HEADER_SIZE {
        return Err(DeviceTreeError::Malformed);
    }
    let blob = blob.get(..total_size).ok_or(DeviceTreeError::Truncated)?;
    if header_word(5)? < 17 || header_word(6)? > 17 {
        // Older versions lack the structure block size; newer ones may be incompatible.
        return Err(DeviceTreeError::Malformed);
    }
    let structure = block(blob, header_word(2)?, header_word(9)?)?;
    let strings = block(blob, header_word(3)?, header_word(8)?)?;
    check_tokens(structure, strings)?;
    Ok(blob)
}

/// The `size` bytes at `offset` in `blob`.
fn block(blob: &[u8], offset: u32, size: u32) -> Result<&[u8], DeviceTreeError> {
    let start = offset as usize;
    let end = start.checked_add(size as usize).ok_or(DeviceTreeError::Malformed)?;
    blob.get(start..end).ok_or(DeviceTreeError::Malformed)
}

/// The NUL-terminated UTF-8 string at `offset` in `bytes`, without its terminator.
fn c_string(bytes: &[u8], offset: usize) -> Option<&str> {
    let rest = bytes.get(offset..)?;
    let length = rest.iter().position(|&byte| byte == 0)?;
    core::str::from_utf8(&rest[..length]).ok()
}

/// `length` rounded up to the 4-byte token alignment.
const fn aligned(length: usize) -> usize {
    length.next_multiple_of(4)
}

/// Walks the structure block: one root node, nodes balanced and at most [`MAX_DEPTH`] deep,
/// properties before child nodes, every name terminated inside its block and valid UTF-8.
fn check_tokens(structure: &[u8], strings: &[u8]) -> Result<(), DeviceTreeError> {
    let malformed = DeviceTreeError::Malformed;
    let mut offset = 0;
    let mut depth = 0_usize;
    let mut root_seen = false;
    let mut properties_allowed = false;
    loop {
        let token = read_be_u32(structure, offset).ok_or(malformed)?;
        offset += 4;
        match token {
            TOKEN_BEGIN_NODE => {
                if depth == 0 && root_seen {
                    return Err(malformed);
                }
                let name = c_string(structure, offset).ok_or(malformed)?;
                if depth == 0 && !name.is_empty() {
                    return Err(malformed);
                }
                offset += aligned(name.len() + 1);
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(malformed);
                }
                root_seen = true;
                properties_allowed = true;
            }
            TOKEN_PROPERTY => {
                if !properties_allowed {
                    return Err(malformed);
                }
                let length = read_be_u32(structure, offset).ok_or(malformed)? as usize;
                let name_offset = read_be_u32(structure, offset + 4).ok_or(malformed)? as usize;
                offset += 8;
                let name = c_string(strings, name_offset).ok_or(malformed)?;
                if offset.checked_add(length).is_none_or(|end| end > structure.len())
                    || (CELL_COUNT_PROPERTIES.contains(&name) && length < 4)
                {
                    return Err(malformed);
                }
                offset += aligned(length);
            }
            TOKEN_END_NODE => {
                depth = depth.checked_sub(1).ok_or(malformed)?;
                properties_allowed = false;
            }
            TOKEN_END if root_seen && depth == 0 => return Ok(()),
            _ => return Err(malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::vec::Vec;

    /// Builds a version-17 blob from structure words and a strings block.
    fn blob(structure: &[u32], strings: &[u8]) -> Vec<u8> {
        let structure_offset = HEADER_SIZE + 16; // after an empty reservation map
        let strings_offset = structure_offset + structure.len() * 4;
        let total = strings_offset + strings.len();
        let header = [
            MAGIC,
            total as u32,
            structure_offset as u32,
            strings_offset as u32,
            HEADER_SIZE as u32,
            17,
            16,
            0,
            strings.len() as u32,
            (structure.len() * 4) as u32,
        ];
        let mut bytes: Vec<u8> = header.iter().flat_map(|word| word.to_be_bytes()).collect();
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend(structure.iter().flat_map(|word| word.to_be_bytes()));
        bytes.extend_from_slice(strings);
        bytes
    }

    /// A root node with one zero-filled property of `length` bytes named at `name_offset`.
    fn root_with_property(length: u32, name_offset: u32) -> Vec<u32> {
        let mut words = std::vec![TOKEN_BEGIN_NODE, 0, TOKEN_PROPERTY, length, name_offset];
        words.extend(std::iter::repeat_n(0, length.div_ceil(4) as usize));
        words.extend([TOKEN_END_NODE, TOKEN_END]);
        words
    }

    #[test]
    fn accepts_a_minimal_tree() {
        let bytes = blob(&root_with_property(4, 0), b"#address-cells\0");
        assert_eq!(check_structure(&bytes).map(<[u8]>::len), Ok(bytes.len()));
    }

    #[test]
    fn refuses_inconsistent_headers() {
        let good = blob(&root_with_property(4, 0), b"model\0");
        let mut moved = good.clone();
        moved[8..12].copy_from_slice(&0xFFFF_FFF0_u32.to_be_bytes()); // structure offset
        assert_eq!(check_structure(&moved), Err(DeviceTreeError::Malformed));
        let mut old = good.clone();
        old[20..24].copy_from_slice(&16_u32.to_be_bytes()); // version 16
        assert_eq!(check_structure(&old), Err(DeviceTreeError::Malformed));
        assert_eq!(check_structure(&good[..39]), Err(DeviceTreeError::Truncated));
    }

    #[test]
    fn refuses_bad_properties() {
        // Name offset outside the strings block, name without terminator, value past the end.
        assert!(check_structure(&blob(&root_with_property(4, 9), b"model\0")).is_err());
        assert!(check_structure(&blob(&root_with_property(4, 0), b"model")).is_err());
        let mut words = root_with_property(4, 0);
        words[3] = 400;
        assert!(check_structure(&blob(&words, b"model\0")).is_err());
        // A cell count shorter than a cell.
        assert!(check_structure(&blob(&root_with_property(2, 0), b"#size-cells\0")).is_err());
    }

    #[test]
    fn refuses_bad_nesting() {
        let strings = b"x\0";
        let unbalanced = [TOKEN_BEGIN_NODE, 0, TOKEN_END];
        let two_roots = [TOKEN_BEGIN_NODE, 0, TOKEN_END_NODE, TOKEN_BEGIN_NODE, 0, TOKEN_END_NODE];
        let property_after_child = [
            TOKEN_BEGIN_NODE,
            0,
            TOKEN_BEGIN_NODE,
            0x6100_0000,
            TOKEN_END_NODE,
            TOKEN_PROPERTY,
            0,
            0,
            TOKEN_END_NODE,
            TOKEN_END,
        ];
        let nop = [TOKEN_BEGIN_NODE, 0, 4, TOKEN_END_NODE, TOKEN_END];
        let extra_end = [TOKEN_BEGIN_NODE, 0, TOKEN_END_NODE, TOKEN_END_NODE, TOKEN_END];
        for words in [&unbalanced[..], &two_roots, &property_after_child, &nop, &extra_end] {
            assert_eq!(check_structure(&blob(words, strings)), Err(DeviceTreeError::Malformed));
        }
        let mut deep = std::vec![TOKEN_BEGIN_NODE, 0];
        for _ in 0..MAX_DEPTH {
            deep.extend([TOKEN_BEGIN_NODE, 0x6100_0000]);
        }
        deep.extend(std::iter::repeat_n(TOKEN_END_NODE, MAX_DEPTH + 1));
        deep.push(TOKEN_END);
        assert_eq!(check_structure(&blob(&deep, strings)), Err(DeviceTreeError::Malformed));
    }
}
