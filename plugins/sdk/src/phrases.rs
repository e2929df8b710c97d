//! Phrase matching for Chinese and English replies, with byte offsets into
//! the original text for evidence.
//!
//! Patterns are plain phrases with two extras:
//! - `...` (or `…`) between parts allows a short gap inside one sentence:
//!   `sorry ... inconvenience` matches "sorry for all the inconvenience";
//! - a trailing `*` makes the last word a prefix: `frustrat*` matches
//!   "frustrating" and "frustration".
//!
//! Matching ignores ASCII case, treats curly and straight apostrophes and
//! full-width and half-width punctuation alike, and collapses whitespace.
//! English parts match whole words; Chinese parts match anywhere.

use std::collections::HashMap;

/// Characters a gap may span (within one sentence).
const MAX_GAP: usize = 40;

#[derive(Debug, Clone)]
struct Pattern {
    parts: Vec<Vec<char>>,
    prefix_end: bool,
}

/// A compiled list of phrases.
#[derive(Debug, Clone, Default)]
pub struct PhraseSet {
    phrases: Vec<String>,
    patterns: Vec<Pattern>,
    by_first: HashMap<char, Vec<usize>>,
}

/// Where a phrase was found: byte offsets into the text searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhraseMatch {
    /// Index of the phrase in the set.
    pub phrase: usize,
    pub start: usize,
    pub end: usize,
}

impl PhraseSet {
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Self {
        let mut set = PhraseSet::default();
        for phrase in phrases {
            let phrase = phrase.as_ref();
            // An empty phrase keeps its index (so callers can map matches
            // back to their own lists) but never matches.
            let pattern = compile(phrase).unwrap_or(Pattern {
                parts: Vec::new(),
                prefix_end: false,
            });
            if let Some(first) = pattern.parts.first() {
                set.by_first
                    .entry(first[0])
                    .or_default()
                    .push(set.patterns.len());
            }
            set.patterns.push(pattern);
            set.phrases.push(phrase.to_string());
        }
        set
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The phrase as written in the configuration.
    pub fn phrase(&self, index: usize) -> &str {
        &self.phrases[index]
    }

    /// All non-overlapping matches, leftmost first, longest at each position.
    pub fn find_all(&self, text: &str) -> Vec<PhraseMatch> {
        let folded = Folded::new(text);
        let mut out = Vec::new();
        let mut i = 0;
        while i < folded.chars.len() {
            let mut best: Option<(usize, usize)> = None; // (pattern, end index)
            if let Some(candidates) = self.by_first.get(&folded.chars[i]) {
                for &p in candidates {
                    if let Some(end) = folded.match_at(&self.patterns[p], i) {
                        if best.is_none_or(|(_, e)| end > e) {
                            best = Some((p, end));
                        }
                    }
                }
            }
            match best {
                Some((phrase, end)) => {
                    out.push(PhraseMatch {
                        phrase,
                        start: folded.offsets[i],
                        end: folded.end_offset(end),
                    });
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    /// The first match, if any.
    pub fn find(&self, text: &str) -> Option<PhraseMatch> {
        self.find_all(text).into_iter().next()
    }

    pub fn matches(&self, text: &str) -> bool {
        self.find(text).is_some()
    }
}

fn compile(phrase: &str) -> Option<Pattern> {
    let phrase = phrase.replace('…', "...");
    let mut parts: Vec<Vec<char>> = Vec::new();
    let mut prefix_end = false;
    let pieces: Vec<&str> = phrase.split("...").collect();
    let last = pieces.len() - 1;
    for (n, piece) in pieces.into_iter().enumerate() {
        let mut piece = piece.trim();
        if n == last {
            if let Some(stripped) = piece.strip_suffix('*') {
                piece = stripped.trim_end();
                prefix_end = true;
            }
        }
        let folded = Folded::new(piece);
        if !folded.chars.is_empty() {
            parts.push(folded.chars);
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(Pattern { parts, prefix_end })
    }
}

/// A text folded for matching, with the byte offset of every folded char.
struct Folded {
    chars: Vec<char>,
    offsets: Vec<usize>,
    /// Byte length of the original text (end offset of the last char).
    ends: Vec<usize>,
}

impl Folded {
    fn new(text: &str) -> Self {
        let mut chars = Vec::with_capacity(text.len());
        let mut offsets = Vec::with_capacity(text.len());
        let mut ends = Vec::with_capacity(text.len());
        for (offset, c) in text.char_indices() {
            let f = fold(c);
            if f == ' ' && (chars.is_empty() || chars.last() == Some(&' ')) {
                continue;
            }
            chars.push(f);
            offsets.push(offset);
            ends.push(offset + c.len_utf8());
        }
        if chars.last() == Some(&' ') {
            chars.pop();
            offsets.pop();
            ends.pop();
        }
        Folded {
            chars,
            offsets,
            ends,
        }
    }

    fn end_offset(&self, end: usize) -> usize {
        self.ends[end - 1]
    }

    /// End index (exclusive) of `pattern` matched at `start`.
    fn match_at(&self, pattern: &Pattern, start: usize) -> Option<usize> {
        let n = pattern.parts.len();
        let mut at = start;
        for (k, part) in pattern.parts.iter().enumerate() {
            let prefix = k == n - 1 && pattern.prefix_end;
            let found = if k == 0 {
                self.part_at(part, at, prefix).then_some(at)
            } else {
                // Search forward within the gap, inside the sentence.
                let mut found = None;
                let limit = (at + MAX_GAP).min(self.chars.len());
                let mut j = at;
                while j < limit {
                    if is_sentence_end(self.chars[j]) {
                        break;
                    }
                    if self.part_at(part, j, prefix) {
                        found = Some(j);
                        break;
                    }
                    j += 1;
                }
                found
            };
            at = found? + part.len();
        }
        if pattern.prefix_end {
            // Quote the whole word the prefix starts.
            while at < self.chars.len()
                && self.chars[at].is_alphanumeric()
                && !is_cjk(self.chars[at])
            {
                at += 1;
            }
        }
        Some(at)
    }

    fn part_at(&self, part: &[char], at: usize, prefix_end: bool) -> bool {
        if at + part.len() > self.chars.len() || self.chars[at..at + part.len()] != *part {
            return false;
        }
        let word = |c: char| c.is_ascii_alphanumeric();
        if word(part[0]) && at > 0 && word(self.chars[at - 1]) {
            return false;
        }
        let end = at + part.len();
        if !prefix_end
            && word(part[part.len() - 1])
            && end < self.chars.len()
            && word(self.chars[end])
        {
            return false;
        }
        true
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '\n')
}

/// Case, apostrophes, full-width forms and whitespace folded away.
fn fold(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
        '\u{201C}' | '\u{201D}' => '"',
        '\u{3002}' => '.',
        '\u{3001}' => ',',
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(c as u32 - 0xFEE0).map_or(c, |a| a.to_ascii_lowercase())
        }
        c if c.is_whitespace() => ' ',
        c => c.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotes(set: &PhraseSet, text: &str) -> Vec<String> {
        set.find_all(text)
            .iter()
            .map(|m| text[m.start..m.end].to_string())
            .collect()
    }

    #[test]
    fn english_words_case_and_apostrophes() {
        let set = PhraseSet::new(&[
            "I'm sorry",
            "frustrat*",
            "sorry ... inconvenience",
            "calm down",
        ]);
        assert_eq!(
            quotes(&set, "I’m SORRY, this is frustrating."),
            ["I’m SORRY", "frustrating"]
        );
        assert_eq!(
            quotes(&set, "So sorry for all the inconvenience!"),
            ["sorry for all the inconvenience"]
        );
        // Whole words only; gaps stay inside a sentence.
        assert!(set.find("calm downstairs").is_none());
        assert!(set.find("sorry. The inconvenience").is_none());
    }

    #[test]
    fn chinese_and_full_width() {
        let set = PhraseSet::new(&["非常抱歉", "这不归我管", "理解...心情"]);
        let text = "非常抱歉！我理解您现在的心情，但这不归我管。";
        assert_eq!(
            quotes(&set, text),
            ["非常抱歉", "理解您现在的心情", "这不归我管"]
        );
        let m = set.find_all(text);
        assert_eq!(&text[m[0].start..m[0].end], "非常抱歉");
        let wide = PhraseSet::new(&["ok"]);
        assert!(wide.matches("ＯＫ，好的"));
    }
}
