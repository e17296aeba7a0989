//! Deterministic bucketing: which of 100,000 buckets a unit falls in.
//!
//! The formula, so that any language can reproduce it:
//!
//! ```text
//! bucket(salt, unit) = murmur3_x86_32(utf8(salt) ++ ":" ++ utf8(unit), seed = 0) mod 100_000
//! ```
//!
//! A percentage `p%` (up to three decimals) covers the buckets
//! `0 .. p * 1000`, so raising a rollout only ever adds units. Integer units
//! are hashed as their decimal text. The hash input has the same shape as
//! Unleash's (`groupId:userId`), but Unleash then takes `mod 100`.

/// Buckets per 100%: one bucket is 0.001%.
pub const BUCKETS: u32 = 100_000;

/// The bucket of `unit` under `salt`, in `0..BUCKETS`.
pub fn bucket(salt: &str, unit: &str) -> u32 {
    let mut h = Murmur3::new(0);
    h.write(salt.as_bytes());
    h.write(b":");
    h.write(unit.as_bytes());
    h.finish() % BUCKETS
}

/// MurmurHash3, x86 32-bit variant, fed in pieces without allocating.
#[derive(Clone, Debug)]
pub struct Murmur3 {
    h: u32,
    tail: u32,
    tail_len: u32,
    len: u32,
}

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

#[inline]
fn mix_k(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

impl Murmur3 {
    /// A hasher with nothing written yet.
    pub fn new(seed: u32) -> Murmur3 {
        Murmur3 {
            h: seed,
            tail: 0,
            tail_len: 0,
            len: 0,
        }
    }

    #[inline]
    fn block(&mut self, k: u32) {
        self.h ^= mix_k(k);
        self.h = self
            .h
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }

    /// Feed `bytes`: the hash of the pieces equals the hash of their concatenation.
    pub fn write(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u32);
        // Finish a block left partial by the previous piece.
        while self.tail_len > 0 && self.tail_len < 4 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.tail |= u32::from(b) << (8 * self.tail_len);
            self.tail_len += 1;
            bytes = rest;
        }
        if self.tail_len == 4 {
            let k = self.tail;
            self.block(k);
            self.tail = 0;
            self.tail_len = 0;
        }
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.block(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for (i, &b) in chunks.remainder().iter().enumerate() {
            self.tail |= u32::from(b) << (8 * i);
        }
        self.tail_len = chunks.remainder().len() as u32;
    }

    /// The hash of everything written; the hasher may be fed more after.
    pub fn finish(&self) -> u32 {
        let mut h = self.h;
        if self.tail_len > 0 {
            h ^= mix_k(self.tail);
        }
        h ^= self.len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        h
    }
}

/// MurmurHash3 x86 32 of one byte string.
pub fn murmur3_x86_32(bytes: &[u8], seed: u32) -> u32 {
    let mut h = Murmur3::new(seed);
    h.write(bytes);
    h.finish()
}

/// Convert a percentage with up to three decimals to a bucket count.
pub fn percent_to_buckets(percent: f64) -> Option<u32> {
    if !(0.0..=100.0).contains(&percent) {
        return None;
    }
    let b = (percent * 1000.0).round();
    // Refuse more than three decimals: `33.3333%` would silently round.
    if ((b / 1000.0) - percent).abs() > 1e-9 {
        return None;
    }
    Some(b as u32)
}

/// A bucket count as the percentage it covers, with no trailing zeros:
/// `12.5%` for 12,500 buckets. The inverse of [`percent_to_buckets`], for
/// messages that quote a weight or a share of traffic.
pub fn buckets_to_percent(buckets: u32) -> String {
    let whole = buckets / 1000;
    let frac = buckets % 1000;
    if frac == 0 {
        format!("{whole}%")
    } else {
        let text = format!("{whole}.{frac:03}");
        format!("{}%", text.trim_end_matches('0'))
    }
}

/// An integer unit's decimal text, as bucketing hashes it and as an
/// exposure records the unit: one definition for both backends and the
/// exposure path. Written on the stack, without allocating or panicking
/// (the JIT calls it from an `extern "C"` helper).
#[derive(Clone, Copy)]
pub struct IntText {
    /// The digits end the buffer: `i64::MIN` takes all 20 bytes.
    buf: [u8; 20],
    start: usize,
}

impl IntText {
    /// `v` in decimal, with a leading `-` when negative.
    pub fn new(v: i64) -> IntText {
        let mut buf = [0u8; 20];
        let mut start = buf.len();
        let mut n = v.unsigned_abs();
        loop {
            start = start.saturating_sub(1);
            if let Some(d) = buf.get_mut(start) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            start = start.saturating_sub(1);
            if let Some(d) = buf.get_mut(start) {
                *d = b'-';
            }
        }
        IntText { buf, start }
    }

    /// The text's bytes, ASCII.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::IntText;

    #[test]
    fn int_text_is_the_decimal_text() {
        for v in [0, 1, -1, 9, 10, -10, 42, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(IntText::new(v).as_str(), v.to_string());
            assert_eq!(IntText::new(v).as_bytes(), v.to_string().as_bytes());
        }
    }
}
