//! A panicking tool's panic is printed once, not at every retry (its own
//! test binary: it sets the process's panic hook).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use typecall::tool::{ToolError, Toolbox};

/// Always panics.
#[typecall::tool]
fn fragile(n: u32) -> u32 {
    if n < 100 {
        panic!("fragile cannot take {n}");
    }
    n
}

/// Panics on the blocking pool.
#[typecall::tool(blocking)]
fn fragile_blocking() -> u32 {
    panic!("the blocking one broke")
}

#[tokio::test]
async fn the_same_tool_panic_is_printed_once() {
    let printed = Arc::new(AtomicUsize::new(0));
    let counter = printed.clone();
    std::panic::set_hook(Box::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let tools = Toolbox::new()
        .with(Fragile)
        .unwrap()
        .with(FragileBlocking)
        .unwrap();
    for _ in 0..3 {
        let err = tools.call("fragile", r#"{"n": 1}"#).await.unwrap_err();
        assert!(matches!(err, ToolError::Panicked { .. }), "{err}");
        assert!(err.to_string().contains("fragile cannot take 1"), "{err}");
    }
    assert_eq!(
        printed.load(Ordering::SeqCst),
        1,
        "printed once for three calls"
    );
    // Another message is another panic, printed too.
    tools.call("fragile", r#"{"n": 2}"#).await.unwrap_err();
    assert_eq!(printed.load(Ordering::SeqCst), 2);
    for _ in 0..2 {
        tools.call("fragile_blocking", "{}").await.unwrap_err();
    }
    assert_eq!(
        printed.load(Ordering::SeqCst),
        3,
        "the blocking tool's once too"
    );
    // Panics outside tools reach the hook every time.
    for _ in 0..2 {
        let _ = std::panic::catch_unwind(|| panic!("outside"));
    }
    assert_eq!(printed.load(Ordering::SeqCst), 5);
}
