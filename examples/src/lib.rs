//! Runnable examples for typecall live in `examples/`.
