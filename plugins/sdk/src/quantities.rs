//! Numbers with units ("48 hours", "3到5个工作日", "下午两点", "£15"): the
//! concrete specifics good replies contain, found with byte offsets.

/// Chinese numeral characters that can form a number.
const ZH_DIGITS: &str = "零一二三四五六七八九十百千万两半几";

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || ZH_DIGITS.contains(c)
}

/// Spans of numbers followed by one of `units` (case-insensitive, after at
/// most one space or 个), or preceded by one of `prefixes` (such as "£",
/// "下午", "by"). Ranges such as "3到5" and "1-7" are one span.
pub fn find(text: &str, units: &[String], prefixes: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_number_char(chars[i].1) || (i > 0 && chars[i - 1].1.is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        // The whole number (with decimals, ranges and "点半" style joins).
        let start = i;
        let mut j = i;
        while j < chars.len()
            && (is_number_char(chars[j].1)
                || (matches!(chars[j].1, '.' | ',' | ':' | '-' | '到' | '至' | '–' | '~')
                    && j + 1 < chars.len()
                    && is_number_char(chars[j + 1].1)))
        {
            j += 1;
        }
        let num_start = chars[start].0;
        let num_end = chars.get(j).map_or(text.len(), |c| c.0);
        // A unit after the number?
        let mut k = j;
        if k < chars.len() && (chars[k].1 == ' ' || chars[k].1 == '个') {
            k += 1;
        }
        let after = chars.get(k).map_or(text.len(), |c| c.0);
        let unit = units
            .iter()
            .map(|u| u.to_ascii_lowercase())
            .filter(|u| lower[after..].starts_with(u.as_str()))
            .filter(|u| {
                // English units end at a word boundary ("day" in "days" is fine).
                let end = after + u.len();
                !u.chars().last().is_some_and(|c| c.is_ascii_alphabetic())
                    || !lower[end..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() && c != 's')
            })
            .map(|u| u.len())
            .max();
        let prefix = prefixes
            .iter()
            .map(|p| p.to_ascii_lowercase())
            .filter(|p| lower[..num_start].trim_end().ends_with(p.as_str()))
            .map(|p| p.len())
            .max();
        if unit.is_some() || prefix.is_some() {
            let span_start = match prefix {
                Some(len) => lower[..num_start].trim_end().len() - len,
                None => num_start,
            };
            let span_end = unit.map_or(num_end, |len| after + len);
            out.push((span_start, span_end));
        }
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotes(text: &str) -> Vec<&str> {
        let units: Vec<String> = [
            "个工作日",
            "工作日",
            "小时",
            "天",
            "点",
            "hours",
            "hour",
            "working days",
            "days",
            "pm",
            "am",
            "元",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let prefixes: Vec<String> = ["£", "下午", "by", "before"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        find(text, &units, &prefixes)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect()
    }

    #[test]
    fn finds_times_and_amounts() {
        assert_eq!(
            quotes("3到5个工作日退回，下午两点前到"),
            ["3到5个工作日", "下午两点"]
        );
        assert_eq!(quotes("within 48 hours, by 4 today"), ["48 hours", "by 4"]);
        assert_eq!(
            quotes("It costs £15 less, 10 working days"),
            ["£15", "10 working days"]
        );
        assert_eq!(quotes("plan B2B has 12 items"), Vec::<&str>::new());
    }
}
