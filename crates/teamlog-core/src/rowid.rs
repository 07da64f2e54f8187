//! Row ids (`p_row_id`): Panther's run-unique layout, numbered by the ordered
//! writer, and the content hash of `--row-id content`.

use crate::json::write_hex;

/// Appends `v` as an unsigned LEB128 varint (Go's `binary.PutUvarint`).
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Panther's run-unique row id: 6 node bytes, uvarint of the run's start
/// (microseconds since 2020-01-01 UTC), uvarint of the event's ordinal from 1.
#[derive(Clone, Debug)]
pub struct RowIdGen {
    prefix: Vec<u8>,
    next: u64,
    scratch: Vec<u8>,
}

impl RowIdGen {
    pub fn new(node: [u8; 6], run_start_micros: u64) -> RowIdGen {
        let mut prefix = node.to_vec();
        put_uvarint(&mut prefix, run_start_micros);
        RowIdGen {
            prefix,
            next: 1,
            scratch: Vec::with_capacity(32),
        }
    }

    /// A node id that differs between runs and machines (random, from the
    /// standard library's per-process hash keys and the clock).
    pub fn random_node() -> [u8; 6] {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        let v = h.finish().to_le_bytes();
        [v[0], v[1], v[2], v[3], v[4], v[5]]
    }

    /// Appends the hex of the next row id.
    pub fn write_next(&mut self, out: &mut Vec<u8>) {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.prefix);
        put_uvarint(&mut self.scratch, self.next);
        self.next += 1;
        write_hex(out, &self.scratch);
    }
}

/// The content-derived row id of a normalized event (`--row-id content`):
/// the 128-bit XXH3 of its bytes, so equal events share one id.
pub fn content_row_id(normalized: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(normalized).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_matches_go() {
        let mut v = Vec::new();
        put_uvarint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        v.clear();
        put_uvarint(&mut v, 1);
        assert_eq!(v, [1]);
    }

    #[test]
    fn row_ids_are_unique_and_ordered() {
        let mut g = RowIdGen::new([1, 2, 3, 4, 5, 6], 300);
        let mut a = Vec::new();
        g.write_next(&mut a);
        let mut b = Vec::new();
        g.write_next(&mut b);
        assert_eq!(a, b"010203040506ac0201");
        assert_eq!(b, b"010203040506ac0202");
    }
}
