//! # typecall
//!
//! Language models through Rust types: tools from functions, typed structured
//! output, and a runtime that drives the tool-calling loop against real model
//! servers (Cerebras first, any OpenAI-compatible server through the same code).
//!
//! The modules, in the order data flows:
//! - [`schema`]: Rust type → provider-ready JSON Schema, and validation of what
//!   comes back.
#![warn(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

#[allow(unused_extern_crates)]
extern crate self as typecall;

pub mod error;
pub mod schema;

pub use error::{Error, Result};

/// Items the macros' generated code names. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
