//! Turning a conversation into model input: the GGUF's own chat template for
//! instruct models, a few-shot transcript for base models.

use minijinja::{context, Environment, ErrorKind};
use serde::Serialize;
use sparring_core::{Message, Role};

use crate::error::LlmError;

/// ChatML, for instruct models whose file carries no template.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template (`tokenizer.chat_template`, Jinja).
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

#[derive(Serialize)]
struct TemplateMessage<'a> {
    role: &'a str,
    content: &'a str,
}

impl ChatTemplate {
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<Self, LlmError> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, _> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        });
        // Llama 3.x templates put today's date in the system prompt.
        env.add_function("strftime_now", |fmt: String| strftime(&fmt, today()));
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| LlmError::Template(e.to_string()))?;
        Ok(Self {
            env,
            bos: bos.to_string(),
            eos: eos.to_string(),
        })
    }

    /// Renders the conversation; with `add_generation_prompt` the text ends
    /// where the assistant's next reply begins.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, LlmError> {
        let msgs: Vec<TemplateMessage> = messages
            .iter()
            .map(|m| TemplateMessage {
                role: m.role.as_str(),
                content: &m.content,
            })
            .collect();
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| LlmError::Template(e.to_string()))?;
        tmpl.render(context! {
            messages => msgs,
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos,
            eos_token => self.eos,
        })
        .map_err(|e| LlmError::Template(format!("{e:#}")))
    }
}

/// Today as (year, month, day): `SPARRING_DATE=YYYY-MM-DD` pins it, so prompts
/// that mention the date stay reproducible.
fn today() -> (i64, u32, u32) {
    if let Ok(d) = std::env::var("SPARRING_DATE") {
        let mut it = d.split('-').map(|p| p.parse::<i64>().ok());
        if let (Some(Some(y)), Some(Some(m)), Some(Some(dd))) = (it.next(), it.next(), it.next()) {
            return (y, m as u32, dd as u32);
        }
    }
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    civil_from_days(days)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The date parts of C's strftime that chat templates use.
fn strftime(fmt: &str, (y, m, d): (i64, u32, u32)) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS[(m as usize).clamp(1, 12) - 1];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&format!("{d:>2}")),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('B') => out.push_str(month),
            Some('b') | Some('h') => out.push_str(&month[..3]),
            Some('F') => out.push_str(&format!("{y}-{m:02}-{d:02}")),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// How a base model sees a conversation: a preamble, then one line per turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TranscriptStyle {
    pub user_label: String,
    pub assistant_label: String,
    /// Between label and text: ": " in English, "：" in Chinese transcripts
    /// (base models continue in Chinese far more reliably with the full-width colon).
    #[serde(default = "default_separator")]
    pub separator: String,
}

fn default_separator() -> String {
    ": ".into()
}

impl Default for TranscriptStyle {
    fn default() -> Self {
        Self {
            user_label: "User".into(),
            assistant_label: "Assistant".into(),
            separator: default_separator(),
        }
    }
}

impl TranscriptStyle {
    /// Labels and punctuation for a transcript in `language` ("zh" or "en").
    pub fn new(user_label: &str, assistant_label: &str, language: &str) -> Self {
        Self {
            user_label: user_label.into(),
            assistant_label: assistant_label.into(),
            separator: if language.starts_with("zh") {
                "\u{ff1a}".into()
            } else {
                default_separator()
            },
        }
    }

    /// System messages become the preamble (put few-shot lines there); each
    /// turn is `Label: text`; the prompt ends with the assistant's label.
    pub fn render(&self, messages: &[Message]) -> String {
        let mut out = String::new();
        for m in messages.iter().filter(|m| m.role == Role::System) {
            out.push_str(m.content.trim_end());
            out.push_str("\n\n");
        }
        for m in messages.iter().filter(|m| m.role != Role::System) {
            let label = match m.role {
                Role::User => &self.user_label,
                _ => &self.assistant_label,
            };
            out.push_str(label);
            out.push_str(&self.separator);
            out.push_str(m.content.trim());
            out.push('\n');
        }
        out.push_str(&self.assistant_label);
        out.push_str(self.separator.trim_end());
        out
    }

    /// Strings that mean the model has started writing the other side's line.
    pub fn stop_strings(&self) -> Vec<String> {
        let sep = self.separator.trim_end();
        vec![
            format!("\n{}{sep}", self.user_label),
            format!("\n{}{sep}", self.assistant_label),
            "\n\n".into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_generation_prompt() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let s = t
            .render(&[Message::system("be brief"), Message::user("hi")], true)
            .unwrap();
        assert_eq!(
            s,
            "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn llama3_style_templates_get_the_date() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_420), (2025, 11, 28));
        assert_eq!(strftime("%d %b %Y", (2026, 11, 28)), "28 Nov 2026");
        assert_eq!(strftime("%B %e, %y %%", (2024, 7, 4)), "July  4, 24 %");
        let t = ChatTemplate::new(
            "{%- set date_string = strftime_now(\"%d %b %Y\") -%}Today Date: {{ date_string }}",
            "",
            "",
        )
        .unwrap();
        let s = t.render(&[Message::user("hi")], true).unwrap();
        assert!(s.starts_with("Today Date: "), "{s}");
        assert_eq!(s.len(), "Today Date: 28 Nov 2026".len(), "{s}");
    }

    #[test]
    fn template_errors_are_reported() {
        let t = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", "", "").unwrap();
        let e = t.render(&[Message::user("x")], true).unwrap_err();
        assert!(e.to_string().contains("roles must alternate"), "{e}");
        assert!(ChatTemplate::new("{% for %}", "", "").is_err());
    }

    #[test]
    fn transcript_ends_with_assistant_label() {
        let style = TranscriptStyle::new("客服", "客户", "zh");
        let s = style.render(&[
            Message::system("以下是一段客服通话记录。"),
            Message::user("您好，请问有什么可以帮您？"),
        ]);
        assert_eq!(
            s,
            "以下是一段客服通话记录。\n\n客服：您好，请问有什么可以帮您？\n客户："
        );
        assert!(style.stop_strings().contains(&"\n客服：".to_string()));
        let en = TranscriptStyle::default().render(&[Message::user("Hi")]);
        assert_eq!(en, "User: Hi\nAssistant:");
    }
}
