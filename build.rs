//! Links the `runstore` command as a position-dependent executable on
//! x86-64 Linux.
//!
//! As a PIE (the default) the binary carries ~210,000 relative relocations
//! (DataFusion's and arrow's tables of function pointers and strings) that
//! the dynamic loader applies at every start, copy-on-writing ~1,000 pages of
//! `.data.rel.ro`: ~60% of the page faults and several milliseconds of a
//! short `runstore search`. Linked without `-pie` the addresses are fixed at
//! link time and none of that happens. The objects stay position-independent
//! (the library and the C API's shared object are built from them too);
//! only this one executable's final link changes. The price is that the
//! executable's own image is not address-randomised (its heap, stack and
//! shared libraries still are).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && arch == "x86_64" && env == "gnu" {
        // Comes after rustc's own `-pie`; the later of the two wins.
        println!("cargo:rustc-link-arg-bin=runstore=-no-pie");
    }
}
