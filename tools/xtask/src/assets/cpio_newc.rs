//! Writer of the cpio "newc" format (`070701`), the format Linux unpacks an initramfs from.
//!
//! Each entry is a 110-byte ASCII header (the magic, then thirteen 8-digit hexadecimal fields:
//! inode, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
//! namesize with its NUL, check), the name and its NUL padded to a multiple of 4 bytes, then the
//! data padded to a multiple of 4 bytes. An entry named `TRAILER!!!` ends the archive. Owners are
//! root and times are zero, so the same input always gives the same bytes.

/// Magic number of a newc header.
pub const MAGIC: &[u8; 6] = b"070701";

/// Name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// A directory.
pub const TYPE_DIRECTORY: u32 = 0o040_000;
/// A regular file.
pub const TYPE_REGULAR: u32 = 0o100_000;
/// A symbolic link (its data is the target).
pub const TYPE_SYMLINK: u32 = 0o120_000;
/// A character device.
pub const TYPE_CHARACTER_DEVICE: u32 = 0o020_000;

/// An archive being written, entry by entry.
#[derive(Debug, Default)]
pub struct CpioWriter {
    bytes: Vec<u8>,
    next_inode: u32,
}

impl CpioWriter {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// A directory; `permissions` are the low 12 mode bits, e.g. `0o755`.
    pub fn directory(&mut self, path: &str, permissions: u32) -> &mut Self {
        self.entry(path, TYPE_DIRECTORY | permissions, 2, (0, 0), &[])
    }

    /// A regular file with its contents.
    pub fn file(&mut self, path: &str, permissions: u32, contents: &[u8]) -> &mut Self {
        self.entry(path, TYPE_REGULAR | permissions, 1, (0, 0), contents)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.entry(path, TYPE_SYMLINK | 0o777, 1, (0, 0), target.as_bytes())
    }

    /// A character device node with its device numbers.
    pub fn character_device(&mut self, path: &str, permissions: u32, major: u32, minor: u32) -> &mut Self {
        self.entry(path, TYPE_CHARACTER_DEVICE | permissions, 1, (major, minor), &[])
    }

    /// Ends the archive with the trailer and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.write_entry(TRAILER, 0, 0, 1, (0, 0), &[]);
        self.bytes
    }

    fn entry(&mut self, path: &str, mode: u32, links: u32, device: (u32, u32), data: &[u8]) -> &mut Self {
        self.next_inode += 1;
        let name = path.trim_start_matches('/');
        self.write_entry(name, self.next_inode, mode, links, device, data);
        self
    }

    fn write_entry(&mut self, name: &str, inode: u32, mode: u32, links: u32, device: (u32, u32), data: &[u8]) {
        let name_size = name.len() + 1;
        let fields = [
            inode,
            mode,
            0, // uid
            0, // gid
            links,
            0, // mtime
            u32::try_from(data.len()).expect("initramfs files are smaller than 4 GiB"),
            0, // devmajor
            0, // devminor
            device.0,
            device.1,
            u32::try_from(name_size).expect("short names"),
            0, // check (only for the `070702` variant)
        ];
        self.bytes.extend_from_slice(MAGIC);
        for field in fields {
            self.bytes.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    /// Zeros up to the next multiple of 4 bytes (the archive starts aligned).
    fn pad(&mut self) {
        self.bytes.resize(self.bytes.len().next_multiple_of(4), 0);
    }
}
