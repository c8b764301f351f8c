//! The request's headers: hookd's `name: value` lines (names lower-cased), looked up through an
//! index built on the first lookup, so a plugin that reads three headers scans the block once.

use alloc::string::String;
use core::cell::OnceCell;

/// Lines indexed; a longer block's remaining lines are scanned on each lookup.
const INDEXED: usize = 32;

/// Every header of a request, in the order received (names lower-cased, values trimmed).
pub struct Headers {
    block: String,
    index: OnceCell<Index>,
}

/// Where each line is: `(start, end)` byte offsets.
struct Index {
    lines: [(u32, u32); INDEXED],
    len: usize,
    /// Offset of the first line not indexed (`block.len()` when all are).
    rest: usize,
}

impl Headers {
    /// Headers from hookd's block (`name: value` lines joined by `\n`).
    pub fn new(block: String) -> Headers {
        Headers {
            block,
            index: OnceCell::new(),
        }
    }

    /// The block as hookd sent it.
    pub fn as_str(&self) -> &str {
        &self.block
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        // A plain loop over the index: this runs several times per request.
        let index = self.index();
        for &(s, e) in &index.lines[..index.len] {
            if let Some(v) = self.value_of((s as usize, e as usize), name) {
                return Some(v);
            }
        }
        if index.rest == self.block.len() {
            return None;
        }
        self.lines()
            .skip(index.len)
            .find_map(|line| self.value_of(line, name))
    }

    fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::build(self.block.as_bytes()))
    }

    /// Every value of header `name` (case-insensitive), in the order received.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines()
            .filter_map(move |line| self.value_of(line, name))
    }

    /// Every `(name, value)`, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.lines().filter_map(|(s, e)| {
            let line = &self.block[s..e];
            let colon = line.find(':')?;
            Some((&line[..colon], value(&line[colon + 1..])))
        })
    }

    /// `(start, end)` of every line.
    fn lines(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let index = self.index();
        let rest = &self.block[index.rest..];
        index.lines[..index.len]
            .iter()
            .map(|&(s, e)| (s as usize, e as usize))
            .chain(rest.split_terminator('\n').map(move |l| {
                let s = l.as_ptr() as usize - self.block.as_ptr() as usize;
                (s, s + l.len())
            }))
    }

    /// The value of the line at `start..end` if its name is `name` (case-insensitive).
    #[inline(always)]
    fn value_of(&self, (start, end): (usize, usize), name: &str) -> Option<&str> {
        let line = &self.block.as_bytes()[start..end];
        let n = name.len();
        if line.len() > n && line[n] == b':' && line[..n].eq_ignore_ascii_case(name.as_bytes()) {
            // `n` is followed by an ASCII ':', so `start + n + 1` is a char boundary.
            Some(value(&self.block[start + n + 1..end]))
        } else {
            None
        }
    }
}

impl core::fmt::Debug for Headers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Index {
    /// One pass over the block, eight bytes at a time (WebAssembly has no `memchr`).
    fn build(b: &[u8]) -> Index {
        let mut index = Index {
            lines: [(0, 0); INDEXED],
            len: 0,
            rest: b.len(),
        };
        if u32::try_from(b.len()).is_err() {
            index.rest = 0;
            return index;
        }
        let mut line = 0;
        const ONES: u64 = 0x0101_0101_0101_0101;
        const NL: u64 = ONES * b'\n' as u64;
        let mut i = 0;
        while i < b.len() {
            let at = if let Some(chunk) = b.get(i..i + 8) {
                // The lowest byte equal to '\n', if any (the classic "has zero byte" test).
                let x = u64::from_le_bytes(chunk.try_into().unwrap()) ^ NL;
                let found = x.wrapping_sub(ONES) & !x & (ONES << 7);
                if found == 0 {
                    i += 8;
                    continue;
                }
                i + (found.trailing_zeros() / 8) as usize
            } else if b[i] == b'\n' {
                i
            } else {
                i += 1;
                continue;
            };
            if !index.push(&mut line, at) {
                return index;
            }
            i = at + 1;
        }
        if line < b.len() {
            index.push(&mut line, b.len());
        }
        index
    }

    /// Adds the line from `*line` to `end`; false (and `rest` set) when the index is full.
    fn push(&mut self, line: &mut usize, end: usize) -> bool {
        if self.len == INDEXED {
            self.rest = *line;
            return false;
        }
        self.lines[self.len] = (*line as u32, end as u32);
        self.len += 1;
        *line = end + 1;
        true
    }
}

/// The value after a line's `:` (hookd writes `name: value`, values trimmed).
fn value(v: &str) -> &str {
    match v.as_bytes().first() {
        Some(b' ') => v[1..].trim_start_matches(' '),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    #[test]
    fn lookups_match_a_plain_scan() {
        let block = "host: a\ncontent-type: application/json\nx-sig: v1,abc\nx-sig: v1,def\n\
                     empty:\nweird\nx-multi: a: b";
        let h = Headers::new(block.into());
        assert_eq!(h.get("HOST"), Some("a"));
        assert_eq!(h.get("x-sig"), Some("v1,abc"));
        assert_eq!(h.get_all("X-Sig").collect::<Vec<_>>(), ["v1,abc", "v1,def"]);
        assert_eq!(h.get("empty"), Some(""));
        assert_eq!(h.get("x-multi"), Some("a: b"));
        assert_eq!(h.get("weird"), None);
        assert_eq!(h.get("x-si"), None);
        assert_eq!(h.iter().count(), 6);
    }

    /// Blocks of every line length around the eight-byte steps, against a plain split.
    #[test]
    fn the_index_agrees_with_a_plain_split() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed % n
        };
        for _ in 0..2000 {
            let lines: Vec<String> = (0..next(40))
                .map(|i| {
                    let name: String = (0..next(12))
                        .map(|_| (b'a' + next(3) as u8) as char)
                        .collect();
                    let value: String = (0..next(20))
                        .map(|_| (b'0' + next(10) as u8) as char)
                        .collect();
                    match next(8) {
                        0 => String::new(),
                        1 => format!("{name}{i}"),
                        _ => format!("{name}{i}: {value}"),
                    }
                })
                .collect();
            let block = lines.join("\n");
            let naive: Vec<(&str, &str)> = block
                .split_terminator('\n')
                .filter_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    Some((n, v.trim_start_matches(' ')))
                })
                .collect();
            let h = Headers::new(block.clone());
            assert_eq!(h.iter().collect::<Vec<_>>(), naive, "{block:?}");
            for (n, v) in &naive {
                let first = naive
                    .iter()
                    .find(|(m, _)| m.eq_ignore_ascii_case(n))
                    .unwrap()
                    .1;
                assert_eq!(h.get(&n.to_uppercase()), Some(first), "{n} in {block:?}");
                assert!(h.get_all(n).any(|x| x == *v));
            }
        }
    }

    #[test]
    fn more_lines_than_the_index_holds() {
        let block: Vec<String> = (0..INDEXED + 8).map(|i| format!("h{i}: {i}")).collect();
        let h = Headers::new(block.join("\n"));
        for i in 0..INDEXED + 8 {
            assert_eq!(h.get(&format!("H{i}")), Some(format!("{i}").as_str()));
        }
        assert_eq!(h.iter().count(), INDEXED + 8);
        assert_eq!(Headers::new(String::new()).iter().count(), 0);
    }
}
