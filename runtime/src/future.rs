//! Plumbing every layer shares: the boxed future that [`Model`](crate::Model)
//! and [`Tool`](crate::Tool) methods return.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
