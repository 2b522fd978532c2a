//! `include_dir!` embeds `web/` in the binary but does not tell cargo to
//! watch it: without this, a build after editing only the page would serve
//! the old one.
fn main() {
    println!("cargo:rerun-if-changed=../../web");
}
