//! What a conference asks beyond the original five fields: an e-mail
//! address, a category (speaker, staff, sponsor…) printed as a band on the
//! badge, its own questions (some printed as a line on the badge); and how
//! many seats it has, with a waiting list.

use std::collections::BTreeMap;

use lanyard_badge::Rgb;
use serde::{Deserialize, Serialize};

use crate::fields::{normalize, FieldError};

/// Whether a conference's sign-up asks for an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailPolicy {
    /// Not asked; an address sent is refused.
    Off,
    /// Asked, may be left empty.
    #[default]
    Optional,
    /// Asked and needed.
    Required,
}

/// A label in the page's languages: `"Speaker"`, or `{ en = "Speaker", ko = "연사" }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelConfig {
    One(String),
    Languages {
        en: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ko: Option<String>,
    },
}

/// A label as the page shows it: English, and Korean when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Label {
    pub en: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ko: Option<String>,
}

impl From<LabelConfig> for Label {
    fn from(c: LabelConfig) -> Label {
        match c {
            LabelConfig::One(en) => Label { en, ko: None },
            LabelConfig::Languages { en, ko } => Label { en, ko },
        }
    }
}

/// `[[conference.category]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    pub id: String,
    pub label: LabelConfig,
    /// `#rrggbb` of the band; the conference's accent when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// The text of the band printed across the badge's foot (`SPEAKER`);
    /// no band when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
    /// Offered on the sign-up page (attendee, student); otherwise only
    /// organizers give it (speaker, staff).
    #[serde(default)]
    pub public: bool,
    /// Given to sign-ups that name no category.
    #[serde(default)]
    pub default: bool,
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// One line of text.
    Text,
    /// One of `choices`.
    Choice,
    /// Any of `choices`.
    Multi,
    /// Yes or no.
    Bool,
    /// An e-mail address.
    Email,
}

/// Whether an answer is printed on the badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBadge {
    /// On the line under the company (answers of several such questions
    /// share it, separated by ` · `).
    Line,
    #[default]
    None,
}

/// `[[conference.question]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionConfig {
    pub id: String,
    pub label: LabelConfig,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// Characters a text answer may take (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The answers of `choice` and `multi`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default)]
    pub on_badge: OnBadge,
    /// Personal data: never printed, never shown to desks.
    #[serde(default)]
    pub pii: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: String,
    pub label: Label,
    /// `#rrggbb`.
    #[schema(value_type = String)]
    #[serde(serialize_with = "rgb_text")]
    pub colour: Rgb,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
    pub public: bool,
}

impl Question {
    /// One answer checked against this question; `None` when empty.
    fn parse(&self, answer: &Answer) -> Result<Option<Answer>, String> {
        let q = self;
        Ok(match (q.kind, answer) {
            (QuestionKind::Bool, Answer::Yes(yes)) => Some(Answer::Yes(*yes)),
            (QuestionKind::Bool, Answer::Text(t)) => match t.trim().to_lowercase().as_str() {
                "" => None,
                "yes" | "true" | "y" | "1" | "예" => Some(Answer::Yes(true)),
                "no" | "false" | "n" | "0" | "아니오" => Some(Answer::Yes(false)),
                _ => return Err("must be yes or no".into()),
            },
            (QuestionKind::Text, Answer::Text(t)) => {
                let t = crate::fields::free_text_of(t, q.max_length as usize)?;
                (!t.is_empty()).then_some(Answer::Text(t))
            }
            (QuestionKind::Email, Answer::Text(t)) => crate::fields::Email::parse(t)
                .map_err(|e| e.message)?
                .map(|e| Answer::Text(e.as_str().to_owned())),
            (QuestionKind::Choice, Answer::Text(t)) => {
                let t = normalize(t.trim());
                if t.is_empty() {
                    None
                } else if q.choices.contains(&t) {
                    Some(Answer::Text(t))
                } else {
                    return Err(format!("must be one of {}", q.choices.join(", ")));
                }
            }
            (QuestionKind::Multi, Answer::Choices(list)) => {
                let mut chosen = Vec::new();
                for c in list {
                    let c = normalize(c.trim());
                    if !q.choices.contains(&c) {
                        return Err(format!("may hold only {}", q.choices.join(", ")));
                    }
                    if !chosen.contains(&c) {
                        chosen.push(c);
                    }
                }
                // In the configured order, whatever order they came in.
                chosen.sort_by_key(|c| q.choices.iter().position(|k| k == c));
                (!chosen.is_empty()).then_some(Answer::Choices(chosen))
            }
            (QuestionKind::Multi, Answer::Text(t)) => {
                // A spreadsheet cell: choices separated by `;`.
                let list = t
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                return q.parse(&Answer::Choices(list));
            }
            (kind, _) => {
                let want = match kind {
                    QuestionKind::Bool => "true or false",
                    QuestionKind::Multi => "a list of choices",
                    _ => "text",
                };
                return Err(format!("must be {want}"));
            }
        })
    }
}

fn rgb_text<S: serde::Serializer>(rgb: &Rgb, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(rgb)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Question {
    pub id: String,
    pub label: Label,
    pub kind: QuestionKind,
    pub required: bool,
    pub max_length: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    pub on_badge: bool,
    pub pii: bool,
}

/// An answer: text (also a choice or an e-mail address), the choices of a
/// `multi` question, or yes/no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Answer {
    Yes(bool),
    Text(String),
    Choices(Vec<String>),
}

impl Answer {
    /// The answer as one cell of text: choices joined with `; `, yes/no as `yes`/`no`.
    pub fn to_text(&self) -> String {
        match self {
            Answer::Yes(true) => "yes".into(),
            Answer::Yes(false) => "no".into(),
            Answer::Text(t) => t.clone(),
            Answer::Choices(c) => c.join("; "),
        }
    }
}

/// A registration's answers, by question id.
pub type Answers = BTreeMap<String, Answer>;

/// What a registration says beyond the original five fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub email: Option<crate::fields::Email>,
    /// A category id of the conference.
    pub category: Option<String>,
    pub answers: Answers,
}

/// The default question length and the longest allowed.
const DEFAULT_MAX_LENGTH: u32 = 100;
const LONGEST_MAX_LENGTH: u32 = 1000;
/// Ids of categories and questions: short, and safe as CSV column names.
fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A conference's form: what its sign-up asks and its categories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub email: EmailPolicy,
    pub categories: Vec<Category>,
    pub questions: Vec<Question>,
    /// The category sign-ups get when they name none.
    pub default_category: Option<String>,
}

impl Form {
    /// Checks a conference's categories and questions; `accent` colours a
    /// category that names none.
    pub fn build(
        email: EmailPolicy,
        categories: Vec<CategoryConfig>,
        questions: Vec<QuestionConfig>,
        accent: Rgb,
    ) -> Result<Form, String> {
        let mut form = Form {
            email,
            ..Form::default()
        };
        let mut defaults = 0;
        for c in categories {
            if !valid_id(&c.id) {
                return Err(format!(
                    "category id {:?} must be 1–40 letters, digits, _ or -",
                    c.id
                ));
            }
            if form.categories.iter().any(|k| k.id == c.id) {
                return Err(format!("category {:?} appears twice", c.id));
            }
            let colour = match &c.colour {
                Some(text) => text
                    .parse()
                    .map_err(|e| format!("category {:?}: colour: {e}", c.id))?,
                None => accent,
            };
            if let Some(band) = &c.band {
                if band.trim().is_empty() || band.chars().count() > 40 {
                    return Err(format!("category {:?}: band must be 1–40 characters", c.id));
                }
            }
            defaults += usize::from(c.default);
            form.categories.push(Category {
                id: c.id,
                label: c.label.into(),
                colour,
                band: c.band.map(|b| b.trim().to_owned()),
                public: c.public || c.default,
            });
            if c.default {
                form.default_category = form.categories.last().map(|k| k.id.clone());
            }
        }
        if defaults > 1 {
            return Err("only one category may be the default".into());
        }
        for q in questions {
            if !valid_id(&q.id) {
                return Err(format!(
                    "question id {:?} must be 1–40 letters, digits, _ or -",
                    q.id
                ));
            }
            if form.questions.iter().any(|k| k.id == q.id) {
                return Err(format!("question {:?} appears twice", q.id));
            }
            let max_length = q.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
            if !(1..=LONGEST_MAX_LENGTH).contains(&max_length) {
                return Err(format!(
                    "question {:?}: max_length must be 1 to {LONGEST_MAX_LENGTH}",
                    q.id
                ));
            }
            let has_choices = matches!(q.kind, QuestionKind::Choice | QuestionKind::Multi);
            if has_choices == q.choices.is_empty() {
                return Err(format!(
                    "question {:?}: choices are for kinds choice and multi, which need them",
                    q.id
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for choice in &q.choices {
                if choice.trim().is_empty() || !seen.insert(choice.as_str()) {
                    return Err(format!(
                        "question {:?}: choices must be distinct and not empty",
                        q.id
                    ));
                }
            }
            let on_badge = q.on_badge == OnBadge::Line;
            if on_badge && (q.pii || q.kind == QuestionKind::Email) {
                return Err(format!(
                    "question {:?}: personal data (pii, e-mail) is never printed on a badge",
                    q.id
                ));
            }
            form.questions.push(Question {
                id: q.id,
                label: q.label.into(),
                kind: q.kind,
                required: q.required,
                max_length,
                choices: q.choices,
                on_badge,
                pii: q.pii || q.kind == QuestionKind::Email,
            });
        }
        Ok(form)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The category new sign-ups get when they name none.
    pub fn default_category(&self) -> Option<&str> {
        self.default_category.as_deref()
    }

    /// The category a request names: a public one for anybody, any for an
    /// organizer; the default when none is named.
    pub fn parse_category(
        &self,
        raw: Option<&str>,
        organizer: bool,
    ) -> Result<Option<String>, FieldError> {
        let raw = raw.map(str::trim).filter(|c| !c.is_empty());
        let Some(id) = raw else {
            return Ok(self.default_category().map(str::to_owned));
        };
        match self.category(id) {
            Some(c) if c.public || organizer => Ok(Some(c.id.clone())),
            Some(_) => Err(FieldError::new(
                "category",
                format!("{id:?} is given by the organizers"),
            )),
            None => Err(FieldError::new(
                "category",
                format!("{id:?} is not a category of this conference"),
            )),
        }
    }

    /// The e-mail address a sign-up gives, by the conference's policy.
    pub fn parse_email(
        &self,
        raw: Option<&str>,
    ) -> Result<Option<crate::fields::Email>, FieldError> {
        self.parse_email_as(raw, true)
    }

    /// [`Form::parse_email`], with the address's requirement waived when
    /// `required` is false (a walk-in at the door).
    pub fn parse_email_as(
        &self,
        raw: Option<&str>,
        required: bool,
    ) -> Result<Option<crate::fields::Email>, FieldError> {
        use crate::fields::Email;
        let email = Email::parse(raw.unwrap_or(""))?;
        match (self.email, &email) {
            (EmailPolicy::Required, None) if !required => Ok(None),
            (EmailPolicy::Off, Some(_)) => Err(FieldError::new(
                Email::FIELD,
                "is not asked by this conference",
            )),
            (EmailPolicy::Required, None) => Err(FieldError::new(Email::FIELD, "is required")),
            _ => Ok(email),
        }
    }

    /// Checks answers against the questions: each known, of its kind and
    /// length, every required one given. Empty answers are dropped.
    pub fn parse_answers(&self, raw: &BTreeMap<String, Answer>) -> Result<Answers, FieldError> {
        self.parse_answers_as(raw, true)
    }

    /// [`Form::parse_answers`], with required questions left unanswered
    /// allowed when `required` is false (a walk-in at the door).
    pub fn parse_answers_as(
        &self,
        raw: &BTreeMap<String, Answer>,
        required: bool,
    ) -> Result<Answers, FieldError> {
        let mut answers = Answers::new();
        for (id, answer) in raw {
            let q = self.question(id).ok_or_else(|| {
                FieldError::new(
                    "answers",
                    format!("{id}: is not a question of this conference"),
                )
            })?;
            if let Some(parsed) = q
                .parse(answer)
                .map_err(|m| FieldError::new("answers", format!("{id}: {m}")))?
            {
                answers.insert(id.clone(), parsed);
            }
        }
        if let Some(missing) = self
            .questions
            .iter()
            .find(|q| required && q.required && !answers.contains_key(&q.id))
        {
            return Err(FieldError::new(
                "answers",
                format!("{}: is required", missing.id),
            ));
        }
        Ok(answers)
    }

    /// The line the badge prints under the company: the answers of the
    /// questions printed on it, in the questions' order, joined with ` · `.
    pub fn badge_line(&self, answers: &Answers) -> Option<String> {
        let parts: Vec<String> = self
            .questions
            .iter()
            .filter(|q| q.on_badge)
            .filter_map(|q| match answers.get(&q.id)? {
                // A yes prints the question's label; a no prints nothing.
                Answer::Yes(true) => Some(q.label.en.clone()),
                Answer::Yes(false) => None,
                other => Some(other.to_text()),
            })
            .filter(|t| !t.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" · "))
    }

    /// Answers a desk may see: none marked personal.
    pub fn public_answers(&self, answers: &Answers) -> Answers {
        answers
            .iter()
            .filter(|(id, _)| self.question(id).is_some_and(|q| !q.pii))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
