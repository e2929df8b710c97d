//! A self-contained HTML report of batch scoring results for evaluators:
//! inline CSS, inline SVG charts drawn here, no JavaScript and no network,
//! labels in Chinese and English. The same input always gives the same bytes.
//! [`tables`] writes the JSONL and CSV that go with it.

mod calls;
mod escape;
mod sections;
mod stats;
mod style;
mod svg;
pub mod tables;

use escape::esc;
use sparring_scoring::batch::CallResult;
use std::collections::BTreeSet;

/// What a report is made of.
pub struct ReportInput<'a> {
    pub title: String,
    pub results: &'a [CallResult],
    /// Input that could not be read: (file, line, message).
    pub errors: &'a [(String, usize, String)],
    /// The plugins that scored: (id, version).
    pub plugins: Vec<(String, String)>,
    /// When the report was made, as the caller wants it shown.
    pub generated_at: String,
}

/// What the sections share: the input and every dimension scored, sorted.
pub(crate) struct Ctx<'a> {
    pub input: &'a ReportInput<'a>,
    pub dims: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn new(input: &'a ReportInput<'a>) -> Self {
        let dims: BTreeSet<&str> = input
            .results
            .iter()
            .flat_map(|r| &r.turns)
            .flat_map(|t| &t.scores)
            .map(|s| s.dimension.as_str())
            .collect();
        Ctx {
            input,
            dims: dims.into_iter().map(String::from).collect(),
        }
    }

    /// Position of a dimension in [`Ctx::dims`] (its colour).
    pub fn dim_index(&self, d: &str) -> usize {
        self.dims.iter().position(|x| x == d).unwrap_or(0)
    }
}

/// The report as one HTML document.
pub fn html(input: &ReportInput) -> String {
    let ctx = Ctx::new(input);
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", esc(&input.title)));
    out.push_str("<style>");
    out.push_str(style::CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    out.push_str(&sections::header(&ctx));
    out.push_str(&sections::summary(&ctx));
    out.push_str(&sections::distribution(&ctx));
    out.push_str(&sections::agents(&ctx));
    out.push_str(&sections::skills(&ctx));
    out.push_str(&sections::trend(&ctx));
    out.push_str(&calls::lowest(&ctx));
    out.push_str(&sections::errors(&ctx));
    out.push_str(
        "<footer>sparring · 离线生成，无需网络 Generated offline, no network needed</footer>\n",
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}
