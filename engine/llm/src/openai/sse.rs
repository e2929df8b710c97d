//! An incremental reader of `text/event-stream` bodies, as OpenAI-compatible
//! servers send them.
//!
//! Bytes are buffered until a whole line is there, so a UTF-8 character (or a
//! CRLF pair) split across network reads is never decoded in halves. Lines end
//! in LF, CRLF or CR; `data:` lines of one event are joined with `\n`; an event
//! ends at a blank line; comments (`:`) and other fields are ignored.

/// Reads events out of a byte stream fed in arbitrary pieces.
#[derive(Debug, Default)]
pub(crate) struct SseReader {
    buf: Vec<u8>,
    /// The `data` of the event being read, if it has any `data:` line yet.
    data: Option<String>,
    /// Whether the byte-order mark at the very start was dealt with.
    started: bool,
}

impl SseReader {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the data of every event they complete, in order.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        if !self.started {
            if self.buf.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.buf) {
                return Vec::new();
            }
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            self.started = true;
        }
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + pos;
            let next = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    // A CR at the end of what arrived may be the first half of CRLF.
                    None => break,
                }
            } else {
                end + 1
            };
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.line(&line, &mut events);
            start = next;
        }
        self.buf.drain(..start);
        events
    }

    /// The end of the body: a last line without a line break, and a last event
    /// without the blank line that should close it, are still taken.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        let rest = std::mem::take(&mut self.buf);
        let rest = rest.strip_suffix(b"\r").unwrap_or(&rest);
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(rest).into_owned();
            self.line(&line, &mut events);
        }
        if let Some(data) = self.data.take() {
            events.push(data);
        }
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(data);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SseReader;

    fn feed_in_pieces(body: &[u8], piece: usize) -> Vec<String> {
        let mut r = SseReader::new();
        let mut out = Vec::new();
        for chunk in body.chunks(piece) {
            out.extend(r.push(chunk));
        }
        out.extend(r.finish());
        out
    }

    #[test]
    fn events_survive_any_split_and_any_line_ending() {
        let body =
            "\u{feff}: keep-alive\r\n\r\ndata: {\"a\":\"h\u{e9}llo \u{4f60}\u{597d}\"}\r\n\r\n\
                    event: message\nid: 3\nretry: 10\ndata:{\"b\":1}\n\n\
                    data: x\rdata: y\r\r\
                    data: [DONE]\n\n";
        let expected = vec![
            "{\"a\":\"h\u{e9}llo \u{4f60}\u{597d}\"}".to_string(),
            "{\"b\":1}".to_string(),
            "x\ny".to_string(),
            "[DONE]".to_string(),
        ];
        for piece in 1..=body.len() {
            assert_eq!(
                feed_in_pieces(body.as_bytes(), piece),
                expected,
                "piece {piece}"
            );
        }
    }

    #[test]
    fn a_last_event_without_blank_line_is_kept() {
        assert_eq!(feed_in_pieces(b"data: [DONE]", 4), vec!["[DONE]"]);
        assert_eq!(feed_in_pieces(b"data: 1\r", 100), vec!["1"]);
        assert!(feed_in_pieces(b": only a comment\n", 3).is_empty());
    }
}
