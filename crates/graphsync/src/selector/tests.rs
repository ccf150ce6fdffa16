use super::*;
use proptest::prelude::*;

/// A minimal JSON reader (objects, arrays, strings without escapes, integers)
/// so the DAG-JSON examples of `docs/src/formats/network.md` ("Selectors") can be used verbatim.
fn json(s: &str) -> Ipld {
    fn value(b: &[u8], i: &mut usize) -> Ipld {
        match b[*i] {
            b'{' => {
                *i += 1;
                let mut m = BTreeMap::new();
                while b[*i] != b'}' {
                    if b[*i] == b',' {
                        *i += 1;
                    }
                    let Ipld::String(k) = value(b, i) else {
                        panic!("key")
                    };
                    assert_eq!(b[*i], b':');
                    *i += 1;
                    m.insert(k, value(b, i));
                }
                *i += 1;
                Ipld::Map(m)
            }
            b'[' => {
                *i += 1;
                let mut l = Vec::new();
                while b[*i] != b']' {
                    if b[*i] == b',' {
                        *i += 1;
                    }
                    l.push(value(b, i));
                }
                *i += 1;
                Ipld::List(l)
            }
            b'"' => {
                let end = *i + 1 + b[*i + 1..].iter().position(|c| *c == b'"').unwrap();
                let s = std::str::from_utf8(&b[*i + 1..end]).unwrap().to_string();
                *i = end + 1;
                Ipld::String(s)
            }
            _ => {
                let end = *i
                    + b[*i..]
                        .iter()
                        .position(|c| !c.is_ascii_digit() && *c != b'-')
                        .unwrap();
                let n = std::str::from_utf8(&b[*i..end]).unwrap().parse().unwrap();
                *i = end;
                Ipld::Integer(n)
            }
        }
    }
    let mut i = 0;
    let v = value(s.as_bytes(), &mut i);
    assert_eq!(i, s.len());
    v
}

/// The five examples of `docs/src/formats/network.md` ("Selectors"), each with its DAG-CBOR bytes derived by
/// hand: one-entry maps `a1`, one-char keys `61 xx`, `{}` = `a0`, keys sorted
/// length-first and then bytewise (so `">"` (0x3e) precedes `"i"` (0x69), and
/// `"l"` precedes `":>"`).
#[test]
fn spec_examples_parse_round_trip_and_encode_exactly() {
    let seq_all = "a1 61 61 a1 61 3e a1 61 40 a0"; // {"a":{">":{"@":{}}}}
    let cases = [
        (
            r#"{"R":{"l":{"none":{}},":>":{"a":{">":{"@":{}}}}}}"#,
            format!("a1 61 52 a2 61 6c a1 64 6e 6f 6e 65 a0 62 3a 3e {seq_all}"),
        ),
        (
            r#"{"R":{"l":{"depth":100},":>":{"a":{">":{"@":{}}}}}}"#,
            format!("a1 61 52 a2 61 6c a1 65 64 65 70 74 68 18 64 62 3a 3e {seq_all}"),
        ),
        (
            r#"{"R":{"l":{"none":{}},":>":{"|":[{".":{}},{"a":{">":{"@":{}}}}]}}}"#,
            format!(
                "a1 61 52 a2 61 6c a1 64 6e 6f 6e 65 a0 62 3a 3e a1 61 7c 82 a1 61 2e a0 {seq_all}"
            ),
        ),
        (
            r#"{"f":{"f>":{"child":{"f":{"f>":{"x":{".":{}}}}}}}}"#,
            "a1 61 66 a1 62 66 3e a1 65 63 68 69 6c 64 a1 61 66 a1 62 66 3e a1 61 78 a1 61 2e a0"
                .to_string(),
        ),
        (
            r#"{"i":{"i":3,">":{"i":{"i":0,">":{".":{}}}}}}"#,
            "a1 61 69 a2 61 3e a1 61 69 a2 61 3e a1 61 2e a0 61 69 00 61 69 03".to_string(),
        ),
    ];
    for (text, hex) in cases {
        let ipld = json(text);
        let sel = Selector::from_ipld(&ipld).unwrap();
        assert_eq!(sel.to_ipld(), ipld, "{text}");
        let want: Vec<u8> = hex
            .split(' ')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        assert_eq!(sel.to_dag_cbor().unwrap(), want, "{text}");
        assert_eq!(Selector::from_dag_cbor(&want).unwrap(), sel);
    }
    // The builders produce the same selectors.
    assert_eq!(
        Selector::explore_all_recursively(100).to_ipld(),
        json(r#"{"R":{"l":{"depth":100},":>":{"a":{">":{"@":{}}}}}}"#)
    );
    assert_eq!(
        Selector::field_path(&["child", "x"], Selector::Matcher).to_ipld(),
        json(r#"{"f":{"f>":{"child":{"f":{"f>":{"x":{".":{}}}}}}}}"#)
    );
}

#[test]
fn depth_validation_follows_go() {
    let none = Selector::from_ipld(&json(
        r#"{"R":{"l":{"none":{}},":>":{"a":{">":{"@":{}}}}}}"#,
    ))
    .unwrap();
    assert!(matches!(
        none.check_depth(100, false),
        Err(Error::RecursionLimit { .. })
    ));
    none.check_depth(100, true).unwrap();
    // Nested inside a union and a field: still found.
    let nested = json(
        r#"{"|":[{".":{}},{"f":{"f>":{"x":{"R":{"l":{"depth":101},":>":{"a":{">":{"@":{}}}}}}}}}]}"#,
    );
    let nested = Selector::from_ipld(&nested).unwrap();
    assert!(nested.check_depth(100, false).is_err());
    nested.check_depth(101, false).unwrap();
}

#[test]
fn malformed_and_unsupported_selectors_are_typed_errors() {
    let invalid_cases = [
        r#"{}"#,
        r#"[]"#,
        r#"{".":{},"a":{">":{".":{}}}}"#,
        r#"{"x":{}}"#,
        r#"{"@":{}}"#,
        r#"{"a":{}}"#,
        r#"{"a":{">":{".":{}},"y":1}}"#,
        r#"{"R":{"l":{"depth":5},":>":{"a":{">":{".":{}}}}}}"#,
        r#"{"R":{"l":{"depth":-1},":>":{"a":{">":{"@":{}}}}}}"#,
        r#"{"R":{"l":{"forever":{}},":>":{"a":{">":{"@":{}}}}}}"#,
        r#"{"R":{"l":{"none":{},"depth":3},":>":{"a":{">":{"@":{}}}}}}"#,
        r#"{"R":{"l":{"depth":5},":>":{"R":{"l":{"depth":5},":>":{"a":{">":{"@":{}}}}}}}}"#,
        r#"{"r":{"^":3,"$":3,">":{".":{}}}}"#,
        r#"{"i":{"i":"3",">":{".":{}}}}"#,
        r#"{"f":{"f>":[]}}"#,
        r#"{"|":{}}"#,
        r#"{"~":{"as":"hamt;keys=hex",">":{"f":{"f>":{"zz":{".":{}}}}}}}"#,
    ];
    for text in invalid_cases {
        let r = Selector::from_ipld(&json(text));
        assert!(matches!(r, Err(Error::InvalidSelector(_))), "{text}: {r:?}");
    }
    let unsupported_cases = [
        r#"{"&":{">":{".":{}}}}"#,
        r#"{"R":{"l":{"depth":5},":>":{"a":{">":{"@":{}}}},"!":{"&":{}}}}"#,
        r#"{".":{"subset":{"[":0,"]":4}}}"#,
        r#"{"~":{"as":"unixfs",">":{".":{}}}}"#,
        r#"{"~":{"as":"hamt",">":{"a":{">":{".":{}}}}}}"#,
    ];
    for text in unsupported_cases {
        let r = Selector::from_ipld(&json(text));
        assert!(
            matches!(r, Err(Error::UnsupportedSelector(_))),
            "{text}: {r:?}"
        );
    }
}

#[test]
fn deep_selectors_are_refused_not_overflowed() {
    let mut v = Selector::Matcher.to_ipld();
    for _ in 0..10_000 {
        v = single_entry("a", single_entry(">", v));
    }
    assert!(matches!(
        Selector::from_ipld(&v),
        Err(Error::InvalidSelector(_))
    ));
    // Dropping a deep Ipld recurses too: unwind it iteratively.
    while let Ipld::Map(mut m) = v {
        v = m.pop_first().map(|(_, x)| x).unwrap_or(Ipld::Null);
    }
}

#[test]
fn hamt_selector_wire_form() {
    let sel = Selector::hamt_key(HamtLayout::default(), b"alice", Selector::Matcher).unwrap();
    assert_eq!(
        sel.to_ipld(),
        json(r#"{"~":{"as":"hamt",">":{"f":{"f>":{"alice":{".":{}}}}}}}"#)
    );
    let hex = HamtLayout::new(8, KeyEncoding::Hex).unwrap();
    let sel = Selector::hamt_key(hex, &[0, 1], Selector::Matcher).unwrap();
    assert_eq!(
        sel.to_ipld(),
        json(r#"{"~":{"as":"hamt;bw=8;keys=hex",">":{"f":{"f>":{"0001":{".":{}}}}}}}"#)
    );
    assert_eq!(Selector::from_ipld(&sel.to_ipld()).unwrap(), sel);
}

fn arb_selector() -> impl Strategy<Value = Selector> {
    // Leaves; edges are added only under ExploreRecursive below.
    let leaf = Just(Selector::Matcher);
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|n| Selector::ExploreAll { next: Box::new(n) }),
            proptest::collection::btree_map("[a-z0-9]{0,3}", inner.clone(), 0..3)
                .prop_map(|fields| Selector::ExploreFields { fields }),
            (any::<i64>(), inner.clone()).prop_map(|(index, n)| Selector::ExploreIndex {
                index,
                next: Box::new(n)
            }),
            (-5i64..5, 1i64..5, inner.clone()).prop_map(|(start, len, n)| Selector::ExploreRange {
                start,
                end: start + len,
                next: Box::new(n)
            }),
            (proptest::option::of(0u64..200), inner.clone()).prop_map(|(d, n)| {
                Selector::ExploreRecursive {
                    limit: d.map_or(RecursionLimit::None, RecursionLimit::Depth),
                    sequence: Box::new(Selector::ExploreUnion(vec![
                        n,
                        Selector::ExploreAll {
                            next: Box::new(Selector::ExploreRecursiveEdge),
                        },
                    ])),
                }
            }),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Selector::ExploreUnion),
            (1u32..=8, "[a-z]{1,4}", inner).prop_map(|(bw, key, n)| {
                let layout = HamtLayout::new(bw, KeyEncoding::Utf8).unwrap();
                Selector::hamt_key(layout, key.as_bytes(), n).unwrap()
            }),
        ]
    })
}

proptest! {
    #[test]
    fn selectors_round_trip(sel in arb_selector()) {
        let ipld = sel.to_ipld();
        prop_assert_eq!(Selector::from_ipld(&ipld).unwrap(), sel.clone());
        let bytes = sel.to_dag_cbor().unwrap();
        prop_assert_eq!(Selector::from_dag_cbor(&bytes).unwrap(), sel);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = Selector::from_dag_cbor(&bytes);
    }

    #[test]
    fn mutated_selectors_never_panic(sel in arb_selector(), at in any::<usize>(), x in 1u8..) {
        let mut bytes = sel.to_dag_cbor().unwrap();
        let n = bytes.len();
        bytes[at % n] ^= x;
        if let Ok(s) = Selector::from_dag_cbor(&bytes) {
            let _ = s.check_depth(100, false);
        }
    }
}
