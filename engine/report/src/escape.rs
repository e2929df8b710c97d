//! HTML escaping and evidence highlighting.

use sparring_core::scoring::Span;

/// `s` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The byte range of one evidence span in `reply`: its offsets when they lie on
/// character boundaries and cover the quote (or the quote is empty), else the
/// first occurrence of the quote text; `None` when neither fits.
pub fn locate(reply: &str, span: &Span) -> Option<(usize, usize)> {
    let (start, end) = (span.start as usize, span.end as usize);
    let offsets_ok = start < end
        && end <= reply.len()
        && reply.is_char_boundary(start)
        && reply.is_char_boundary(end);
    if offsets_ok && (span.quote.is_empty() || reply[start..end] == *span.quote) {
        return Some((start, end));
    }
    if span.quote.is_empty() {
        return None;
    }
    reply
        .find(span.quote.as_str())
        .map(|i| (i, i + span.quote.len()))
}

/// `reply` escaped, with every located span wrapped in `<mark>` (overlapping
/// spans merged), and the quotes that could not be located.
pub fn highlight<'a>(
    reply: &str,
    spans: impl IntoIterator<Item = &'a Span>,
) -> (String, Vec<String>) {
    let mut ranges = Vec::new();
    let mut unplaced = Vec::new();
    for span in spans {
        match locate(reply, span) {
            Some(r) => ranges.push(r),
            None if !span.quote.is_empty() => unplaced.push(span.quote.clone()),
            None => {}
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = String::new();
    let mut at = 0;
    for (s, e) in merged {
        out.push_str(&esc(&reply[at..s]));
        out.push_str("<mark>");
        out.push_str(&esc(&reply[s..e]));
        out.push_str("</mark>");
        at = e;
    }
    out.push_str(&esc(&reply[at..]));
    unplaced.sort();
    unplaced.dedup();
    (out, unplaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u32, end: u32, quote: &str) -> Span {
        Span {
            turn: None,
            start,
            end,
            quote: quote.into(),
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn marks_byte_offsets_in_chinese() {
        let reply = "非常抱歉给您带来不便";
        // "抱歉" is bytes 6..12.
        let (html, rest) = highlight(reply, [&span(6, 12, "抱歉")]);
        assert_eq!(html, "非常<mark>抱歉</mark>给您带来不便");
        assert!(rest.is_empty());
    }

    #[test]
    fn falls_back_to_quote_text_and_merges_overlaps() {
        let reply = "I understand <b>, sorry";
        // Offsets off a char boundary / wrong: found by quote instead.
        let spans = [
            span(1, 400, "sorry"),
            span(2, 12, "understand"),
            span(5, 8, "ders"),
        ];
        let (html, rest) = highlight(reply, &spans);
        assert_eq!(
            html,
            "I <mark>understand</mark> &lt;b&gt;, <mark>sorry</mark>"
        );
        assert!(rest.is_empty());
        let (_, rest) = highlight(reply, [&span(0, 1, "missing")]);
        assert_eq!(rest, ["missing"]);
        let (html, _) = highlight("中文", [&span(1, 2, "")]);
        assert_eq!(html, "中文");
    }
}
