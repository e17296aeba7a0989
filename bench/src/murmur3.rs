//! MurmurHash3, x86 32-bit variant, for the floor's percentage buckets.
//!
//! The floor is meant to show what the workload costs with nothing in the
//! way, so it hashes with a dozen lines of its own rather than a crate behind
//! a `Hasher` interface; a test checks it against the `murmur3` crate.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3_x86_32 of `data` with `seed`.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    let mut hash = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        hash ^= mix_block(k);
        hash = hash
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &byte| (k << 8) | u32::from(byte));
        hash ^= mix_block(k);
    }
    // The algorithm mixes in the length modulo 2^32 by definition.
    hash ^= data.len() as u32;
    finalize(hash)
}

fn mix_block(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn finalize(mut hash: u32) -> u32 {
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^ (hash >> 16)
}

/// Buckets per 100 %: one bucket is 0.001 %.
pub const BUCKETS: u32 = 100_000;

/// The floor's bucket of a user for a flag:
/// `murmur3_x86_32(utf8(flag_key) ++ ":" ++ utf8(id), seed 0) % 100_000`,
/// a number in `0..BUCKETS`; a share of `p` % is the buckets below
/// `p * 1000`.
///
/// This is the formula of Vexil's own bucketing (`ir/src/bucket.rs`), so
/// that once Vexil's evaluators join the bench with the flag key as salt,
/// they and the floor agree user by user on F3 and F5. (Unleash hashes the
/// same input but takes `% 100`.)
///
/// The input is assembled on the stack when it fits, so that evaluating a
/// percentage flag allocates nothing.
pub fn bucket(flag_key: &str, id: &str) -> u32 {
    const STACK: usize = 128;
    let len = flag_key.len() + 1 + id.len();
    if len <= STACK {
        let mut buffer = [0u8; STACK];
        let (key_part, rest) = buffer.split_at_mut(flag_key.len());
        key_part.copy_from_slice(flag_key.as_bytes());
        let (colon, rest) = rest.split_at_mut(1);
        colon.copy_from_slice(b":");
        let (id_part, _) = rest.split_at_mut(id.len());
        id_part.copy_from_slice(id.as_bytes());
        let (input, _) = buffer.split_at(len);
        murmur3_x86_32(input, 0) % BUCKETS
    } else {
        let input = format!("{flag_key}:{id}");
        murmur3_x86_32(input.as_bytes(), 0) % BUCKETS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_vectors() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(b"", 0xffff_ffff), 0x81f1_6f39);
        assert_eq!(murmur3_x86_32(b"\0\0\0\0", 0), 0x2362_f9de);
        assert_eq!(murmur3_x86_32(b"aaaa", 0x9747_b28c), 0x5a97_808a);
        assert_eq!(murmur3_x86_32(b"abc", 0), 0xb3dd_93fa);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    /// The vectors pinned for Vexil's bucketing in `ir/tests/bucket.rs`.
    #[test]
    fn bucket_matches_vexil_vectors() {
        assert_eq!(bucket("new-checkout", "user-42"), 60_774);
        assert_eq!(bucket("checkout-layout", "u1"), 4_226);
        assert_eq!(bucket("salt", "ünïcödé"), 59_427);
    }

    #[test]
    fn bucket_hashes_key_colon_id() {
        let id = "e469747f-115f-483d-ad4c-4df07086f5a4";
        let whole = murmur3_x86_32(format!("rollout-25:{id}").as_bytes(), 0) % BUCKETS;
        assert_eq!(bucket("rollout-25", id), whole);
        let long_id = "x".repeat(200);
        let whole = murmur3_x86_32(format!("rollout-25:{long_id}").as_bytes(), 0) % BUCKETS;
        assert_eq!(bucket("rollout-25", &long_id), whole);
    }
}
