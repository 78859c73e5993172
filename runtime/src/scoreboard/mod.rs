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

pub use probe::{MEDIA, ProbeOptions, Progress, probe, probe_with, probe_with_progress, scenarios};

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

/// The media a model understood, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Inputs {
    /// 📸
    pub image: bool,
    /// 📄
    pub pdf: bool,
    /// 🎤
    pub audio: bool,
    /// 🎥
    pub video: bool,
}

impl Inputs {
    pub(crate) fn set(&mut self, kind: crate::chat::MediaKind) {
        use crate::chat::MediaKind;
        match kind {
            MediaKind::Image => self.image = true,
            MediaKind::Pdf => self.pdf = true,
            MediaKind::Audio => self.audio = true,
            MediaKind::Video => self.video = true,
            _ => {}
        }
    }
    /// The 2026 ➛In symbols, in the public table's order: 🎤🎥💬📄📸.
    pub fn symbols(&self, text: bool) -> String {
        let mut s = String::new();
        for (on, sym) in [
            (self.audio, "🎤"),
            (self.video, "🎥"),
            (text, "💬"),
            (self.pdf, "📄"),
            (self.image, "📸"),
        ] {
            if on {
                s.push_str(sym);
            }
        }
        if s.is_empty() { "❌".into() } else { s }
    }
}

/// The media a model made on request, by kind (the 2026 Out➛ column, with
/// text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Outputs {
    /// 🎤 speech.
    pub audio: bool,
    /// 📸 an image.
    pub image: bool,
}

impl Outputs {
    /// The 2026 Out➛ symbols (🎤💬📸), `text` when text answers came.
    pub fn symbols(&self, text: bool) -> String {
        let s: String = [(self.audio, "🎤"), (text, "💬"), (self.image, "📸")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, sym)| *sym)
            .collect();
        if s.is_empty() { "❌".into() } else { s }
    }

    /// Whether anything was made.
    pub fn any(&self) -> bool {
        self.audio || self.image
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
    /// Citations into a supplied document.
    pub cite: Cell,
    /// The media the model understood (the 2026 ➛In column).
    #[serde(default)]
    pub inputs: Inputs,
    /// The media the model made (the 2026 Out➛ column, with text).
    #[serde(default)]
    pub outputs: Outputs,
    /// Whether a tool call could be forced (`tool_choice` required) (🪨).
    #[serde(default)]
    pub forced_tool: bool,
    /// Whether the provider's web search worked (🕸️).
    #[serde(default)]
    pub web_search: bool,
    /// Forced tool calls tried, and how many worked.
    #[serde(default)]
    pub samples: (u32, u32),
    /// Whether the tool scenario worked only once `tool_choice` was auto.
    #[serde(default)]
    pub tool_needed_auto: bool,
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

/// A markdown table of `rows` under `header`, padded, then `legend`.
fn render(header: &[&str], rows: Vec<Vec<String>>, legend: &str) -> String {
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
    out.push_str(legend);
    out.push('\n');
    out
}

/// The legend of the 2026 format (the public scoreboards').
pub const LEGEND_2026: &str = "Mode: Sync, Stream, 🧠 thinking; ➛In/Out➛: 💬 text, 📄 PDF, 📸 image, 🎤 audio, 🎥 video; \
Tool: ✅ works, 🪨 a tool call can be forced, 🕸️ web search, 💨 flaky (samples disagreed); \
JSON: ✅ free-form and schema, ☁️ free-form only, 📐 schema only; Text: 🌱 seed (two seeded answers equal), \
📏 max tokens, 🛑 stop; ✅ works, ❌ not supported.";

impl Row {
    /// This row's cells in the 2026 format, in column order.
    pub fn cells_2026(&self) -> Vec<String> {
        let mut mode = if self.mode.streaming {
            "Stream"
        } else {
            "Sync"
        }
        .to_owned();
        if self.mode.thinking {
            mode.push('🧠');
        }
        let (tries, forced_ok) = self.samples;
        let tool_works = self.tool != Cell::No;
        let mut tool = if !tool_works {
            String::new()
        } else if tries > 1 && forced_ok < tries && forced_ok > 0 {
            format!("💨{forced_ok}/{tries}")
        } else if self.tool == Cell::Works || self.tool_needed_auto {
            "✅".to_owned()
        } else {
            "💨".to_owned()
        };
        if tool_works && self.forced_tool {
            tool.push('🪨');
        }
        if self.web_search {
            tool.push_str("🕸️");
        }
        if tool.is_empty() {
            tool.push('❌');
        }
        let json = match (self.json, self.schema) {
            (Cell::Works, Cell::Works) => "✅",
            (Cell::Works, _) => "☁️",
            (_, Cell::Works) => "📐",
            (Cell::Flaky, _) | (_, Cell::Flaky) => "💨",
            _ => "❌",
        };
        vec![
            self.model.clone(),
            mode,
            // A prompt made into media was text in, too.
            self.inputs.symbols(self.text_works || self.outputs.any()),
            self.outputs.symbols(self.text_works),
            tool,
            json.into(),
            self.batch.symbol().into(),
            self.file.symbol().into(),
            self.cite.symbol().into(),
            self.text.symbols(),
            self.probs.symbol().into(),
            self.limits.symbol().into(),
            self.usage.symbol().into(),
            self.finish.symbol().into(),
        ]
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
    /// The markdown table, with the public Cerebras scoreboard's columns and
    /// symbols (2025).
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
        render(&header, rows, LEGEND)
    }

    /// The markdown table in the public scoreboards' 2026 format
    /// (`Model | Mode | ➛In | Out➛ | Tool | JSON | …`).
    pub fn markdown_2026(&self) -> String {
        let header = [
            "Model", "Mode", "➛In", "Out➛", "Tool", "JSON", "Batch", "File", "Cite", "Text",
            "Probs", "Limits", "Usage", "Finish",
        ];
        let rows: Vec<Vec<String>> = self.rows.iter().map(Row::cells_2026).collect();
        render(&header, rows, LEGEND_2026)
    }

    /// The table as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Every `*.json` file below `dir`, sorted.
fn json_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The models of a recordings tree (the layout of typecall's recordings:
/// `<dir>/<model>[_thinking]/<Mode>-<Scenario>.json`, where a model's folder
/// may nest, as `groq/openai/gpt-oss-20b_thinking`), as (model, thinking),
/// sorted: every folder holding `Gen*.json` recordings, named by its path
/// below `dir`. `errors/` and `extras/` are left out.
///
/// # Errors
/// When `dir` cannot be read.
pub fn models_in_recordings(dir: &std::path::Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for file in json_files(dir)? {
        let Ok(rel) = file.strip_prefix(dir) else {
            continue;
        };
        let first = rel.components().next().map(|c| c.as_os_str());
        if first.is_some_and(|c| c == "errors" || c == "extras") {
            continue;
        }
        let is_recording = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("Gen"));
        let Some(folder) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
            continue;
        };
        if !is_recording {
            continue;
        }
        let folder = folder
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let (model, thinking) = match folder.strip_suffix("_thinking") {
            Some(model) => (model.to_owned(), true),
            None => (folder, false),
        };
        let entry = (recorded_name(&file, &model).unwrap_or(model), thinking);
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out.sort();
    Ok(out)
}

/// The model a recording's requests name, where its folder holds that name
/// with the characters a folder cannot (`gemma4:e2b` in `gemma4-e2b`).
fn recorded_name(file: &std::path::Path, folder: &str) -> Option<String> {
    use serde_json::Value;
    let text = std::fs::read_to_string(file).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let folded =
        |m: &str| -> String { m.chars().map(|c| if c == ':' { '-' } else { c }).collect() };
    v.get("interactions")?
        .as_array()?
        .iter()
        .filter_map(|i| i.pointer("/request/body/model")?.as_str())
        .find(|m| *m != folder && folded(m) == folder)
        .map(str::to_owned)
}

/// The media sent inline in a recordings tree's requests, by media type
/// (base64), for probing the inline scenarios against those recordings:
/// Anthropic's `source.data`, Gemini's `inlineData`, and `data:` URLs.
pub fn media_in_recordings(
    dir: &std::path::Path,
) -> std::io::Result<std::collections::BTreeMap<String, String>> {
    use serde_json::Value;
    /// `audio`: the media type of the scenario's audio, for chat
    /// completions' `input_audio`, whose `format` does not say it (a
    /// recording client wrote `mp3` for every file).
    fn walk(
        v: &Value,
        out: &mut std::collections::BTreeMap<String, String>,
        audio: Option<&str>,
        depth: usize,
    ) {
        if depth > 32 {
            return;
        }
        match v {
            Value::String(s) => {
                if let Some(rest) = s.strip_prefix("data:")
                    && let Some((mt, data)) = rest.split_once(";base64,")
                {
                    out.entry(mt.to_owned()).or_insert_with(|| data.to_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out, audio, depth + 1)),
            Value::Object(o) => {
                let mt = o.get("media_type").or_else(|| o.get("mimeType"));
                if let (Some(Value::String(mt)), Some(Value::String(data))) = (mt, o.get("data"))
                    && o.get("type").and_then(Value::as_str) != Some("text")
                {
                    out.entry(mt.clone()).or_insert_with(|| data.clone());
                }
                if let (Some(Value::String(data)), Some(_), Some(mt)) =
                    (o.get("data"), o.get("format"), audio)
                {
                    out.entry(mt.to_owned()).or_insert_with(|| data.clone());
                }
                // Ollama's `images`: bare base64, the type read from the bytes.
                for image in o
                    .get("images")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Value::String(data) = image {
                        let mt = crate::chat::Media::from_base64(data.clone()).media_type;
                        if mt.starts_with("image/") {
                            out.entry(mt).or_insert_with(|| data.clone());
                        }
                    }
                }
                o.values().for_each(|v| walk(v, out, audio, depth + 1));
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for path in json_files(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains("MultiModal") {
            continue;
        }
        let audio = probe::MEDIA
            .iter()
            .find(|(_, mt, _, _, inline)| mt.starts_with("audio/") && name.contains(inline))
            .map(|(_, mt, ..)| *mt);
        let text = std::fs::read_to_string(&path)?;
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            for i in v
                .get("interactions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(b) = i.pointer("/request/body") {
                    walk(b, &mut out, audio, 0);
                }
            }
        }
    }
    Ok(out)
}
