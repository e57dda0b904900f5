//! Links every guest at the guest platform's load address with the crate's linker script.

fn main() {
    let crate_directory = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rustc-link-search={}", crate_directory.display());
    println!("cargo:rustc-link-arg-bins=-Tguest.ld");
    println!("cargo:rerun-if-changed=guest.ld");
}
