//! Architecture-specific code: everything that touches system registers or runs as assembly.

pub mod aarch64;
