//! The fuzz targets' entry points. The same file is included by the `cargo test` replay of the
//! committed corpora (tests/integration/properties.rs), so a corpus file exercises exactly the
//! code the fuzzer ran.

include!("entry.rs");
