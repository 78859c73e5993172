//! Procedural macros for typecall (see the `typecall` crate).
