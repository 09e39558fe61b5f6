//! Compiles the dnstap protobuf schema (`proto/dnstap.proto`) with prost-build.
//!
//! protoc comes from the protoc-bin-vendored crate (a binary shipped inside the crate), so
//! building needs neither Debian's protobuf-compiler nor network access beyond crates.io.
//! A `PROTOC` set in the environment wins.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/dnstap.proto");
    println!("cargo:rerun-if-env-changed=PROTOC");
    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    config.compile_protos(&["proto/dnstap.proto"], &["proto"])?;
    Ok(())
}
