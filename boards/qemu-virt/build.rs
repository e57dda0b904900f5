//! Links the image with the board's addresses and the kernel's shared section layout.

fn main() {
    let board = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let kernel_link = board.join("../../kernel/link");
    println!("cargo:rustc-link-search={}", board.display());
    println!("cargo:rustc-link-search={}", kernel_link.display());
    println!("cargo:rustc-link-arg-bins=-Tboard.ld");
    println!("cargo:rerun-if-changed=board.ld");
    println!("cargo:rerun-if-changed={}", kernel_link.join("somnus.ld").display());
}
