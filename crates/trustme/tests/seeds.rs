//! Seed chain vectors (TR-2018-02 §4.3), computed independently with
//! Python's hashlib (see `vectors/seeds.txt`).

use tau_keys::{Address, Keypair};
use tau_trustme::{coinbase_hash, node_seed, pub_seed, Coinbase, CoinbaseEntry};

fn vectors() -> Vec<Vec<String>> {
    include_str!("vectors/seeds.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn find(name: &str, arg: Option<&str>) -> [u8; 32] {
    let v = vectors();
    let line = v
        .iter()
        .find(|l| l[0] == name && arg.is_none_or(|a| l[1] == a))
        .unwrap();
    hex32(line.last().unwrap())
}

#[test]
fn seed_chain_matches_independent_vectors() {
    let empty = coinbase_hash(&Coinbase::new()).unwrap();
    assert_eq!(empty, find("empty_coinbase_hash", None));
    let list = vec![
        CoinbaseEntry {
            address: Address::new([1; 20]),
            amount: 1000,
        },
        CoinbaseEntry {
            address: Address::new([2; 20]),
            amount: 7,
        },
    ];
    let full = coinbase_hash(&list).unwrap();
    assert_eq!(full, find("coinbase_hash", None));

    // pubSeed(1) = 0; Coinbase(i−2) is empty for i ≤ 3; FirstStableMCUnit(i−1) = [i; 32].
    let mut seed = [0u8; 32];
    for i in 2u8..=5 {
        let coin = if i <= 3 { empty } else { full };
        seed = pub_seed(&seed, &coin, &[i; 32]);
        assert_eq!(seed, find("pub_seed", Some(&i.to_string())), "pubSeed({i})");
    }

    let mut one = [0u8; 32];
    one[31] = 1;
    let key = Keypair::from_bytes(&one).unwrap().public_key();
    assert_eq!(
        node_seed(&key, &find("pub_seed", Some("2"))),
        find("node_seed", Some("2"))
    );
}
