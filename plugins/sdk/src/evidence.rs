//! Evidence spans: which words of the reply a score rests on.

use crate::Span;

/// A span of `text` from byte `start` to `end`, with its quote. Offsets are
/// clamped to the text and moved to character boundaries, so a span is always
/// valid for the host.
pub fn span(text: &str, start: usize, end: usize) -> Span {
    let mut start = start.min(text.len());
    let mut end = end.clamp(start, text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Span {
        turn: None,
        start: start as u32,
        end: end as u32,
        quote: text[start..end].to_string(),
    }
}

/// Collects evidence for one score: positive and negative findings, each a
/// span, kept in reply order without duplicates.
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    spans: Vec<Span>,
}

impl Evidence {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, text: &str, start: usize, end: usize) {
        let s = span(text, start, end);
        if s.start == s.end {
            return;
        }
        // Skip spans inside one already kept (e.g. "sorry" within "I'm so sorry").
        if self
            .spans
            .iter()
            .any(|k| k.start <= s.start && s.end <= k.end)
        {
            return;
        }
        self.spans
            .retain(|k| !(s.start <= k.start && k.end <= s.end));
        self.spans.push(s);
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The spans in reply order, at most `limit`.
    pub fn into_spans(mut self, limit: usize) -> Vec<Span> {
        self.spans.sort_by_key(|s| (s.start, s.end));
        self.spans.truncate(limit);
        self.spans
    }
}
