//! Link settings of the `vizier` binary.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    pack_relative_relocations();
}

/// Relative relocations packed (`-z pack-relative-relocs`, DT_RELR): as a position-independent
/// executable, vizier otherwise carries ~88,000 of them (2 MB of `.rela.dyn`), which the
/// loader reads at every start and which then stay mapped: ~2 MB of idle memory for nothing.
///
/// Only where the C library it links against can load them (glibc 2.36 and later, which
/// defines the GLIBC_ABI_DT_RELR version): a binary with DT_RELR refuses to start on an older
/// one, so elsewhere, and when cross-compiling, the binary is linked as before.
fn pack_relative_relocations() {
    let var = |key| std::env::var(key).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    let Ok(found) = Command::new("cc")
        .arg("-print-file-name=libc.so.6")
        .output()
    else {
        return;
    };
    let libc = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    let marker = b"GLIBC_ABI_DT_RELR";
    let supported =
        std::fs::read(&libc).is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker));
    if supported {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
