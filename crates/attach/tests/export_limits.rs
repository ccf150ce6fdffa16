//! Export limits follow the manifest: an archive expanding beyond the size
//! its manifest declares is refused with an error naming both, and an export
//! that fails at any point removes the files and directories it created,
//! leaving whatever was in the target before.

use std::path::{Path, PathBuf};

use tau_attach::{export, export_file, upload_tgz, Config, Error, Kind};
use tau_ipld::block::DAG_CBOR;
use tau_ipld::{Blockstore, MemoryBlockstore};

fn config() -> Config {
    Config::builder().section_size(4 * 1024).build().unwrap()
}

/// `len` bytes that do not compress.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut out = vec![0; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// A TGZ at `level` of `entries`: (path, type, body); a symlink's body is
/// its target.
fn tgz(entries: &[(&str, tar::EntryType, Vec<u8>)], level: flate2::Compression) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), level));
    for (path, kind, body) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_mode(0o755);
        if *kind == tar::EntryType::Symlink {
            header.set_size(0);
            header
                .set_link_name(std::str::from_utf8(body).unwrap())
                .unwrap();
            tar.append_data(&mut header, path, &[][..]).unwrap();
        } else {
            header.set_size(body.len() as u64);
            tar.append_data(&mut header, path, &body[..]).unwrap();
        }
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Every path under `dir`, relative, sorted (directories end with `/`).
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn content_expanding_beyond_the_declared_size_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryBlockstore::new();
    let config = config();
    // A first file that fits, then 8 MiB of zeros packed into a few KiB.
    let bomb = tgz(
        &[
            ("album/first.bin", tar::EntryType::Regular, noise(1, 4_000)),
            ("album/zeros", tar::EntryType::Regular, vec![0; 8 << 20]),
        ],
        flate2::Compression::best(),
    );
    let up = upload_tgz(&store, "album", Kind::Directory, &bomb[..], &config).unwrap();
    assert!(up.size < 64 * 1024, "{}", up.size);

    let target = dir.path().join("out");
    let err = export(&store, &up.root, &target, &config).unwrap_err();
    match &err {
        Error::ExpandsBeyondDeclared {
            declared,
            ratio,
            limit,
        } => {
            assert_eq!((*declared, *ratio, *limit), (up.size, 1, up.size));
        }
        other => panic!("expected ExpandsBeyondDeclared, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("declares {} bytes", up.size)),
        "{message}"
    );
    assert!(!target.exists(), "left behind: {:?}", listing(&target));

    // A single-file attachment of the same kind: refused, nothing written.
    let single = tgz(
        &[("zeros", tar::EntryType::Regular, vec![0; 8 << 20])],
        flate2::Compression::best(),
    );
    let up = upload_tgz(&store, "zeros", Kind::File, &single[..], &config).unwrap();
    let target = dir.path().join("single");
    let err = export_file(&store, &up.root, &target, &config).unwrap_err();
    assert!(matches!(err, Error::ExpandsBeyondDeclared { .. }), "{err}");
    assert!(!target.exists());

    // An operator who allows compressed attachments exports it.
    let generous = Config::builder()
        .section_size(4 * 1024)
        .expansion_ratio(10_000)
        .build()
        .unwrap();
    let out = export_file(&store, &up.root, &target, &generous).unwrap();
    assert_eq!(std::fs::metadata(out).unwrap().len(), 8 << 20);
}

#[test]
fn an_export_failing_midway_removes_what_it_wrote_and_keeps_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryBlockstore::new();
    let config = config();
    let target = dir.path().join("target");
    std::fs::create_dir_all(target.join("old")).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    std::fs::write(target.join("old/mine.txt"), b"mine too").unwrap();
    let before = listing(&target);

    // Files in a new directory, in an existing one and in new nested ones,
    // then an entry that is refused (a symlink).
    let entries = vec![
        ("new/", tar::EntryType::Directory, Vec::new()),
        ("new/one.bin", tar::EntryType::Regular, noise(2, 10_000)),
        ("old/two.bin", tar::EntryType::Regular, noise(3, 5_000)),
        (
            "deep/er/three.bin",
            tar::EntryType::Regular,
            noise(4, 7_000),
        ),
    ];
    let mut with_link = entries.clone();
    with_link.push(("link", tar::EntryType::Symlink, b"/etc/passwd".to_vec()));
    let archive = tgz(&with_link, flate2::Compression::none());
    let up = upload_tgz(&store, "evil", Kind::Directory, &archive[..], &config).unwrap();
    let err = export(&store, &up.root, &target, &config).unwrap_err();
    assert!(matches!(err, Error::UnsupportedEntry { .. }), "{err}");
    assert_eq!(listing(&target), before);

    // Every entry fine, but the content hash is wrong: found only at the
    // end, after everything was written.
    let archive = tgz(&entries, flate2::Compression::none());
    let up = upload_tgz(&store, "liar", Kind::Directory, &archive[..], &config).unwrap();
    let mut lying = up.manifest.clone();
    lying.content_hash.0[0] ^= 1;
    let lying = store.put(DAG_CBOR, &lying.encode().unwrap()).unwrap();
    let err = export(&store, &lying, &target, &config).unwrap_err();
    assert!(matches!(err, Error::ContentMismatch(_)), "{err}");
    assert_eq!(listing(&target), before);

    // The honest one lands beside what was there.
    let done = export(&store, &up.root, &target, &config).unwrap();
    assert_eq!(done.files, 3);
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(target.join("new/one.bin")).unwrap(),
        noise(2, 10_000)
    );
}

#[test]
fn more_entries_than_allowed_are_refused_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryBlockstore::new();
    let few = Config::builder()
        .section_size(4 * 1024)
        .max_entries(2)
        .build()
        .unwrap();
    let entries: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| (*name, tar::EntryType::Regular, noise(5, 100)))
        .collect();
    let archive = tgz(&entries, flate2::Compression::none());
    let up = upload_tgz(&store, "many", Kind::Directory, &archive[..], &few).unwrap();
    let target = dir.path().join("many");
    let err = export(&store, &up.root, &target, &few).unwrap_err();
    assert!(matches!(err, Error::TooManyEntries { max: 2 }), "{err}");
    assert!(!target.exists());
    // The default follows the declared size: all three fit.
    assert_eq!(
        export(&store, &up.root, &target, &config()).unwrap().files,
        3
    );
}
