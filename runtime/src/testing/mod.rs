//! Record and replay, for testing code that talks to models without a network
//! (enable the `testing` feature).
//!
//! - [`Replay`] serves recorded exchanges (the layout and JSON format of typecall's
//!   recordings: `{"interactions": [{"request": …, "response": …}]}`) from a
//!   loopback HTTP server, matching each request by what it means.
//! - [`Recorder`] writes every exchange of a live client in that same format,
//!   with credentials removed: record once with a key, commit, replay in CI.
//!
//! ```no_run
//! # fn demo() -> typecall::Result<()> {
//! use typecall::testing::Replay;
//! let replay = Replay::from_dir("tests/recordings")?;
//! let model = typecall::Cerebras::new("unused").base_url(replay.url()).model("llama3.1-8b");
//! # Ok(()) }
//! ```

mod matching;
mod recorder;
mod replay;
mod scripted;

pub mod decode;

pub use matching::RequestMeaning;
pub use recorder::Recorder;
pub use replay::{Interaction, RecordedRequest, RecordedResponse, Replay};
pub use scripted::{ScriptedModel, example};
