//! The HAMT interpretation of `~` (InterpretAs): our extension.
//!
//! Wire form: `{"~": {"as": "hamt[;bw=N][;keys=hex]", ">": {"f": {"f>": {KEY: next}}}}}`.
//!
//! * `as` names a Filecoin / tau-hamt HAMT (`docs/src/formats/hamt.md`): SHA-256 key hash, the
//!   given bit width (default 5, written only when different, 1..=8) and keys
//!   spelled as the field name's UTF-8 bytes or, with `keys=hex`, as lowercase
//!   hex of arbitrary bytes (DAG-CBOR strings must be UTF-8, HAMT keys need not be).
//! * The next selector must be an ExploreFields: each field is a key looked up
//!   in the HAMT. The traversal loads exactly the nodes on the key's path (root
//!   first, as `tau_hamt::prove` does) and then applies the field's selector to
//!   the value found; a value that is a link is loaded like any link.
//!
//! go-graphsync peers do not know this interpretation and reject such requests
//! ("unregistered adl"); that is expected.

use crate::{Error, Result};

/// How a field name of the selector spells a HAMT key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyEncoding {
    /// The key is the field name's UTF-8 bytes.
    #[default]
    Utf8,
    /// The key is the field name read as lowercase hex.
    Hex,
}

/// The HAMT a `~` selector interprets a node as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HamtLayout {
    bit_width: u32,
    keys: KeyEncoding,
}

impl Default for HamtLayout {
    /// Filecoin's layout (bit width 5), UTF-8 keys.
    fn default() -> Self {
        HamtLayout {
            bit_width: 5,
            keys: KeyEncoding::Utf8,
        }
    }
}

const NAME: &str = "hamt";

impl HamtLayout {
    /// A layout with `bit_width` (1..=8) and the key encoding.
    pub fn new(bit_width: u32, keys: KeyEncoding) -> Result<Self> {
        if !(1..=8).contains(&bit_width) {
            return Err(Error::InvalidSelector(format!(
                "HAMT bit width {bit_width} not in 1..=8"
            )));
        }
        Ok(HamtLayout { bit_width, keys })
    }

    /// The layout matching a `tau_hamt::Config` (only SHA-256 key hashing is
    /// expressible), with hex keys.
    pub fn for_config(config: &tau_hamt::Config) -> Result<Self> {
        if config.key_hash() != tau_hamt::KeyHash::Sha256 {
            return Err(Error::UnsupportedSelector(
                "HAMT interpretation supports SHA-256 key hashing only".into(),
            ));
        }
        HamtLayout::new(config.bit_width(), KeyEncoding::Hex)
    }

    /// Bits of the key hash per level.
    pub fn bit_width(&self) -> u32 {
        self.bit_width
    }

    /// How field names spell keys.
    pub fn keys(&self) -> KeyEncoding {
        self.keys
    }

    /// The field name that spells `key`, or an error if `key` is not UTF-8 under
    /// [`KeyEncoding::Utf8`].
    pub fn field_name(&self, key: &[u8]) -> Result<String> {
        match self.keys {
            KeyEncoding::Utf8 => String::from_utf8(key.to_vec())
                .map_err(|_| Error::InvalidSelector("HAMT key is not UTF-8; use hex keys".into())),
            KeyEncoding::Hex => Ok(key.iter().map(|b| format!("{b:02x}")).collect()),
        }
    }

    /// The key a field name spells.
    pub fn key(&self, field: &str) -> Result<Vec<u8>> {
        match self.keys {
            KeyEncoding::Utf8 => Ok(field.as_bytes().to_vec()),
            KeyEncoding::Hex => decode_hex(field),
        }
    }

    /// The `as` string.
    pub fn to_wire(&self) -> String {
        let mut s = NAME.to_string();
        if self.bit_width != 5 {
            s.push_str(&format!(";bw={}", self.bit_width));
        }
        if self.keys == KeyEncoding::Hex {
            s.push_str(";keys=hex");
        }
        s
    }

    /// Parses an `as` string in its canonical form (defaults omitted, options in
    /// order); anything else is [`Error::UnsupportedSelector`].
    pub fn from_wire(s: &str) -> Result<Self> {
        let unsupported = || Error::UnsupportedSelector(format!("unknown interpretation {s:?}"));
        let mut parts = s.split(';');
        if parts.next() != Some(NAME) {
            return Err(unsupported());
        }
        let mut layout = HamtLayout::default();
        for part in parts {
            match part.split_once('=') {
                Some(("bw", n)) if layout == HamtLayout::default() => {
                    layout.bit_width = n.parse().map_err(|_| unsupported())?;
                }
                Some(("keys", "hex")) if layout.keys == KeyEncoding::Utf8 => {
                    layout.keys = KeyEncoding::Hex;
                }
                _ => return Err(unsupported()),
            }
        }
        let layout = HamtLayout::new(layout.bit_width, layout.keys).map_err(|_| unsupported())?;
        if layout.to_wire() != s {
            return Err(unsupported());
        }
        Ok(layout)
    }
}

fn decode_hex(s: &str) -> Result<Vec<u8>> {
    let bad = || Error::InvalidSelector(format!("HAMT key {s:?} is not lowercase hex"));
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Ok(nibble(p[0]).ok_or_else(bad)? << 4 | nibble(p[1]).ok_or_else(bad)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_are_canonical() {
        for (s, bw, keys) in [
            ("hamt", 5, KeyEncoding::Utf8),
            ("hamt;bw=8", 8, KeyEncoding::Utf8),
            ("hamt;keys=hex", 5, KeyEncoding::Hex),
            ("hamt;bw=3;keys=hex", 3, KeyEncoding::Hex),
        ] {
            let l = HamtLayout::from_wire(s).unwrap();
            assert_eq!((l.bit_width(), l.keys()), (bw, keys));
            assert_eq!(l.to_wire(), s);
        }
        for bad in [
            "",
            "unixfs",
            "hamt;bw=5",
            "hamt;bw=9",
            "hamt;bw=0",
            "hamt;keys=hex;bw=8",
            "hamt;keys=utf8",
            "hamt;",
            "HAMT",
            "hamt;bw=08",
        ] {
            assert!(
                matches!(
                    HamtLayout::from_wire(bad),
                    Err(Error::UnsupportedSelector(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_round_trip() {
        let hex = HamtLayout::new(5, KeyEncoding::Hex).unwrap();
        let key = [0u8, 0xab, 0xff];
        assert_eq!(hex.field_name(&key).unwrap(), "00abff");
        assert_eq!(hex.key("00abff").unwrap(), key);
        assert!(hex.key("0").is_err() && hex.key("AB").is_err() && hex.key("zz").is_err());
        let utf8 = HamtLayout::default();
        assert!(utf8.field_name(&[0xff]).is_err());
        assert_eq!(utf8.key("alice").unwrap(), b"alice");
    }
}
