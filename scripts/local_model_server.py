"""typecall's launcher for a local llama.cpp HTTP server (the xllamacpp wheel).

Serves /v1/chat/completions, /v1/models and /health on 127.0.0.1 until it gets
SIGTERM or SIGINT. Run by scripts/local-model; not meant to be run by hand.

Usage: python local_model_server.py MODEL_PATH PORT ALIAS [CTX]
"""

import signal
import sys
import threading

import xllamacpp


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, port, alias = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # The whole context, shared by the 2 slots (n_parallel): 4096 tokens a
    # request by default, enough for the longest tool lists in BFCL's live
    # categories.
    n_ctx = int(sys.argv[4]) if len(sys.argv) > 4 else 8192

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 2
    # Reusing a cached prompt changes the numerics slightly; tests compare
    # seeded answers, so every request is computed afresh (cheap at this size).
    params.cache_prompt = False
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.use_jinja = True
    params.offline = True
    params.model_alias = {alias}

    stop = threading.Event()

    def on_signal(number, _frame):
        # Said in the log, so that a server that went away says why.
        print(f"typecall local model: stopping on signal {number}", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server = xllamacpp.Server(params)
    print(f"typecall local model: {alias} on http://127.0.0.1:{port}/v1", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
