use std::path::PathBuf;

// Shared by every board's build.rs through include!(); a file of plain comments, since an
// included file cannot carry the inner doc comment of the crate including it.

/// Links the board with its linker script and provides the domain bundle to the crate.
fn build_board() {
    let board = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let kernel_link = board.join("../../kernel/link");
    println!("cargo:rustc-link-search={}", board.display());
    println!("cargo:rustc-link-search={}", kernel_link.display());
    println!("cargo:rustc-link-arg-bins=-Tboard.ld");
    println!("cargo:rerun-if-changed=board.ld");
    println!("cargo:rerun-if-changed=../common/board_build.rs");
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
