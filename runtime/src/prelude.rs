//! What nearly every program using typecall imports, in one line:
//!
//! ```
//! use typecall::prelude::*;
//!
//! /// Get the current weather for a city.
//! #[tool]
//! fn get_weather(city: String) -> String {
//!     format!("Sunny in {city}")
//! }
//!
//! let tools = Toolbox::new().with(GetWeather).unwrap();
//! assert_eq!(tools.names(), ["get_weather"]);
//! ```
//!
//! It brings the builders ([`Agent`], [`Extract`]), the providers
//! ([`Cerebras`], [`OpenAiCompat`], [`Anthropic`], [`Gemini`],
//! [`OpenAiResponses`], the [`Vendor`] presets), the macros and traits for tools, the
//! events of streamed runs and extractions, and [`StreamExt`] to read those
//! streams with `.next().await`.

pub use crate::agent::{Agent, AgentEvent, AgentStop, HookDecision, ToolMode};
pub use crate::chat::{ChatRequest, Message, ToolChoice};
pub use crate::error::{Error, Result};
pub use crate::output::{Extract, ExtractEvent, OutputMode, Partial, extract, extract_many};
pub use crate::provider::{
    Anthropic, Cerebras, Gemini, Model, OpenAiCompat, OpenAiResponses, Vendor,
};
pub use crate::schema::{Dialect, schema_for};
pub use crate::tool::{Ctx, ToolSet, Toolbox};
pub use crate::{Partial, Tool, tool, tools};
pub use futures_util::StreamExt;
