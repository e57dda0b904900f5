//! A strict reader of cpio "newc" archives, for the tests of the writer: it checks every header,
//! name terminator, 4-byte padding and the trailer, and returns the entries.

use crate::assets::cpio_newc::{MAGIC, TRAILER};

/// Size of a newc header: the magic and thirteen 8-digit fields.
pub const HEADER_SIZE: usize = 6 + 13 * 8;

/// File type bits of `mode` (as in `st_mode`).
pub const TYPE_MASK: u32 = 0o170_000;

/// One entry of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Inode number.
    pub inode: u32,
    /// Name as stored (no leading `/`).
    pub name: String,
    /// Type and permission bits.
    pub mode: u32,
    /// uid and gid.
    pub owner: (u32, u32),
    /// Link count.
    pub links: u32,
    /// Modification time.
    pub mtime: u32,
    /// Device numbers of a device node (rdevmajor, rdevminor).
    pub device: (u32, u32),
    /// File contents or symbolic link target.
    pub data: Vec<u8>,
}

impl Entry {
    /// The file type bits of the mode.
    pub fn file_type(&self) -> u32 {
        self.mode & TYPE_MASK
    }
}

/// Parses a whole archive up to and including its trailer (which is not returned); only zero
/// bytes may follow the trailer.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut offset = 0;
    loop {
        let (entry, next) = parse_entry(bytes, offset)?;
        offset = next;
        if entry.name == TRAILER {
            if bytes[offset..].iter().any(|&byte| byte != 0) {
                return Err(format!("data after the trailer at {offset:#x}"));
            }
            return Ok(entries);
        }
        entries.push(entry);
    }
}

fn parse_entry(bytes: &[u8], offset: usize) -> Result<(Entry, usize), String> {
    if !offset.is_multiple_of(4) {
        return Err(format!("entry at {offset:#x} is not 4-byte aligned"));
    }
    let header = bytes.get(offset..offset + HEADER_SIZE).ok_or(format!("truncated header at {offset:#x}"))?;
    if &header[..6] != MAGIC {
        return Err(format!("bad magic at {offset:#x}: {:?}", String::from_utf8_lossy(&header[..6])));
    }
    let field = |index: usize| -> Result<u32, String> {
        let text = std::str::from_utf8(&header[6 + 8 * index..14 + 8 * index]).map_err(|e| e.to_string())?;
        u32::from_str_radix(text, 16).map_err(|e| format!("field {index} {text:?} at {offset:#x}: {e}"))
    };
    let size = |index: usize| field(index).map(|value| value as usize);
    let (file_size, name_size) = (size(6)?, size(11)?);
    if field(12)? != 0 {
        return Err(format!("non-zero check field at {offset:#x}"));
    }
    let name_start = offset + HEADER_SIZE;
    let name_bytes = bytes.get(name_start..name_start + name_size).ok_or("truncated name")?;
    let (name, terminator) = name_bytes.split_at(name_size.checked_sub(1).ok_or("empty name size")?);
    if terminator != [0] || name.contains(&0) {
        return Err(format!("name at {name_start:#x} is not NUL-terminated"));
    }
    let data_start = check_padding(bytes, name_start + name_size)?;
    let data = bytes.get(data_start..data_start + file_size).ok_or("truncated data")?.to_vec();
    let next = check_padding(bytes, data_start + file_size)?;
    let entry = Entry {
        inode: field(0)?,
        name: String::from_utf8(name.to_vec()).map_err(|e| e.to_string())?,
        mode: field(1)?,
        owner: (field(2)?, field(3)?),
        links: field(4)?,
        mtime: field(5)?,
        device: (field(9)?, field(10)?),
        data,
    };
    Ok((entry, next))
}

/// The padding after `end` up to a multiple of 4 must be zeros; returns the aligned offset.
fn check_padding(bytes: &[u8], end: usize) -> Result<usize, String> {
    let aligned = end.next_multiple_of(4);
    match bytes.get(end..aligned) {
        Some(padding) if padding.iter().all(|&byte| byte == 0) => Ok(aligned),
        Some(_) => Err(format!("non-zero padding at {end:#x}")),
        None => Err(format!("archive ends inside the padding at {end:#x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::cpio_newc::{CpioWriter, TYPE_CHARACTER_DEVICE, TYPE_DIRECTORY, TYPE_REGULAR, TYPE_SYMLINK};

    #[test]
    fn every_kind_of_entry_round_trips() {
        let mut writer = CpioWriter::new();
        writer
            .directory("/dev", 0o755)
            .character_device("dev/console", 0o600, 5, 1)
            .file("/init", 0o755, b"#!/bin/sh\n")
            .file("a", 0o644, b"")
            .file("bc", 0o644, b"12345")
            .symlink("bin/sh", "busybox");
        let bytes = writer.finish();
        assert_eq!(bytes.len() % 4, 0);
        let entries = parse(&bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "init", "a", "bc", "bin/sh"]);
        let inodes: Vec<u32> = entries.iter().map(|entry| entry.inode).collect();
        assert_eq!(inodes, [1, 2, 3, 4, 5, 6]);
        assert_eq!((entries[0].file_type(), entries[0].mode & 0o7777, entries[0].links), (TYPE_DIRECTORY, 0o755, 2));
        assert_eq!(
            (entries[1].file_type(), entries[1].device, entries[1].mode & 0o777),
            (TYPE_CHARACTER_DEVICE, (5, 1), 0o600)
        );
        assert_eq!((entries[2].file_type(), entries[2].data.as_slice()), (TYPE_REGULAR, &b"#!/bin/sh\n"[..]));
        assert!(entries[3].data.is_empty());
        assert_eq!(entries[4].data, b"12345");
        assert_eq!((entries[5].file_type(), entries[5].data.as_slice()), (TYPE_SYMLINK, &b"busybox"[..]));
        assert!(entries.iter().all(|entry| entry.owner == (0, 0) && entry.mtime == 0));
    }

    #[test]
    fn headers_names_and_padding_are_laid_out_as_newc_says() {
        let mut writer = CpioWriter::new();
        writer.file("ab", 0o644, b"xyz");
        let bytes = writer.finish();
        // 110-byte header + "ab\0" = 113, padded to 116; 3 data bytes padded to 120.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(&bytes[6..14], b"00000001", "inode");
        assert_eq!(&bytes[14..22], b"000081a4", "mode 0100644");
        assert_eq!(&bytes[54..62], b"00000003", "filesize");
        assert_eq!(&bytes[94..102], b"00000003", "namesize counts the NUL");
        assert_eq!(&bytes[110..116], b"ab\0\0\0\0");
        assert_eq!(&bytes[116..120], b"xyz\0");
        let trailer = &bytes[120..];
        assert_eq!(&trailer[..6], b"070701");
        assert_eq!(&trailer[110..121], b"TRAILER!!!\0");
        // 110 + 11 = 121, padded to 124.
        assert_eq!(trailer.len(), 124);
        let empty = CpioWriter::new().finish();
        assert_eq!(parse(&empty), Ok(Vec::new()));
    }

    #[test]
    fn damaged_archives_are_refused() {
        let mut writer = CpioWriter::new();
        writer.file("ab", 0o644, b"xyz");
        let good = writer.finish();
        let mut bad_magic = good.clone();
        bad_magic[5] = b'2';
        assert!(parse(&bad_magic).unwrap_err().contains("bad magic"));
        let mut bad_padding = good.clone();
        bad_padding[114] = 1;
        assert!(parse(&bad_padding).unwrap_err().contains("padding"));
        assert!(parse(&good[..good.len() - 8]).is_err(), "no trailer");
        let mut garbage_after = good.clone();
        garbage_after.extend_from_slice(b"junk");
        assert!(parse(&garbage_after).unwrap_err().contains("after the trailer"));
    }
}
