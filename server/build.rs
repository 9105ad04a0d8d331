//! Makes sure the site folder the binary embeds exists, and rebuilds the
//! binary whenever the site changes.

use std::fs;
use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let site = Path::new(&manifest_dir).join("../target/site");
    // Without a site build the server still compiles and serves pages, but
    // without the browser bundle (no hydration, no styles).
    fs::create_dir_all(&site).expect("target/site can be created");
    println!("cargo:rerun-if-changed={}", site.display());

    // A stamp of every file's path, size and modification time: when the site
    // is rebuilt the stamp changes, and with it the embedded files.
    let mut stamp = Vec::new();
    collect(&site, &mut stamp);
    stamp.sort();
    println!("cargo:rustc-env=REBOUND_SITE_STAMP={}", stamp.join(";"));
}

fn collect(dir: &Path, stamp: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else { continue };
        if metadata.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, stamp);
        } else {
            let modified = metadata
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |elapsed| elapsed.as_nanos());
            stamp.push(format!("{}:{}:{}", path.display(), metadata.len(), modified));
        }
    }
}
