//! One role-play: the trainee's reply is rated by the plugins, the scores move
//! the persona's state, the state picks the customer's move, and the model
//! voices it under the output guard.

use crate::record::{
    Candidate, CustomerLine, LineSource, PluginResult, SessionReport, TurnRecord, TurnUpdateRecord,
    VoiceCounts,
};
use serde::Serialize;
use sparring_core::customer_prompt;
use sparring_core::dialogue::{DialogueState, Outcome};
use sparring_core::guard::{self, Rejection};
use sparring_core::persona::Persona;
use sparring_core::scorecard::{self, Scorecard};
use sparring_core::scoring::{MoodValue, Score, Speaker, Turn, TurnContext};
use sparring_core::{FinishReason, PromptMode, SamplingParams};
use sparring_llm::{ChatBackend, ChatSession, LlmError, Prompt, StreamEvent, TranscriptStyle};
use sparring_scoring::{score_turn_all, Plugin};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Longest trainee reply accepted, in characters (a spoken turn is far less).
pub const MAX_REPLY_CHARS: usize = 2000;

/// How the customer's lines are made.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Same persona, model, seed and trainee replies give the same transcript.
    pub seed: u64,
    /// Model candidates per line before the authored fallback.
    pub attempts: usize,
    /// Sampling for candidates; the seed is derived per line and attempt.
    pub sampling: SamplingParams,
    /// Languages the model can voice (ISO 639-1, "mul" for many; from the
    /// models manifest). For a persona in another language every line is
    /// authored. None: unknown, always try the model.
    pub model_languages: Option<Vec<String>>,
    /// Most sentences in one customer line.
    pub max_sentences: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            seed: 42,
            attempts: 3,
            sampling: SamplingParams {
                temperature: 0.8,
                top_k: 40,
                top_p: 0.95,
                min_p: 0.05,
                repeat_penalty: 1.1,
                max_tokens: 80,
                ..SamplingParams::default()
            },
            model_languages: None,
            max_sentences: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the reply is empty")]
    EmptyReply,
    #[error("the reply is {chars} characters long; the limit is {limit}")]
    ReplyTooLong { chars: usize, limit: usize },
    #[error("the session has ended ({0:?}); start a new one")]
    Ended(Outcome),
    #[error("the model could not be opened: {0}")]
    Backend(#[from] LlmError),
    #[error(
        "stored turn {turn} does not follow from the persona's rules (was the persona changed?)"
    )]
    Diverged { turn: usize },
}

/// What a session reports while it works on a reply, in order: the scores,
/// the state change, then for each candidate `attempt`, its `delta`s and maybe
/// `rejected`, and finally the `line` shown. A front end streams the deltas
/// and drops them when a `rejected` event comes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Scored {
        plugins: Vec<PluginResult>,
    },
    State {
        update: TurnUpdateRecord,
    },
    Attempt {
        attempt: usize,
    },
    Delta {
        attempt: usize,
        text: String,
    },
    Rejected {
        attempt: usize,
        text: String,
        reason: Option<Rejection>,
        error: Option<String>,
    },
    Line {
        line: CustomerLine,
    },
}

/// A running role-play. Blocking: run it on its own thread (or a blocking
/// task of an async server).
pub struct Session {
    persona: Arc<Persona>,
    state: DialogueState,
    chat: Box<dyn ChatSession>,
    model: String,
    mode: PromptMode,
    plugins: Arc<[Plugin]>,
    options: SessionOptions,
    history: Vec<Turn>,
    opening: CustomerLine,
    turns: Vec<TurnRecord>,
    trajectory: Vec<BTreeMap<String, f32>>,
}

/// splitmix64: decorrelated sampling seeds per line and attempt.
fn mix(seed: u64, turn: u64, attempt: u64) -> u64 {
    let mut z = seed
        .wrapping_add(turn.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(attempt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Session {
    /// Starts a session; the customer speaks first, with the persona's
    /// authored opening line.
    pub fn start(
        persona: Arc<Persona>,
        backend: &dyn ChatBackend,
        plugins: Arc<[Plugin]>,
        options: SessionOptions,
    ) -> Result<Session, SessionError> {
        let chat = backend.open()?;
        let state = DialogueState::new(persona.clone());
        let opening = CustomerLine {
            text: persona.opening.clone(),
            intent: "open".into(),
            source: LineSource::Opening,
            candidates: Vec::new(),
        };
        Ok(Session {
            history: vec![Turn {
                speaker: Speaker::Customer,
                text: opening.text.clone(),
            }],
            trajectory: vec![state.moods().clone()],
            persona,
            state,
            chat,
            model: backend.describe(),
            mode: backend.prompt_mode(),
            plugins,
            options,
            opening,
            turns: Vec::new(),
        })
    }

    /// Rebuilds a stored session: the state is replayed from the stored
    /// replies and scores (no model or plugin runs), and must come out as
    /// stored. The next reply continues where the session stopped.
    pub fn restore(
        persona: Arc<Persona>,
        backend: &dyn ChatBackend,
        plugins: Arc<[Plugin]>,
        options: SessionOptions,
        opening: CustomerLine,
        turns: Vec<TurnRecord>,
    ) -> Result<Session, SessionError> {
        let mut session = Session::start(persona, backend, plugins, options)?;
        session.history[0].text = opening.text.clone();
        session.opening = opening;
        for (i, turn) in turns.into_iter().enumerate() {
            let update = TurnUpdateRecord::from(&session.state.apply(&turn.reply, &turn.scores()));
            if update != turn.update {
                return Err(SessionError::Diverged { turn: i });
            }
            session.trajectory.push(session.state.moods().clone());
            session.history.push(Turn {
                speaker: Speaker::Agent,
                text: turn.reply.clone(),
            });
            session.history.push(Turn {
                speaker: Speaker::Customer,
                text: turn.customer.text.clone(),
            });
            session.turns.push(turn);
        }
        Ok(session)
    }

    pub fn persona(&self) -> &Arc<Persona> {
        &self.persona
    }

    pub fn opening(&self) -> &CustomerLine {
        &self.opening
    }

    pub fn state(&self) -> &DialogueState {
        &self.state
    }

    pub fn turns(&self) -> &[TurnRecord] {
        &self.turns
    }

    /// The session has an outcome; further replies are refused.
    pub fn is_over(&self) -> bool {
        self.state.outcome().is_some()
    }

    /// Rates the trainee's reply, updates the persona's state and voices the
    /// customer's answer; `on_event` sees each step as it happens.
    pub fn reply(
        &mut self,
        text: &str,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<&TurnRecord, SessionError> {
        if let Some(outcome) = self.state.outcome() {
            return Err(SessionError::Ended(outcome));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(SessionError::EmptyReply);
        }
        let chars = text.chars().count();
        if chars > MAX_REPLY_CHARS {
            return Err(SessionError::ReplyTooLong {
                chars,
                limit: MAX_REPLY_CHARS,
            });
        }
        let ctx = TurnContext {
            language: self.persona.language,
            scenario: self.persona.scenario,
            persona_summary: self.persona.summary.clone(),
            mood: self
                .state
                .moods()
                .iter()
                .map(|(name, value)| MoodValue {
                    name: name.clone(),
                    value: *value,
                })
                .collect(),
            history: self.history.clone(),
            reply: text.to_string(),
            speech: None,
        };
        let refs: Vec<&Plugin> = self.plugins.iter().collect();
        let plugins: Vec<PluginResult> = score_turn_all(&refs, &ctx)
            .into_iter()
            .map(PluginResult::from)
            .collect();
        on_event(Event::Scored {
            plugins: plugins.clone(),
        });
        let scores: Vec<Score> = plugins.iter().flat_map(|p| p.scores.clone()).collect();
        let update = TurnUpdateRecord::from(&self.state.apply(text, &scores));
        self.trajectory.push(self.state.moods().clone());
        on_event(Event::State {
            update: update.clone(),
        });
        self.history.push(Turn {
            speaker: Speaker::Agent,
            text: text.to_string(),
        });
        let customer = self.voice(&update.intent, on_event);
        self.history.push(Turn {
            speaker: Speaker::Customer,
            text: customer.text.clone(),
        });
        on_event(Event::Line {
            line: customer.clone(),
        });
        self.turns.push(TurnRecord {
            reply: text.to_string(),
            plugins,
            update,
            customer,
        });
        Ok(self.turns.last().expect("just pushed"))
    }

    /// The customer's lines so far.
    fn said(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|t| t.speaker == Speaker::Customer)
            .map(|t| t.text.clone())
            .collect()
    }

    /// Voices `intent`: up to `attempts` model candidates, each checked by the
    /// guard as it streams and again when done; the first that passes is the
    /// line, else the authored fallback.
    fn voice(&mut self, intent: &str, on_event: &mut dyn FnMut(Event)) -> CustomerLine {
        let persona = self.persona.clone();
        let said = self.said();
        let speaks = self.options.model_languages.as_ref().is_none_or(|langs| {
            langs
                .iter()
                .any(|l| l == "mul" || l == persona.language.code())
        });
        if !speaks {
            return CustomerLine {
                text: customer_prompt::fallback(&persona, &self.state, intent, &said),
                intent: intent.to_string(),
                source: LineSource::Authored,
                candidates: Vec::new(),
            };
        }
        let (agent, customer) = customer_prompt::labels(persona.language);
        let messages =
            customer_prompt::build(&persona, &self.state, intent, &self.history, self.mode);
        let style = TranscriptStyle::new(agent, customer, persona.language.code());
        let revealed = self.state.revealed().to_vec();
        let tidy_labels = [
            customer,
            agent,
            "Customer",
            "Agent",
            "Assistant",
            "客户",
            "客服",
        ];
        let mut candidates = Vec::new();
        for attempt in 0..self.options.attempts {
            on_event(Event::Attempt { attempt });
            let mut params = self.options.sampling.clone();
            params.seed = mix(
                self.options.seed,
                self.turns.len() as u64 + 1,
                attempt as u64,
            );
            // A phone line is one paragraph; what follows a newline is the
            // model writing the next speaker or commentary.
            params.stop.push("\n".into());
            let started = Instant::now();
            let mut stream = self.chat.stream(
                Prompt::Messages {
                    messages: messages.clone(),
                    transcript: Some(style.clone()),
                },
                params,
            );
            let (mut raw, mut tokens, mut logprob) = (String::new(), 0usize, None);
            let mut cut_off = false;
            let (mut rejection, mut error) = (None, None);
            while let Some(event) = stream.blocking_next() {
                match event {
                    Ok(StreamEvent::Delta(d)) => {
                        raw.push_str(&d);
                        on_event(Event::Delta { attempt, text: d });
                        let partial = guard::tidy(&raw, &tidy_labels);
                        if let Err(r) = guard::check_partial(&persona, &partial, &revealed) {
                            rejection = Some(r);
                            break;
                        }
                    }
                    Ok(StreamEvent::Done(stats)) => {
                        tokens = stats.generated_tokens;
                        logprob = stats.mean_logprob;
                        cut_off = stats.finish_reason == FinishReason::Length;
                        break;
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            // Dropping the stream stops a candidate the guard has rejected.
            drop(stream);
            let mut text = guard::tidy(&raw, &tidy_labels);
            if rejection.is_none() && error.is_none() {
                match guard::trim_sentences(&text, self.options.max_sentences, cut_off) {
                    Ok(trimmed) => {
                        text = trimmed;
                        rejection = guard::check(&persona, &text, &revealed, &said).err();
                    }
                    Err(r) => rejection = Some(r),
                }
            }
            let ok = rejection.is_none() && error.is_none();
            if !ok {
                on_event(Event::Rejected {
                    attempt,
                    text: text.clone(),
                    reason: rejection.clone(),
                    error: error.clone(),
                });
            }
            candidates.push(Candidate {
                text: text.clone(),
                rejection,
                error,
                tokens,
                mean_logprob: logprob,
                ms: started.elapsed().as_secs_f64() * 1e3,
            });
            if ok {
                return CustomerLine {
                    text,
                    intent: intent.to_string(),
                    source: LineSource::Model,
                    candidates,
                };
            }
        }
        CustomerLine {
            text: customer_prompt::fallback(&persona, &self.state, intent, &said),
            intent: intent.to_string(),
            source: LineSource::Fallback,
            candidates,
        }
    }

    /// The scorecard for the replies so far (callable at any time; the
    /// outcome is missing while the session runs).
    pub fn scorecard(&self) -> Scorecard {
        let replies: Vec<Vec<Score>> = self.turns.iter().map(TurnRecord::scores).collect();
        scorecard::grade(&self.persona.scorecard, &replies, self.state.outcome())
    }

    /// Ends the session: the whole record with the scorecard.
    pub fn end(&self) -> SessionReport {
        let mut voice = VoiceCounts::default();
        for t in &self.turns {
            voice.add(&t.customer);
        }
        SessionReport {
            persona: self.persona.id.clone(),
            language: self.persona.language.code().to_string(),
            model: self.model.clone(),
            prompt_mode: match self.mode {
                PromptMode::Chat => "chat".into(),
                PromptMode::Transcript => "transcript".into(),
            },
            seed: self.options.seed,
            opening: self.opening.clone(),
            turns: self.turns.clone(),
            mood_trajectory: self.trajectory.clone(),
            outcome: self.state.outcome(),
            voice,
            scorecard: self.scorecard(),
        }
    }
}
