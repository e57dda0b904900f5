//! Links the image with the board's addresses and the kernel's shared section layout, and makes
//! the domain bundle `cargo xtask` prepared (variable SOMNUS_DOMAIN_BUNDLE) available to the
//! crate as `$OUT_DIR/domains.bundle`; without the variable the bundle is empty (no domains).

use std::path::PathBuf;

fn main() {
    let board = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let kernel_link = board.join("../../kernel/link");
    println!("cargo:rustc-link-search={}", board.display());
    println!("cargo:rustc-link-search={}", kernel_link.display());
    println!("cargo:rustc-link-arg-bins=-Tboard.ld");
    println!("cargo:rerun-if-changed=board.ld");
    println!("cargo:rerun-if-changed={}", kernel_link.join("somnus.ld").display());

    let output = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("domains.bundle");
    println!("cargo:rerun-if-env-changed=SOMNUS_DOMAIN_BUNDLE");
    // An absolute path (cargo runs this script in the board's directory); empty means unset.
    match std::env::var_os("SOMNUS_DOMAIN_BUNDLE").filter(|bundle| !bundle.is_empty()) {
        Some(bundle) => {
            let bundle = PathBuf::from(bundle);
            println!("cargo:rerun-if-changed={}", bundle.display());
            std::fs::copy(&bundle, &output)
                .unwrap_or_else(|error| panic!("cannot copy the domain bundle {}: {error}", bundle.display()));
        }
        None => std::fs::write(&output, []).expect("OUT_DIR is writable"),
    }
}
