//! One error type for the crate. Each variant says what went wrong and carries
//! what a caller needs to act on it.

use crate::schema::{DecodeError, SchemaError, ValidationErrors};

/// Everything that can go wrong in typecall.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A type could not be given a schema in the dialect asked for.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A value did not match its schema.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A value could not be decoded into its Rust type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
