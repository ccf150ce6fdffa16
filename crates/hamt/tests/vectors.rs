//! Reference vectors of `docs/src/formats/hamt.md` ("Reference vectors"): the
//! structural ones from fvm_ipld_hamt's own tests and the generated maps
//! (bulk roots produced by fvm_ipld_hamt 0.10.6 from the splitmix64 recipe).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use tau_hamt::{vectors, Config, Hamt, KeyHash};
use tau_ipld::{Blockstore, Cid, MemoryBlockstore};

/// A byte-string value (fvm's `BytesKey` serializes as CBOR bytes).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Bytes(#[serde(with = "serde_bytes_compat")] Vec<u8>);

mod serde_bytes_compat {
    use serde::{Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
        }
        d.deserialize_bytes(V)
    }
}

fn tstring(i: impl ToString) -> Vec<u8> {
    i.to_string().into_bytes()
}

fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// Distinct blocks reachable from `root` and their total size.
fn reachable(store: &MemoryBlockstore, root: &Cid) -> (usize, usize) {
    let mut seen = HashSet::new();
    let mut todo = vec![*root];
    let mut bytes = 0;
    while let Some(c) = todo.pop() {
        if !seen.insert(c) {
            continue;
        }
        let data = store.get(&c).unwrap().unwrap();
        bytes += data.len();
        // Links inside a node: tag 42 (d8 2a), bytes(39) (58 27), 0x00, CID.
        let mut i = 0;
        while i + 5 + 38 <= data.len() {
            if data[i..i + 5] == [0xd8, 0x2a, 0x58, 0x27, 0x00] {
                todo.push(Cid::try_from(&data[i + 5..i + 5 + 38]).unwrap());
                i += 43;
            } else {
                i += 1;
            }
        }
    }
    (seen.len(), bytes)
}

/// Root, blocks and bytes of the §10 map, built with a loop of `set`; the same
/// map built with one `extend` must have the same root.
fn seeded(seed: u64, n: usize, bw: u32) -> (Cid, usize, usize) {
    let config = Config::with_bit_width(bw).unwrap();
    let keys = vectors::keys(seed, n);
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new_with_config(&store, config);
    for (key, i) in keys.iter().zip(0u64..) {
        map.set(key, i).unwrap();
    }
    let root = map.flush().unwrap();
    let (blocks, bytes) = reachable(&store, &root);

    let bulk_store = MemoryBlockstore::new();
    let mut bulk: Hamt<_, u64> = Hamt::new_with_config(&bulk_store, config);
    bulk.extend(keys.iter().zip(0u64..)).unwrap();
    assert_eq!(bulk.flush().unwrap(), root, "extend and set disagree");
    // extend writes exactly the blocks of the new map, nothing else.
    assert_eq!(
        (bulk_store.len(), bulk_store.total_bytes()),
        (blocks, bytes)
    );
    (root, blocks, bytes)
}

#[test]
fn splitmix_first_keys() {
    let mut rng = vectors::SplitMix64::new(1);
    assert_eq!(rng.next(), Some(0x910a2dec89025cc1));
    assert_eq!(rng.next(), Some(0xbeeb8da1658eec67));
    assert_eq!(rng.next(), Some(0xf893a2eefb32555e));
}

#[test]
fn seeded_1000_bw5() {
    assert_eq!(
        seeded(1, 1_000, 5),
        (
            cid("bafy2bzacebgzr7gu73yf2qfwqtmemkfdzuszcwrzjskt5wccsbzlj5jysmdls"),
            50,
            15_875
        )
    );
}

#[test]
fn seeded_1000_bw8() {
    let (_, blocks, bytes) = seeded(1, 1_000, 8);
    assert_eq!((blocks, bytes), (141, 24_050));
}

#[test]
fn seeded_100000_bw5() {
    assert_eq!(
        seeded(1, 100_000, 5),
        (
            cid("bafy2bzacecx2uenvdtpjw5kqbf2fbicz6g5ncnd2xxdcwewhw6pkppz6khxxw"),
            12_895,
            2_085_035
        )
    );
}

#[test]
fn seeded_100000_bw8() {
    let (_, blocks, bytes) = seeded(1, 100_000, 8);
    assert_eq!((blocks, bytes), (4_900, 1_795_601));
}

/// The 1,000,000-key vectors take seconds in debug builds: run with `--ignored`
/// (release recommended).
#[test]
#[ignore]
fn seeded_1000000() {
    assert_eq!(
        seeded(1, 1_000_000, 5),
        (
            cid("bafy2bzacea3dk62ugdzlwrxh26dackljx5flvqbnq773a6rflfqjvhhq3swl6"),
            50_836,
            18_103_286
        )
    );
    let (_, blocks, bytes) = seeded(1, 1_000_000, 8);
    assert_eq!((blocks, bytes), (65_794, 20_928_706));
}

#[test]
fn empty_root() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u64> = Hamt::new(&store);
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzaceamp42wmmgr2g2ymg46euououzfyck7szknvfacqscohrvaikwfay")
    );
}

#[test]
fn set_delete_many() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, Bytes> = Hamt::new_with_config(&store, Config::with_bit_width(5).unwrap());
    for i in 0..200 {
        map.set(tstring(i), Bytes(tstring(i))).unwrap();
    }
    let c1 = map.flush().unwrap();
    assert_eq!(
        c1,
        cid("bafy2bzaceczhz54xmmz3xqnbmvxfbaty3qprr6dq7xh5vzwqbirlsnbd36z7a")
    );
    for i in 200..400 {
        map.set(tstring(i), Bytes(tstring(i))).unwrap();
    }
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzacecxcp736xkl2mcyjlors3tug6vdlbispbzxvb75xlrhthiw2xwxvw")
    );
    for i in 200..400 {
        assert_eq!(map.delete(tstring(i)).unwrap(), Some(Bytes(tstring(i))));
    }
    assert_eq!(map.flush().unwrap(), c1);
}

#[test]
fn delete_bw8() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, Bytes> = Hamt::new_with_config(&store, Config::with_bit_width(8).unwrap());
    map.set(b"foo", Bytes(b"cat dog bear".to_vec())).unwrap();
    map.set(b"bar", Bytes(b"cat dog".to_vec())).unwrap();
    map.set(b"baz", Bytes(b"cat".to_vec())).unwrap();
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzacebql36crv4odvxzstx2ubaczmawy2tlljxezvorcsoqeyyojxkrom")
    );
    map.delete(b"foo").unwrap();
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzaced7up7wkm7cirieh5bs4iyula5inrprihmjzozmku3ywvekzzmlyi")
    );
}

fn varint(mut i: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (i & 0x7f) as u8;
        i >>= 7;
        if i == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

#[test]
fn clean_child_ordering() {
    let store = MemoryBlockstore::new();
    let mut map: Hamt<_, u8> = Hamt::new_with_config(&store, Config::with_bit_width(5).unwrap());
    for i in 100..195 {
        map.set(varint(i), 42).unwrap();
    }
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzacebqox3gtng4ytexyacr6zmaliyins3llnhbnfbcrqmhzuhmuuawqk")
    );
    map.delete(varint(104)).unwrap();
    map.delete(varint(108)).unwrap();
    assert_eq!(
        map.flush().unwrap(),
        cid("bafy2bzacedlyeuub3mo4aweqs7zyxrbldsq2u4a2taswubudgupglu2j4eru6")
    );
}

fn identity_config(bw: u32) -> Config {
    Config::builder()
        .bit_width(bw)
        .key_hash(KeyHash::Identity)
        .build()
        .unwrap()
}

#[test]
fn canonical_structure_identity_hash() {
    let expected = [
        (
            8,
            "bafy2bzacecosy45hp4sz2t4o4flxvntnwjy7yaq43bykci22xycpeuj542lse",
            "bafy2bzaceaqdaj5aqkwugr7wx4to3fahynoqlxuo5j6xznly3khazgyxihkbo",
        ),
        (
            5,
            "bafy2bzacec3cquclaqkb32cntwtizgij55b7isb4s5hv5hv5ujbbeu6clxkug",
            "bafy2bzacedbiipe7l7gbtjandyyl6rqlkuqr2im2nl7d4bljidv5mta22rjqk",
        ),
        (
            6,
            "bafy2bzacebj7b2jahw7nxmu6mlhkwzucjmfq7aqlj52jusqtufqtaxcma4pdm",
            "bafy2bzaceb3c76qlbsiv3baogpao3zah56eqonsowpkof33o5hmncfow4seso",
        ),
        (
            7,
            "bafy2bzacedrwwndijql6lmmtyicjwyehxtgey5fhzocc43hrzhetrz25v2k2y",
            "bafy2bzacebhkyrwfexokaoygsx2crydq3fosiyfoa5bthphntmicsco2xf442",
        ),
    ];
    for (bw, one, five) in expected {
        let store = MemoryBlockstore::new();
        let mut map: Hamt<_, Bytes> = Hamt::new_with_config(&store, identity_config(bw));
        // As fvm's `add_and_remove_keys`: value = tstring(position); extra keys get tstring(0).
        map.set(b"K", Bytes(tstring(0))).unwrap();
        map.set(b"B", Bytes(tstring(0))).unwrap();
        map.delete(b"B").unwrap();
        assert_eq!(map.flush().unwrap(), cid(one), "bw {bw}, one key");

        let mut map: Hamt<_, Bytes> = Hamt::new_with_config(&store, identity_config(bw));
        for (i, k) in ["K0", "K1", "KAA1", "KAA2", "KAA3"].iter().enumerate() {
            map.set(k, Bytes(tstring(i))).unwrap();
        }
        map.set(b"KAA4", Bytes(tstring(0))).unwrap();
        map.delete(b"KAA4").unwrap();
        assert_eq!(map.flush().unwrap(), cid(five), "bw {bw}, five keys");
    }
}
