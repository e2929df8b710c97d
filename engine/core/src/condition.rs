//! Conditions instructors write in persona files ("anger >= 70 and trust < 40",
//! "level.empathy == 2", "turn > 8 or not revealed.outage"), parsed once and
//! evaluated against the session's numbers every turn.
//!
//! Grammar: `or` / `||`, `and` / `&&`, `not` / `!`, parentheses, comparisons
//! `>= <= > < == !=` between numbers and variables. A bare variable is true
//! when it is not 0. Variables are dotted names (`anger`, `level.empathy`);
//! which exist is up to the caller, who can list them with
//! [`Condition::variables`] to reject unknown ones when a file is loaded.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Or(Vec<Condition>),
    And(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Operand, Op, Operand),
    /// A bare operand: true when not 0.
    Truthy(Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    Variable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

/// Why a condition could not be parsed: what, and at which character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    /// Character offset in the condition text.
    pub at: usize,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl std::error::Error for ConditionError {}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Ident(String),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |message: String, at: usize| ConditionError { message, at };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            _ if two == ">="
                || two == "<="
                || two == "=="
                || two == "!="
                || two == "&&"
                || two == "||" =>
            {
                i += 2;
                match two.as_str() {
                    ">=" => Token::Op(Op::Ge),
                    "<=" => Token::Op(Op::Le),
                    "==" => Token::Op(Op::Eq),
                    "!=" => Token::Op(Op::Ne),
                    "&&" => Token::And,
                    _ => Token::Or,
                }
            }
            '>' => {
                i += 1;
                Token::Op(Op::Gt)
            }
            '<' => {
                i += 1;
                Token::Op(Op::Lt)
            }
            '!' => {
                i += 1;
                Token::Not
            }
            '=' => return Err(err("use `==` to compare".into(), i)),
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                Token::Number(
                    s.parse()
                        .map_err(|_| err(format!("bad number `{s}`"), start))?,
                )
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
                {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                match s.as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    _ => Token::Ident(s),
                }
            }
            other => return Err(err(format!("unexpected `{other}`"), i)),
        };
        out.push((token, start));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len, |(_, a)| *a)
    }

    fn error(&self, message: &str) -> ConditionError {
        ConditionError {
            message: message.to_string(),
            at: self.at(),
        }
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Condition, ConditionError> {
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Token::Close) {
                return Err(self.error("expected `)`"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let left = self.operand()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.operand()?;
            return Ok(Condition::Compare(left, op, right));
        }
        Ok(Condition::Truthy(left))
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        match self.peek().cloned() {
            Some(Token::Number(n)) => {
                self.pos += 1;
                Ok(Operand::Number(n))
            }
            Some(Token::Ident(name)) => {
                self.pos += 1;
                Ok(Operand::Variable(name))
            }
            Some(_) => Err(self.error("expected a number or a name")),
            None => Err(self.error("the condition ends too early")),
        }
    }
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            len: text.chars().count(),
        };
        if parser.tokens.is_empty() {
            return Err(parser.error("the condition is empty"));
        }
        let condition = parser.or()?;
        if parser.pos < parser.tokens.len() {
            return Err(parser.error("unexpected text after the condition"));
        }
        Ok(condition)
    }

    /// Every variable the condition reads, in order of appearance.
    pub fn variables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut operand = |o: &'a Operand| {
            if let Operand::Variable(v) = o {
                if !out.contains(&v.as_str()) {
                    out.push(v.as_str());
                }
            }
        };
        match self {
            Condition::Or(parts) | Condition::And(parts) => {
                for p in parts {
                    p.collect(out);
                }
            }
            Condition::Not(inner) => inner.collect(out),
            Condition::Compare(a, _, b) => {
                operand(a);
                operand(b);
            }
            Condition::Truthy(a) => operand(a),
        }
    }

    /// Evaluate with `lookup` giving each variable's value. A comparison (or
    /// bare name) involving a name `lookup` has no value for is false: a reply
    /// no scorer rated on `objection` satisfies neither `level.objection == 0`
    /// nor `level.objection == 2`.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> bool {
        let value = |o: &Operand| match o {
            Operand::Number(n) => Some(*n),
            Operand::Variable(v) => lookup(v),
        };
        match self {
            Condition::Or(parts) => parts.iter().any(|p| p.eval(lookup)),
            Condition::And(parts) => parts.iter().all(|p| p.eval(lookup)),
            Condition::Not(inner) => !inner.eval(lookup),
            Condition::Truthy(a) => value(a).is_some_and(|v| v != 0.0),
            Condition::Compare(a, op, b) => {
                let (Some(a), Some(b)) = (value(a), value(b)) else {
                    return false;
                };
                match op {
                    Op::Ge => a >= b,
                    Op::Le => a <= b,
                    Op::Gt => a > b,
                    Op::Lt => a < b,
                    Op::Eq => a == b,
                    Op::Ne => a != b,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, vars: &[(&str, f64)]) -> bool {
        let c = Condition::parse(text).unwrap();
        c.eval(&|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn precedence_and_keywords() {
        let vars = [("anger", 80.0), ("trust", 30.0), ("turn", 3.0)];
        assert!(eval("anger >= 70 and trust < 40", &vars));
        assert!(eval("anger >= 90 or trust < 40 and turn == 3", &vars));
        assert!(!eval("(anger >= 90 or trust < 40) and turn > 3", &vars));
        assert!(eval("not anger < 50 && !(trust > 50)", &vars));
        assert!(
            !eval("level.empathy == 0", &vars),
            "unknown names compare false"
        );
        assert!(!eval("level.empathy != 0", &vars));
        assert!(eval("not level.empathy >= 2", &vars));
        assert!(eval("revealed.outage-area || anger", &vars));
        assert!(eval("trust > -5.5", &vars));
    }

    #[test]
    fn lists_variables_for_validation() {
        let c = Condition::parse("anger > 70 and (level.empathy >= 2 or anger < trust)").unwrap();
        assert_eq!(c.variables(), ["anger", "level.empathy", "trust"]);
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = Condition::parse("anger = 70").unwrap_err();
        assert_eq!(e.to_string(), "use `==` to compare (at character 7)");
        let e = Condition::parse("anger >= ").unwrap_err();
        assert_eq!(e.message, "the condition ends too early");
        let e = Condition::parse("(anger > 1").unwrap_err();
        assert_eq!(e.message, "expected `)`");
        let e = Condition::parse("anger > 1 trust").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected text after the condition (at character 11)"
        );
        assert!(Condition::parse("  ").is_err());
        assert!(Condition::parse("anger > 1 # x").is_err());
    }
}
