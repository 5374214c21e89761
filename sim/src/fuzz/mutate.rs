//! Mutations of valid samples, the fuzzer's source of hostile input: what a bad disk, a broken
//! link, a careless export or a hostile operator makes of a good file — bit flips, truncation,
//! splices of two files, huge lengths, invalid UTF-8 and GB18030, quotes, commas and CRs, and
//! spreadsheet-formula cells. Deterministic given the generator, so a seed reproduces a case.

use rand::rngs::StdRng;
use rand::Rng;

/// Byte strings that break parsers: CSV syntax, line ends, encodings, formulas, controls.
const TOKENS: &[&[u8]] = &[
    b",",
    b"\"",
    b"\"\"",
    b"\",\"",
    b"\r",
    b"\n",
    b"\r\n",
    b"\"\r\n\"",
    b",,,,,,,,,,,,,,,,",
    b"=HYPERLINK(\"http://x\",\"y\")",
    b"+cmd|' /C calc'!A0",
    b"-1+1",
    b"@SUM(A1)",
    b"\t=1",
    b"\0",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xae",
    b"\x1b[31m",
    // Invalid UTF-8: a lone continuation, an overlong form, a surrogate, a cut sequence.
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe4\xb8",
    b"\xff\xfe",
    // GB18030: 鸦岭 and a four-byte sequence, and a cut one.
    b"\xd1\xbb\xc1\xeb",
    b"\x81\x30\x81\x30",
    b"\x81",
    b"9999-12-31",
    b"0000-00-00",
    b"18446744073709551615",
    b"-9223372036854775808",
    b"1e309",
    b"NaN",
    b"[[[[[[[[[[[[[[[[",
    b"{{{{{{{{",
    b"= \"",
    b"'''",
    b"\"\"\"",
    b"\\u0000",
    b"#",
    b"[",
    b"]]",
    b"inf",
];

/// Integers that overflow, underflow or allocate: what a corrupted length becomes.
const BIG: &[u64] = &[0, 1, 0x7f, 0x80, 0xff, 0xfffe, 0xffff, 0x7fff_ffff, 0xffff_ffff, u64::MAX / 2, u64::MAX];

/// One mutation of `data` in place; `other` is a second sample to splice from.
fn mutate_once(rng: &mut StdRng, data: &mut Vec<u8>, other: &[u8]) {
    let len = data.len();
    let at = |rng: &mut StdRng, len: usize| if len == 0 { 0 } else { rng.gen_range(0..=len) };
    match rng.gen_range(0..16) {
        // Bit flips.
        0 | 1 => {
            for _ in 0..rng.gen_range(1..=4) {
                if let Some(b) = (len > 0).then(|| rng.gen_range(0..len)).map(|i| &mut data[i]) {
                    *b ^= 1 << rng.gen_range(0..8);
                }
            }
        }
        // A byte set to an interesting value.
        2 => {
            if len > 0 {
                let i = rng.gen_range(0..len);
                data[i] =
                    [0u8, 0xff, 0x7f, 0x80, b'"', b',', b'\r', b'\n', b'=', 0xfb, 0xfc, 0xfd][rng.gen_range(0..12)];
            }
        }
        // Truncation.
        3 => {
            let n = at(rng, len);
            data.truncate(n);
        }
        // A range removed.
        4 => {
            if len > 0 {
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..=64.min(len - a))).min(len);
                data.drain(a..b);
            }
        }
        // A range duplicated.
        5 => {
            if len > 0 {
                let a = rng.gen_range(0..len);
                let b = (a + rng.gen_range(1..=256.min(len - a))).min(len);
                let chunk = data[a..b].to_vec();
                let to = at(rng, len);
                data.splice(to..to, chunk);
            }
        }
        // A splice: this one's head, the other's tail.
        6 => {
            let cut = at(rng, len);
            let from = if other.is_empty() { 0 } else { rng.gen_range(0..other.len()) };
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // A token inserted, or put in place of a few bytes.
        7..=9 => {
            let t = TOKENS[rng.gen_range(0..TOKENS.len())];
            let a = at(rng, len);
            let b = if rng.gen_bool(0.5) { (a + rng.gen_range(0..8)).min(len) } else { a };
            data.splice(a..b, t.iter().copied());
        }
        // A token at a cell boundary (after a comma or at a line start).
        10 => {
            let starts: Vec<usize> =
                data.iter().enumerate().filter(|(_, b)| **b == b',' || **b == b'\n').map(|(i, _)| i + 1).collect();
            if !starts.is_empty() {
                let s = starts[rng.gen_range(0..starts.len())];
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                data.splice(s..s, t.iter().copied());
            }
        }
        // A huge length: a big integer written over a few bytes (little- or big-endian, or as
        // bincode's varint markers), or as text.
        11 => {
            let v = BIG[rng.gen_range(0..BIG.len())];
            let bytes: Vec<u8> = match rng.gen_range(0..4) {
                0 => v.to_le_bytes()[..rng.gen_range(1..=8)].to_vec(),
                1 => v.to_be_bytes()[8 - rng.gen_range(1..=8)..].to_vec(),
                2 => {
                    let mut b = vec![[0xfbu8, 0xfc, 0xfd][rng.gen_range(0..3)]];
                    b.extend_from_slice(&v.to_le_bytes());
                    b
                }
                _ => v.to_string().into_bytes(),
            };
            let a = at(rng, len);
            let b = (a + bytes.len()).min(len);
            if rng.gen_bool(0.5) {
                data.splice(a..b, bytes);
            } else {
                data.splice(a..a, bytes);
            }
        }
        // A long run of one byte (an oversized field), rarely very long.
        12 => {
            let n = if rng.gen_ratio(1, 200) { rng.gen_range(100_000..2_000_000) } else { rng.gen_range(1..4_000) };
            let byte = [b'a', b'9', 0xe5, b',', b'"', b'\n', 0, b' '][rng.gen_range(0..8)];
            let mut run = vec![byte; n];
            if byte == 0xe5 {
                // Whole characters (鸦 is E9 B8 A6; 学 is E5 AD A6) rather than junk.
                for c in run.chunks_mut(3) {
                    if c.len() == 3 {
                        c.copy_from_slice("学".as_bytes());
                    }
                }
            }
            let a = at(rng, len);
            data.splice(a..a, run);
        }
        // Random bytes inserted.
        13 => {
            let n = rng.gen_range(1..32);
            let junk: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            let a = at(rng, len);
            data.splice(a..a, junk);
        }
        // Lines shuffled: two lines swapped (a header that moved, rows in another order).
        14 => {
            let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            if lines.len() >= 2 {
                let (a, b) = (rng.gen_range(0..lines.len()), rng.gen_range(0..lines.len()));
                lines.swap(a, b);
                *data = lines.join(&b'\n');
            }
        }
        // A line repeated many times (a file of many rows).
        _ => {
            let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
            if let Some(line) = lines.get(rng.gen_range(0..lines.len().max(1))).map(|l| l.to_vec()) {
                let times = rng.gen_range(1..200);
                for _ in 0..times {
                    data.push(b'\n');
                    data.extend_from_slice(&line);
                }
            }
        }
    }
}

/// A mutated copy of `sample`: one to six mutations, `other` the splice partner.
pub fn mutate(rng: &mut StdRng, sample: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = sample.to_vec();
    for _ in 0..rng.gen_range(1..=6) {
        mutate_once(rng, &mut data, other);
    }
    data
}

/// Bytes generated from nothing: random, or random tokens, or random lines of cells.
pub fn generate(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..3) {
        0 => (0..rng.gen_range(0..512)).map(|_| rng.gen()).collect(),
        1 => {
            let mut v = Vec::new();
            for _ in 0..rng.gen_range(0..64) {
                v.extend_from_slice(TOKENS[rng.gen_range(0..TOKENS.len())]);
            }
            v
        }
        _ => {
            let mut v = Vec::new();
            for _ in 0..rng.gen_range(1..20) {
                for c in 0..rng.gen_range(1..16) {
                    if c > 0 {
                        v.push(b',');
                    }
                    match rng.gen_range(0..3) {
                        0 => v.extend_from_slice(TOKENS[rng.gen_range(0..TOKENS.len())]),
                        1 => v.extend_from_slice(rng.gen::<u32>().to_string().as_bytes()),
                        _ => v.extend_from_slice("鸦岭中心小学".as_bytes()),
                    }
                }
                v.extend_from_slice(b"\r\n");
            }
            v
        }
    }
}

/// A random text cell of the kinds that break readers and spreadsheets (for generated workbooks).
pub fn hostile_text(rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => String::from_utf8_lossy(TOKENS[rng.gen_range(0..TOKENS.len())]).into_owned(),
        1 => {
            let most = if rng.gen_ratio(1, 50) { 40_000 } else { 200 };
            "学".repeat(rng.gen_range(0..most))
        }
        2 => format!("={}", "A1+".repeat(rng.gen_range(0..50))),
        3 => (0..rng.gen_range(0..20)).map(|_| char::from_u32(rng.gen_range(0..0x3_0000)).unwrap_or('?')).collect(),
        4 => "\u{202e}鸦岭\u{0}".into(),
        5 => rng.gen::<i64>().to_string(),
        6 => format!("{}-{:02}-{:02}", rng.gen_range(0..10_000), rng.gen_range(0..100), rng.gen_range(0..100)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mutations_are_deterministic_and_change_the_input() {
        let sample = b"a,b,c\n1,2,3\n".to_vec();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50).map(|_| mutate(&mut rng, &sample, b"x,y\n")).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7), "a seed reproduces its cases");
        assert!(run(7).iter().filter(|m| **m != sample).count() > 40, "nearly every case differs from the sample");
    }
}
