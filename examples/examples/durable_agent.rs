//! A refund agent that survives crashes: a Restate worker serving the
//! workflow `Agent` (`typecall::durable`), whose refunds wait for a person's
//! approval. Its model: Cerebras when `CEREBRAS_API_KEY` is set, else the
//! local model (`TYPECALL_LOCAL_BASE_URL`); its payment API: the ledger file
//! `REFUND_LEDGER` (default `refunds.tsv`).
//!
//! ```text
//! scripts/restate start                     # the Restate server (prints its URLs)
//! WORKER_ADDR=127.0.0.1:9080 cargo run -p typecall-examples --example durable_agent &
//! scripts/restate register http://127.0.0.1:9080
//! curl -s $INGRESS/Agent/run-1/run/send -H 'content-type: application/json' -d '{"input": "Please refund order 42 in full."}'
//! curl -s -X POST $INGRESS/Agent/run-1/pending         # the refund waiting for approval
//! curl -s $INGRESS/Agent/run-1/approve -H 'content-type: application/json' -d '{"call_id": "…", "approved": true}'
//! curl -s $INGRESS/restate/workflow/Agent/run-1/attach  # the run, once done
//! ```
//!
//! Kill the worker at any point and start it again: the run goes on from its
//! journal, and the refund is made once.

use typecall::durable::restate_sdk::prelude::{Endpoint, HttpServer};
use typecall_examples::{pick_model, refunds};

#[tokio::main]
async fn main() {
    let addr = std::env::var("WORKER_ADDR").unwrap_or_else(|_| "127.0.0.1:9080".into());
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("durable_agent: WORKER_ADDR {addr}: {e}");
            std::process::exit(2);
        }
    };
    let (model, label) = match pick_model() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("durable_agent: {e}");
            std::process::exit(2);
        }
    };
    eprintln!("durable_agent: model {label}; serving the workflow `Agent` on {addr}");
    HttpServer::new(Endpoint::builder().bind(refunds::durable(model)).build())
        .listen_and_serve(addr)
        .await;
}
