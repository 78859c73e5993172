//! The scoreboard: probe a model for every feature of the public Cerebras
//! scoreboard and render the same table, from typecall's own probes.
//!
//! ```no_run
//! # async fn demo() -> typecall::Result<()> {
//! use typecall::scoreboard::{Mode, Table, probe};
//! let model = typecall::Cerebras::from_env()?.model("llama3.1-8b");
//! let row = probe(&model, Mode::blocking()).await;
//! println!("{}", Table { rows: vec![row] }.markdown());
//! # Ok(()) }
//! ```

mod probe;

use serde::{Deserialize, Serialize};

use crate::provider::{Capabilities, Support, Thinking};

pub use probe::{Progress, probe, probe_with_progress, scenarios};

/// How a model is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mode {
    /// `stream: true` (📡) or blocking (🕰️).
    pub streaming: bool,
    /// Thinking (🧠): for a model that thinks on request (qwen-3-32b), every
    /// conversation ends with a `/think` message.
    pub thinking: bool,
}

impl Mode {
    /// Blocking, not thinking.
    pub fn blocking() -> Self {
        Self {
            streaming: false,
            thinking: false,
        }
    }
    /// Streaming, not thinking.
    pub fn streaming() -> Self {
        Self {
            streaming: true,
            thinking: false,
        }
    }
    /// The same, thinking.
    pub fn thinking(self) -> Self {
        Self {
            thinking: true,
            ..self
        }
    }
    /// The table's symbols: 🕰️ or 📡, then 🧠.
    pub fn symbols(&self) -> String {
        let mut s = if self.streaming {
            "📡".to_owned()
        } else {
            "🕰️".to_owned()
        };
        if self.thinking {
            s.push('🧠');
        }
        s
    }
}

/// A cell: ✅ works, ❌ not supported, 💨 flaky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// ✅
    Works,
    /// 💨
    Flaky,
    /// ❌
    No,
}

impl Cell {
    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Cell::Works => "✅",
            Cell::Flaky => "💨",
            Cell::No => "❌",
        }
    }
    /// From a symbol (`✅`, `💨`, `❌`).
    pub fn from_symbol(s: &str) -> Option<Self> {
        match s.trim() {
            s if s.starts_with('✅') => Some(Cell::Works),
            s if s.starts_with('💨') => Some(Cell::Flaky),
            s if s.starts_with('❌') => Some(Cell::No),
            _ => None,
        }
    }
    fn support(self) -> Support {
        match self {
            Cell::Works => Support::Yes,
            Cell::Flaky => Support::Flaky,
            Cell::No => Support::No,
        }
    }
}

/// Whether tool calling picks the first enum value whatever the prompt says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bias {
    /// It picked the first enum value both times.
    Biased,
    /// It picked the first value neither time (🧐).
    NotBiased,
    /// Once, or the probe could not tell.
    Unclear,
}

/// The Text column: which of seed (🌱), max tokens (📏), stop (🛑) work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextCell {
    /// 🌱
    pub seed: bool,
    /// 📏
    pub max_tokens: bool,
    /// 🛑
    pub stop: bool,
}

impl TextCell {
    /// The symbols.
    pub fn symbols(&self) -> String {
        let mut s = String::new();
        if self.seed {
            s.push('🌱');
        }
        if self.max_tokens {
            s.push('📏');
        }
        if self.stop {
            s.push('🛑');
        }
        if s.is_empty() {
            s.push('❌');
        }
        s
    }
}

/// One row of the table: a model in a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Row {
    /// The model.
    pub model: String,
    /// How it was probed.
    pub mode: Mode,
    /// Whether a text answer arrived at all.
    pub text_works: bool,
    /// JSON mode.
    pub json: Cell,
    /// JSON Schema output.
    pub schema: Cell,
    /// Tool calling.
    pub tool: Cell,
    /// Tool calling's bias to the first enum value.
    pub bias: Bias,
    /// Batch API (not probed: ❌).
    pub batch: Cell,
    /// File input (not probed: ❌).
    pub file: Cell,
    /// Citations (not returned by these providers: ❌).
    pub cite: Cell,
    /// Seed, max tokens, stop.
    pub text: TextCell,
    /// Per-token log probabilities.
    pub probs: Cell,
    /// Rate-limit headers.
    pub limits: Cell,
    /// Token counts.
    pub usage: Cell,
    /// Finish reasons as expected.
    pub finish: Cell,
    /// What went wrong in each scenario that did not work, for the curious.
    pub notes: Vec<String>,
}

impl Row {
    /// The capabilities these results show, for `output` and `agent` to use.
    pub fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::unknown();
        c.json_mode = self.json.support();
        c.json_schema = self.schema.support();
        c.tools = self.tool.support();
        c.tool_choice_required = self.tool.support();
        c.seed = if self.text.seed {
            Support::Yes
        } else {
            Support::No
        };
        c.max_tokens = if self.text.max_tokens {
            Support::Yes
        } else {
            Support::No
        };
        c.stop = if self.text.stop {
            Support::Yes
        } else {
            Support::Flaky
        };
        c.logprobs = self.probs.support();
        if self.mode.streaming {
            c.structured_streaming = self.schema.support();
        }
        if self.mode.thinking {
            c.thinking = Thinking::Always;
        }
        c
    }
}

/// Rows, rendered as the public scoreboard renders them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The rows, in order.
    pub rows: Vec<Row>,
}

/// The legend under the table (the public scoreboard's).
pub const LEGEND: &str = "✅ works, ❌ not supported, 💨 flaky, 🧐 tool calling not biased to the first enum value; \
Text: 🌱 seed, 📏 max tokens, 🛑 stop; Mode: 🕰️ blocking, 📡 streaming, 🧠 thinking.";

impl Table {
    /// The markdown table, with the public scoreboard's columns and symbols.
    pub fn markdown(&self) -> String {
        let header = [
            "Model", "Mode", "In", "Out", "JSON", "Schema", "Tool", "Batch", "File", "Cite",
            "Text", "Probs", "Limits", "Usage", "Finish",
        ];
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut tool = r.tool.symbol().to_owned();
                if r.bias == Bias::NotBiased && r.tool != Cell::No {
                    tool.push('🧐');
                }
                vec![
                    r.model.clone(),
                    r.mode.symbols(),
                    "💬".into(),
                    "💬".into(),
                    r.json.symbol().into(),
                    r.schema.symbol().into(),
                    tool,
                    r.batch.symbol().into(),
                    r.file.symbol().into(),
                    r.cite.symbol().into(),
                    r.text.symbols(),
                    r.probs.symbol().into(),
                    r.limits.symbol().into(),
                    r.usage.symbol().into(),
                    r.finish.symbol().into(),
                ]
            })
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([header.get(i).map_or(0, |h| h.chars().count())])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..header.len()).map(width).collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
                .collect();
            format!("| {} |", padded.join(" | "))
        };
        let mut out = String::new();
        out.push_str(&line(header.iter().map(|h| (*h).to_owned()).collect()));
        out.push('\n');
        out.push_str(&format!(
            "| {} |",
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        out.push('\n');
        for r in rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(LEGEND);
        out.push('\n');
        out
    }

    /// The table as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The models of a recordings tree (the layout of typecall's recordings:
/// `<dir>/<model>[_thinking]/<Mode>-<Scenario>.json`), as (model, thinking),
/// sorted. `errors/` is left out.
///
/// # Errors
/// When `dir` cannot be read.
pub fn models_in_recordings(dir: &std::path::Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name == "errors" {
            continue;
        }
        match name.strip_suffix("_thinking") {
            Some(model) => out.push((model.to_owned(), true)),
            None => out.push((name.to_owned(), false)),
        }
    }
    out.sort();
    Ok(out)
}
