//! The refund agent of `examples/durable_agent.rs`, run durably on Restate:
//! it looks an order up and refunds it, and a refund waits for a person's
//! approval. Its "payment API" is a ledger file that refunds each
//! idempotency key once, as a real payment API does.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use typecall::durable::{DurableAgent, IdempotencyKey};
use typecall::{Agent, Ctx, Model, ToolMode, tool};

/// What a person asks the agent.
pub const PROMPT: &str = "Please refund order 42 in full.";

/// The payment API: a ledger file, one line per refund (`key<TAB>order<TAB>cents`),
/// and how long a refund takes to be confirmed.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// The file.
    pub path: PathBuf,
    /// How long the API takes after recording a refund.
    pub latency: Duration,
}

impl Ledger {
    /// The ledger of `REFUND_LEDGER` (default `refunds.tsv`), with
    /// `REFUND_API_LATENCY_MS` of latency (default none).
    pub fn from_env() -> Self {
        Self {
            path: std::env::var_os("REFUND_LEDGER")
                .map_or_else(|| PathBuf::from("refunds.tsv"), PathBuf::from),
            latency: Duration::from_millis(
                std::env::var("REFUND_API_LATENCY_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
        }
    }

    /// The refunds recorded: (key, order, cents).
    pub fn refunds(&self) -> Vec<(String, String, u64)> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((
                    f.next()?.to_owned(),
                    f.next()?.to_owned(),
                    f.next()?.parse().ok()?,
                ))
            })
            .collect()
    }
}

/// An order.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Order {
    /// Its id.
    pub order_id: String,
    /// What was paid, in cents.
    pub total_cents: u64,
}

/// A refund made.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RefundMade {
    /// The order refunded.
    pub order_id: String,
    /// How much, in cents.
    pub refunded_cents: u64,
}

/// Looks an order up: what was paid for it.
#[tool(read_only)]
pub async fn lookup_order(
    /// The order's id, digits only.
    order_id: String,
) -> Result<Order, String> {
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("no order `{order_id}`"));
    }
    Ok(Order {
        order_id,
        total_cents: 1999,
    })
}

/// Refunds an order to the customer's card. A person approves each refund.
#[tool]
pub async fn refund(
    /// The order's id.
    order_id: String,
    /// How much to refund, in cents.
    amount_cents: u64,
    key: Ctx<IdempotencyKey>,
    ledger: Ctx<Ledger>,
) -> Result<RefundMade, String> {
    let done = ledger.refunds().into_iter().any(|(k, _, _)| k == key.0);
    if !done {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&ledger.path)
            .map_err(|e| format!("the payment API is down: {e}"))?;
        // One write of the whole line: appends from many calls (and
        // workers) never interleave.
        let line = format!("{}\t{order_id}\t{amount_cents}\n", key.0);
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("the payment API is down: {e}"))?;
        // The API confirms a while later (a crash here is what the key is for).
        tokio::time::sleep(ledger.latency).await;
    }
    Ok(RefundMade {
        order_id,
        refunded_cents: amount_cents,
    })
}

/// The refund agent on `model`, its ledger from the environment.
pub fn agent(model: Arc<dyn Model>) -> Agent {
    Agent::from_arc(model)
        .system("You handle refunds. Look the order up, then refund what was paid.")
        .tool(LookupOrder)
        .tool(Refund)
        .context(Ledger::from_env())
        .tool_mode(ToolMode::Native)
        .max_turns(6)
}

/// The agent as a durable run whose refunds wait for approval.
pub fn durable(model: Arc<dyn Model>) -> DurableAgent {
    DurableAgent::new(agent(model)).needs_approval("refund")
}
