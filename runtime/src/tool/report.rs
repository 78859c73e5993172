//! What a running tool tells whoever called it besides its result: progress
//! and log messages. An MCP server sends them to its client; anywhere else
//! they go to `tracing`.

use std::cell::RefCell;
use std::sync::Arc;

/// The severity of a log message, as MCP names them (RFC 5424's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Debugging detail.
    Debug,
    /// Something worth knowing.
    Info,
    /// Normal but significant.
    Notice,
    /// Something may be wrong.
    Warning,
    /// Something failed.
    Error,
    /// A critical condition.
    Critical,
    /// Action must be taken now.
    Alert,
    /// The system is unusable.
    Emergency,
}

/// Where a [`Reporter`]'s messages go (an MCP server's client, say).
/// Implement it to receive a tool's progress and logs elsewhere; calls must
/// return at once (queue, do not wait).
pub trait ReportSink: Send + Sync {
    /// `done` of `total` (if known), with a message.
    fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>);
    /// A log message.
    fn log(&self, level: LogLevel, message: &str);
}

/// A running tool's line to whoever called it: progress and log messages.
/// Get it with [`Reporter::current`] inside the tool:
///
/// ```
/// use typecall::tool::{LogLevel, Reporter};
///
/// /// Counts the lines of a long text.
/// #[typecall::tool]
/// async fn count_lines(text: String) -> usize {
///     let report = Reporter::current();
///     report.log(LogLevel::Info, "counting");
///     let total = text.lines().count();
///     for (i, _) in text.lines().enumerate() {
///         report.progress((i + 1) as f64, Some(total as f64), None);
///     }
///     total
/// }
/// ```
///
/// Served over MCP, progress goes to the client as `notifications/progress`
/// when the call asked for it (a progress token), and log messages as
/// `notifications/message` at or above the level the client set (`info`
/// until it sets one); both are sent before the call's result. Elsewhere (an
/// agent run) they are `tracing` debug events. Cheap to clone; sending never
/// waits, and a client that does not keep up loses messages rather than
/// holding the tool.
#[derive(Clone, Default)]
pub struct Reporter {
    sink: Option<Arc<dyn ReportSink>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("connected", &self.sink.is_some())
            .finish()
    }
}

tokio::task_local! {
    static CURRENT: Reporter;
}

thread_local! {
    /// The reporter of a blocking tool's thread.
    static BLOCKING: RefCell<Option<Reporter>> = const { RefCell::new(None) };
}

impl Reporter {
    /// A reporter sending to `sink`.
    pub fn new(sink: Arc<dyn ReportSink>) -> Self {
        Self { sink: Some(sink) }
    }

    /// The reporter of the tool call running on this task (or, in a
    /// `blocking` tool, this thread); one that reports to `tracing` outside
    /// a call that has one.
    pub fn current() -> Self {
        CURRENT
            .try_with(Clone::clone)
            .ok()
            .or_else(|| BLOCKING.with(|b| b.borrow().clone()))
            .unwrap_or_default()
    }

    /// Runs `call` with this reporter as [`current`](Self::current).
    pub async fn scope<F: std::future::Future>(self, call: F) -> F::Output {
        CURRENT.scope(self, call).await
    }

    /// Runs the blocking `f` with this reporter as [`current`](Self::current)
    /// on this thread.
    pub(crate) fn enter<R>(self, f: impl FnOnce() -> R) -> R {
        /// Puts the thread's previous reporter back, also when `f` panics.
        struct Restore(Option<Reporter>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                BLOCKING.with(|b| *b.borrow_mut() = previous);
            }
        }
        let _restore = Restore(BLOCKING.with(|b| b.replace(Some(self))));
        f()
    }

    /// Reports `done` of `total` (if known), with an optional message.
    pub fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        match &self.sink {
            Some(sink) => sink.progress(done, total, message),
            None => tracing::debug!(done, total, message, "tool progress"),
        }
    }

    /// Logs `message` at `level`.
    pub fn log(&self, level: LogLevel, message: &str) {
        match &self.sink {
            Some(sink) => sink.log(level, message),
            None => tracing::debug!(?level, message, "tool log"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl ReportSink for Seen {
        fn progress(&self, done: f64, total: Option<f64>, _message: Option<&str>) {
            self.0.lock().unwrap().push(format!("{done}/{total:?}"));
        }
        fn log(&self, level: LogLevel, message: &str) {
            self.0.lock().unwrap().push(format!("{level:?} {message}"));
        }
    }

    #[tokio::test]
    async fn the_current_reporter_is_the_calls_on_its_task_and_its_blocking_thread() {
        let seen = Arc::new(Seen::default());
        let reporter = Reporter::new(seen.clone());
        reporter
            .clone()
            .scope(async {
                Reporter::current().progress(1.0, Some(2.0), None);
                let inner = Reporter::current();
                tokio::task::spawn_blocking(move || {
                    inner.enter(|| Reporter::current().log(LogLevel::Info, "on a thread"));
                })
                .await
                .unwrap();
            })
            .await;
        // Outside any call: nothing reaches the sink.
        Reporter::current().log(LogLevel::Error, "nowhere");
        assert_eq!(*seen.0.lock().unwrap(), ["1/Some(2.0)", "Info on a thread"]);
    }
}
