//! Round trips through several peers (one lying, one dropping out), resume
//! after an interruption, and archives that must be refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tau_attach::{
    download, export, export_file, upload, upload_tgz, Config, DownloadOptions, Error, Kind, Source,
};
use tau_ipld::block::RAW;
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

/// A peer serving from a store, optionally corrupting chunks or going away.
struct Peer<'a> {
    name: &'static str,
    store: &'a MemoryBlockstore,
    corrupt: bool,
    /// Raw blocks served before it disconnects (u64::MAX: never).
    budget: AtomicU64,
    served: AtomicU64,
    /// Wait before serving a raw block (so that slower honest peers leave
    /// work for the others and the test does not depend on thread timing).
    delay: Duration,
}

impl<'a> Peer<'a> {
    fn new(name: &'static str, store: &'a MemoryBlockstore) -> Self {
        Self {
            name,
            store,
            corrupt: false,
            budget: AtomicU64::new(u64::MAX),
            served: AtomicU64::new(0),
            delay: Duration::ZERO,
        }
    }
}

impl Source for Peer<'_> {
    fn name(&self) -> String {
        self.name.into()
    }

    fn fetch(&self, cid: &Cid) -> Result<Vec<u8>, String> {
        let mut data = self
            .store
            .get(cid)
            .map_err(|e| e.to_string())?
            .ok_or("not found")?;
        if cid.codec() == RAW {
            std::thread::sleep(self.delay);
            if self.served.fetch_add(1, Ordering::SeqCst) >= self.budget.load(Ordering::SeqCst) {
                return Err("connection closed".into());
            }
            if self.corrupt {
                data[0] ^= 0xff;
            }
        }
        Ok(data)
    }
}

fn options() -> DownloadOptions {
    DownloadOptions {
        per_peer: 2,
        backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_rounds: Some(50),
        ..DownloadOptions::default()
    }
}

fn config() -> Config {
    Config::builder().section_size(16 * 1024).build().unwrap()
}

/// A tree of nested files with random binary content.
fn tree(root: &Path) -> PathBuf {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let top = root.join("album");
    for (path, len) in [
        ("a.bin", 100_000usize),
        ("notes.txt", 300),
        ("sub/b.bin", 50_000),
        ("sub/deeper/c.bin", 70_001),
        ("sub/deeper/empty", 0),
    ] {
        let file = top.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        std::fs::write(file, data).unwrap();
    }
    std::fs::create_dir_all(top.join("empty-dir")).unwrap();
    top
}

/// Every file under `dir` with its bytes, by relative path.
fn contents(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                out.push((rel, None));
                stack.push(path);
            } else {
                out.push((rel, Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn three_peers_one_lying_one_dropping_out_give_an_identical_tree() {
    let dir = tempfile::tempdir().unwrap();
    let source = tree(dir.path());
    let host = MemoryBlockstore::new();
    let up = upload(&host, &source, &config()).unwrap();
    assert!(
        up.manifest.section_count > 10,
        "{}",
        up.manifest.section_count
    );

    // The honest peer is slow, so the liar surely gets sections to serve
    // (otherwise the outcome would depend on which thread runs first).
    let mut honest = Peer::new("honest", &host);
    honest.delay = Duration::from_millis(5);
    let mut liar = Peer::new("liar", &host);
    liar.corrupt = true;
    let quitter = Peer::new("quitter", &host);
    quitter.budget.store(3, Ordering::SeqCst);

    let mine = MemoryBlockstore::new();
    let cancel = AtomicBool::new(false);
    let report = download(
        &mine,
        &up.root,
        &[&liar, &quitter, &honest],
        &config(),
        &options(),
        &cancel,
        &|_| {},
    )
    .unwrap();
    assert_eq!(report.liars, vec!["liar".to_string()]);
    assert_eq!(report.per_source[0], 0, "nothing from the liar is kept");
    assert!(report.per_source[1] <= 3);
    assert_eq!(report.sections_fetched, up.manifest.section_count);

    let out = dir.path().join("out");
    let exported = export(&mine, &up.root, &out, &config()).unwrap();
    assert_eq!(exported.files, 5);
    assert_eq!(contents(&out.join("album")), contents(&source));
}

#[test]
fn an_interrupted_download_resumes_with_only_the_missing_sections() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video.bin");
    let data: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let config = Config::builder()
        .section_size(8 * 1024)
        .compression(0)
        .build()
        .unwrap();
    let host = MemoryBlockstore::new();
    let up = upload(&host, &file, &config).unwrap();
    let total = up.manifest.section_count;

    // The only peer goes away after half of the sections.
    let peer = Peer::new("peer", &host);
    peer.budget.store(total / 2, Ordering::SeqCst);
    let mine = MemoryBlockstore::new();
    let cancel = AtomicBool::new(false);
    let once = DownloadOptions {
        max_rounds: Some(1),
        ..options()
    };
    let err = download(&mine, &up.root, &[&peer], &config, &once, &cancel, &|_| {}).unwrap_err();
    assert!(
        matches!(err, Error::GaveUp { missing, .. } if missing == total - total / 2),
        "{err}"
    );

    // Restart (a new download over the same store): only the rest is fetched.
    let fresh = Peer::new("peer", &host);
    let report = download(
        &mine,
        &up.root,
        &[&fresh],
        &config,
        &options(),
        &cancel,
        &|_| {},
    )
    .unwrap();
    assert_eq!(report.sections_present, total / 2);
    assert_eq!(report.sections_fetched, total - total / 2);
    assert_eq!(fresh.served.load(Ordering::SeqCst), total - total / 2);

    let out = export_file(&mine, &up.root, &dir.path().join("out"), &config).unwrap();
    assert_eq!(out.file_name().unwrap(), "video.bin");
    assert_eq!(std::fs::read(out).unwrap(), data);
}

#[test]
fn cancel_stops_a_relentless_download_and_progress_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, vec![1u8; 200_000]).unwrap();
    let config = Config::builder()
        .section_size(4 * 1024)
        .compression(0)
        .build()
        .unwrap();
    let host = MemoryBlockstore::new();
    let up = upload(&host, &file, &config).unwrap();
    let peer = Peer::new("peer", &host);
    peer.budget.store(5, Ordering::SeqCst);
    let mine = MemoryBlockstore::new();
    let cancel = AtomicBool::new(false);
    let relentless = DownloadOptions {
        max_rounds: None,
        ..options()
    };
    let seen = AtomicU64::new(0);
    let err = download(
        &mine,
        &up.root,
        &[&peer],
        &config,
        &relentless,
        &cancel,
        &|p| {
            seen.store(p.sections_done, Ordering::SeqCst);
            assert!(p.sections_done <= p.sections_total && p.bytes_done <= p.bytes_total);
            if p.sections_done >= 5 {
                cancel.store(true, Ordering::SeqCst);
            }
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    assert_eq!(seen.load(Ordering::SeqCst), 5);
}

/// A gzip-compressed tar with one entry whose name is written raw.
fn archive_with(
    name: &[u8],
    kind: tar::EntryType,
    body: &[u8],
    level: flate2::Compression,
) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), level));
    tar.append(&header, body).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn traversal_links_and_bombs_are_refused_and_nothing_lands_outside() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let store = MemoryBlockstore::new();
    let config = config();
    for (name, kind) in [
        (&b"../escape.txt"[..], tar::EntryType::Regular),
        (b"a/../../escape.txt", tar::EntryType::Regular),
        (b"/tmp/escape.txt", tar::EntryType::Regular),
    ] {
        let up = upload_tgz(
            &store,
            "evil",
            Kind::Directory,
            &archive_with(name, kind, b"x", flate2::Compression::none())[..],
            &config,
        )
        .unwrap();
        let err = export(&store, &up.root, &target, &config).unwrap_err();
        assert!(matches!(err, Error::PathTraversal { .. }), "{err}");
    }
    let link = upload_tgz(
        &store,
        "link",
        Kind::Directory,
        &archive_with(
            b"link",
            tar::EntryType::Symlink,
            b"",
            flate2::Compression::none(),
        )[..],
        &config,
    )
    .unwrap();
    assert!(matches!(
        export(&store, &link.root, &target, &config),
        Err(Error::UnsupportedEntry { .. })
    ));
    assert!(!dir.path().join("escape.txt").exists());

    // 8 MiB of zeros compress to a few KiB: past its declared size, or past
    // a 1 MiB cap when the ratio would allow it, it is refused.
    let bomb = archive_with(
        b"zeros",
        tar::EntryType::Regular,
        &vec![0u8; 8 << 20],
        flate2::Compression::best(),
    );
    assert!(bomb.len() < 64 * 1024);
    let up = upload_tgz(&store, "bomb", Kind::Directory, &bomb[..], &config).unwrap();
    let err = export(&store, &up.root, &dir.path().join("bomb"), &config).unwrap_err();
    assert!(
        matches!(err, Error::ExpandsBeyondDeclared { declared, .. } if declared == up.size),
        "{err}"
    );
    let capped = Config::builder()
        .section_size(16 * 1024)
        .expansion_ratio(100_000)
        .max_expanded(1 << 20)
        .build()
        .unwrap();
    let up = upload_tgz(&store, "bomb", Kind::Directory, &bomb[..], &capped).unwrap();
    let err = export(&store, &up.root, &dir.path().join("bomb"), &capped).unwrap_err();
    assert!(
        matches!(err, Error::ExpansionCap { cap } if cap == 1 << 20),
        "{err}"
    );
    assert!(!dir.path().join("bomb/zeros").exists());
}

#[test]
fn malformed_roots_and_manifests_are_typed_errors() {
    let store = MemoryBlockstore::new();
    let config = config();
    // A raw block is not an attachment.
    let raw = store.put(RAW, b"just bytes").unwrap();
    assert!(matches!(
        export(&store, &raw, Path::new("/nonexistent"), &config),
        Err(Error::NotAnAttachment { .. })
    ));
    // A HAMT root (DAG-CBOR, but not a manifest).
    let mut map: tau_hamt::Hamt<_, u64> = tau_hamt::Hamt::new(&store);
    map.set(b"k", 1).unwrap();
    let hamt_root = map.flush().unwrap();
    assert!(matches!(
        tau_attach::Manifest::load(&store, &hamt_root, &config),
        Err(Error::NotAnAttachment { .. })
    ));
    // A manifest whose count does not match its size.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, vec![3u8; 100_000]).unwrap();
    let up = upload(&store, &file, &config).unwrap();
    let mut wrong = up.manifest.clone();
    wrong.section_count += 1;
    let wrong_root = store
        .put(tau_ipld::block::DAG_CBOR, &wrong.encode().unwrap())
        .unwrap();
    assert!(matches!(
        tau_attach::Manifest::load(&store, &wrong_root, &config),
        Err(Error::NotAnAttachment { .. })
    ));
    // A size that does not match the sections (count still consistent).
    let mut short = up.manifest.clone();
    short.total_size -= 1;
    let short_root = store
        .put(tau_ipld::block::DAG_CBOR, &short.encode().unwrap())
        .unwrap();
    let err = export(&store, &short_root, &dir.path().join("o"), &config).unwrap_err();
    assert!(matches!(err, Error::ContentMismatch(_)), "{err}");
}

#[test]
fn an_attachment_over_the_section_limit_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, vec![9u8; 64 * 1024]).unwrap();
    let small = Config::builder()
        .section_size(1024)
        .max_sections(8)
        .build()
        .unwrap();
    let err = upload(&MemoryBlockstore::new(), &file, &small).unwrap_err();
    assert!(matches!(err, Error::TooLarge { max: 8, .. }), "{err}");
}

#[test]
fn a_download_over_its_budget_is_refused_before_any_section() {
    let dir = tempfile::tempdir().unwrap();
    let source = tree(dir.path());
    let host = MemoryBlockstore::new();
    let up = upload(&host, &source, &config()).unwrap();
    let peer = Peer::new("host", &host);
    let local = MemoryBlockstore::new();
    let cancel = AtomicBool::new(false);
    let tight = DownloadOptions {
        max_total_size: Some(up.size - 1),
        ..options()
    };
    let refused = download(
        &local,
        &up.root,
        &[&peer],
        &config(),
        &tight,
        &cancel,
        &|_| {},
    );
    assert!(
        matches!(refused, Err(Error::OverBudget { size, max }) if size == up.size && max == up.size - 1),
        "{refused:?}"
    );
    assert_eq!(peer.served.load(Ordering::SeqCst), 0, "no section fetched");
    let enough = DownloadOptions {
        max_total_size: Some(up.size),
        ..options()
    };
    let report = download(
        &local,
        &up.root,
        &[&peer],
        &config(),
        &enough,
        &cancel,
        &|_| {},
    )
    .unwrap();
    assert_eq!(report.sections_fetched, up.manifest.section_count);
}
