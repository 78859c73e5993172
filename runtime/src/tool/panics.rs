//! A tool's panic is printed once. The panic is caught and goes back to the
//! model as the tool's error; a model that retries the call makes the tool
//! panic again, and printing the same panic at every retry buries the first
//! one. So the first time a tool is called typecall wraps the process's panic
//! hook: inside a tool call, a panic whose message and place were printed
//! before is not printed again; everything else goes to the hook that was
//! there.

use std::cell::Cell;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, Once};
use std::task::{Context, Poll};

/// How many distinct tool panics are remembered (past that, each prints).
const REMEMBERED: usize = 1024;

thread_local! {
    static IN_TOOL: Cell<bool> = const { Cell::new(false) };
}

static INSTALL: Once = Once::new();
static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TOOL.with(Cell::get) {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let key = format!("{message}\u{0}{:?}", info.location());
                let first = match SEEN.lock() {
                    Ok(mut seen) => {
                        let seen = seen.get_or_insert_with(HashSet::new);
                        seen.len() >= REMEMBERED || seen.insert(key)
                    }
                    Err(_) => true,
                };
                if !first {
                    return;
                }
            }
            previous(info)
        }));
    });
}

/// Marks the thread as inside a tool call while it runs `f`.
fn inside<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_TOOL.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(IN_TOOL.with(|c| c.replace(true)));
    f()
}

/// Runs a sync tool body marked as a tool call.
pub(crate) fn marked_blocking<R>(f: impl FnOnce() -> R) -> R {
    install();
    inside(f)
}

/// A tool's future, marked as a tool call at each poll.
pub(crate) struct Marked<F>(F);

impl<F: Future + Unpin> Marked<F> {
    pub(crate) fn new(future: F) -> Self {
        install();
        Self(future)
    }
}

impl<F: Future + Unpin> Future for Marked<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        inside(|| Pin::new(&mut self.0).poll(cx))
    }
}
