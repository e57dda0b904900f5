//! Links the image with the board's addresses and the kernel's shared section layout, and makes
//! the domain bundle `cargo xtask` prepared (variable SOMNUS_DOMAIN_BUNDLE) available to the
//! crate as `$OUT_DIR/domains.bundle`; without the variable the bundle is empty (no domains).

include!("../common/board_build.rs");

fn main() {
    build_board();
}
