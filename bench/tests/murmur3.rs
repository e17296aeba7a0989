//! The floor's hand-written murmur3 agrees with the `murmur3` crate on every
//! tail length and a spread of seeds.

use std::io::Cursor;

use vexil_bench::murmur3::murmur3_x86_32;

#[test]
fn agrees_with_the_murmur3_crate() {
    let bytes: Vec<u8> = (0u8..=255).cycle().take(300).collect();
    for len in 0..bytes.len() {
        let data = &bytes[..len];
        for seed in [0, 1, 42, 0x9747_b28c, u32::MAX] {
            let want = murmur3::murmur3_32(&mut Cursor::new(data), seed).unwrap();
            assert_eq!(murmur3_x86_32(data, seed), want, "len {len} seed {seed}");
        }
    }
}
