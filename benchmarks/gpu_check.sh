#!/usr/bin/env bash
# Read-only GPU checks for a session lent a GPU machine (see benchmarks/README.md).
#
# NEVER changes a GPU's settings: no power limit, clock, persistence mode or MIG change. It only
# reads (NVML, nvidia-smi), runs short CUDA work with torch, and calls `wattwise tune --dry-run`.
# Results go to $OUT (or ./gpu-check-out): one log per check, JSON results, summary.log.
#
#   bash benchmarks/gpu_check.sh            # ~3-4 minutes on one H100/H200
#
# Checks:
#   1. environment: nvidia-smi, driver, GPU model, limits (read), persistence (read)
#   2. energy three ways over a 30 s bf16 matmul, which should agree within 2 %: the NVML
#      total-energy counter (read directly at start and end, and as wattwise's tracked run),
#      NVML power (nvmlDeviceGetPowerUsage every 100 ms) integrated here, and nvidia-smi's
#      power.draw sampled every 100 ms and integrated
#   3. the workload classifier on a matmul (compute-bound) and a copy loop (memory-bound)
#   4. `wattwise tune --dry-run -- python <a training loop>`: the plan only, nothing changed
#   5. `wattwise exporter`: one scrape, the GPUs' energy counters and power as Prometheus metrics
#   6. `wattwise doctor --json` (no pending GPU changes)
# Section 2 also runs the tracker with sync="torch" (windows closed after queued CUDA work).
#   S. serving (issue 14, its own section at the end): `transformers serve` with continuous
#      batching of a random Llama-3-8B-shaped model in bf16, `wattwise bench serve` at
#      concurrency 1 / 16 / 64, 128 output tokens; J/token beside `wattwise estimate infer`
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export WATTWISE_DB="$OUT/gpu-check.db"
log() { echo "== $*" | tee -a "$OUT/summary.log"; }

log "1. environment"
nvidia-smi --query-gpu=index,name,driver_version,power.limit,power.default_limit,power.min_limit,power.max_limit,persistence_mode,mig.mode.current \
    --format=csv > "$OUT/1-nvidia-smi.csv" 2>&1 || log "nvidia-smi failed: $(tail -1 "$OUT/1-nvidia-smi.csv")"
tee -a "$OUT/summary.log" < "$OUT/1-nvidia-smi.csv"
"$PY" - > "$OUT/1-python.log" 2>&1 <<'EOF' || log "python/torch check failed (see 1-python.log)"
import torch, wattwise
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.version.cuda)
print("wattwise", wattwise.__version__)
EOF
tee -a "$OUT/summary.log" < "$OUT/1-python.log"

log "2. NVML counter vs integrated NVML power vs nvidia-smi over a 30 s bf16 matmul"
nvidia-smi --query-gpu=timestamp,power.draw --format=csv,noheader,nounits -i 0 -lms 100 \
    > "$OUT/2-smi-power.csv" 2>/dev/null &
SMI=$!
"$PY" - "$OUT" > "$OUT/2-matmul.log" 2>&1 <<'EOF'
import json, sys, threading, time
import pynvml, torch
import wattwise
out = sys.argv[1]
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
samples, stop = [], threading.Event()

def sample_power():  # NVML power (mW), read-only, every 100 ms
    while not stop.is_set():
        samples.append((time.monotonic(), pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0))
        time.sleep(0.1)

a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
torch.cuda.synchronize()
th = threading.Thread(target=sample_power, daemon=True)
th.start()
with wattwise.track("gpu-check-matmul", store=True, gpus="0", interval_s=0.1, sync="torch"):
    e0_mj, t0_m = pynvml.nvmlDeviceGetTotalEnergyConsumption(h), time.monotonic()
    t0 = time.time()
    n = 0
    while time.time() - t0 < 30.0:
        a @ b
        n += 1
        if n % 50 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    e1_mj, t1_m = pynvml.nvmlDeviceGetTotalEnergyConsumption(h), time.monotonic()
stop.set(); th.join()
inside = [(t, w) for t, w in samples if t0_m <= t <= t1_m]
integrated_j = sum((t2 - t1) * (w1 + w2) / 2 for (t1, w1), (t2, w2) in zip(inside, inside[1:]))
span_s = inside[-1][0] - inside[0][0] if len(inside) > 1 else 0.0
doc = {"counter_j": (e1_mj - e0_mj) / 1000.0, "counter_span_s": t1_m - t0_m,
       "nvml_power_integrated_j": integrated_j, "nvml_power_span_s": span_s,
       "nvml_power_samples": len(inside), "matmuls": n}
if span_s > 0:  # the same span for both: scale the counter to the samples' span
    doc["integrated_vs_counter"] = integrated_j / (doc["counter_j"] * span_s / doc["counter_span_s"])
json.dump(doc, open(f"{out}/2-nvml-direct.json", "w"), indent=2)
print(json.dumps(doc, indent=2))
EOF
kill "$SMI" 2>/dev/null; wait "$SMI" 2>/dev/null
"$PY" - "$OUT" >> "$OUT/2-matmul.log" 2>&1 <<'EOF'
import csv, json, sys
from datetime import datetime
from wattwise.ledger import Ledger
out = sys.argv[1]
with Ledger.open(None, readonly=True) as led:
    (s,) = [r for r in led.list_runs() if r.name == "gpu-check-matmul"]
    run = led.get_run(s.run_id)
gpu = [c for c in run.components if c.kind == "gpu"]
start = datetime.fromisoformat(run.started_at).timestamp()
end = start + run.duration_s
rows = []
for line in open(f"{out}/2-smi-power.csv"):
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != 2:
        continue
    try:
        ts = datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
        rows.append((ts, float(parts[1])))
    except ValueError:
        continue
# nvidia-smi prints local time (a naive datetime's .timestamp() reads it as local time);
# integrate its samples (trapezoid) inside the run's wall-clock span
inside = [(ts, w) for ts, w in rows if start <= ts <= end]
smi_j = sum((t2 - t1) * (w1 + w2) / 2 for (t1, w1), (t2, w2) in zip(inside, inside[1:]))
doc = {
    "duration_s": run.duration_s,
    "wattwise_gpu_j": [c.energy_j for c in gpu],
    "wattwise_source": [c.source for c in gpu],
    "wattwise_provenance": [str(c.provenance) for c in gpu],
    "nvidia_smi_j": smi_j,
    "nvidia_smi_samples": len(inside),
}
if gpu and smi_j > 0:
    doc["ratio"] = gpu[0].energy_j / smi_j
    doc["within_2_percent"] = abs(doc["ratio"] - 1.0) <= 0.02
try:
    direct = json.load(open(f"{out}/2-nvml-direct.json"))
except (OSError, ValueError):
    direct = {}
doc["nvml_direct"] = direct
if "integrated_vs_counter" in direct:
    doc["integrated_vs_counter_within_2_percent"] = abs(direct["integrated_vs_counter"] - 1) <= 0.02
if gpu and direct.get("counter_j"):
    doc["tracked_vs_counter"] = gpu[0].energy_j / direct["counter_j"]
json.dump(doc, open(f"{out}/2-nvml-vs-smi.json", "w"), indent=2)
print(json.dumps(doc, indent=2))
EOF
tail -20 "$OUT/2-matmul.log" | tee -a "$OUT/summary.log"

log "3. classifier: matmul vs copy loop (NVML utilisation, read-only)"
"$PY" - > "$OUT/3-classify.log" 2>&1 <<'EOF'
import json, threading, time
import pynvml, torch
from wattwise.power.classify import classify
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)

def sample(stop, got):
    while not stop.is_set():
        u = pynvml.nvmlDeviceGetUtilizationRates(h)
        got.append((u.gpu, u.memory))
        time.sleep(0.1)

def run(kind, seconds=8.0):
    if kind == "matmul":
        a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
        work = lambda: a @ a
    else:
        a = torch.empty(1 << 28, device="cuda", dtype=torch.float32)
        b = torch.empty_like(a)
        work = lambda: b.copy_(a)
    got, stop = [], threading.Event()
    th = threading.Thread(target=sample, args=(stop, got)); th.start()
    t0 = time.time()
    while time.time() - t0 < seconds:
        for _ in range(20):
            work()
        torch.cuda.synchronize()
    stop.set(); th.join()
    got = got[len(got) // 4:]  # after the ramp
    g = sum(x for x, _ in got) / len(got); m = sum(y for _, y in got) / len(got)
    return {"gpu_pct": g, "memory_pct": m, "class": classify(g, m)}

print(json.dumps({"matmul": run("matmul"), "copy": run("copy")}, indent=2))
EOF
tail -15 "$OUT/3-classify.log" | tee -a "$OUT/summary.log"

log "4. wattwise tune --dry-run on a training loop (changes nothing)"
cat > "$OUT/train_loop.py" <<'EOF'
import torch
from wattwise.workloads.counts import report_count
m = torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.GELU(), torch.nn.Linear(4096, 4096)).cuda()
opt = torch.optim.AdamW(m.parameters())
x = torch.randn(256, 4096, device="cuda")
for step in range(200):
    loss = m(x).square().mean(); loss.backward(); opt.step(); opt.zero_grad()
    report_count(steps=1)
EOF
"$PY" -m wattwise tune --dry-run --json -- "$PY" "$OUT/train_loop.py" > "$OUT/4-tune-dry-run.json" 2> "$OUT/4-tune-dry-run.err"
echo "exit $?" | tee -a "$OUT/summary.log"
tail -c 2000 "$OUT/4-tune-dry-run.json" | tee -a "$OUT/summary.log"
tail -5 "$OUT/4-tune-dry-run.err" | tee -a "$OUT/summary.log"

log "5. wattwise exporter: NVML devices in Prometheus metrics (one scrape; read-only)"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" -m wattwise exporter --port "$PORT" > "$OUT/5-exporter.log" 2>&1 &
EXP=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/metrics" > "$OUT/5-metrics.txt" 2>/dev/null && break; sleep 0.2; done
kill "$EXP" 2>/dev/null; wait "$EXP" 2>/dev/null
grep -E '^wattwise_(energy_joules_total|power_watts)\{' "$OUT/5-metrics.txt" | grep -i 'gpu' | head -8 \
    | tee -a "$OUT/summary.log" || log "no GPU metrics (see 5-exporter.log)"

log "6. doctor"
"$PY" -m wattwise doctor --json > "$OUT/6-doctor.json" 2>&1
grep -i "warning" "$OUT/6-doctor.json" | tee -a "$OUT/summary.log" || echo "no warnings" | tee -a "$OUT/summary.log"

log "after: the GPU settings, read again (must equal section 1)"
nvidia-smi --query-gpu=index,power.limit,persistence_mode,mig.mode.current --format=csv \
    | tee "$OUT/7-after.csv" | tee -a "$OUT/summary.log"

# ---------------------------------------------------------------------------------------------
# S. Serving energy per token (issue 14; self-contained: needs only $PY, $OUT and the GPU).
# Read-only like the rest: it runs a server and a client, and changes no GPU setting.
# `transformers serve --continuous-batching` of a randomly initialised Llama-3-8B-shaped model
# (bf16, benchmarks/serve_gpu_model.py), measured by `wattwise bench serve` (NVML counters) at
# concurrency 1 / 16 / 64 with 128 output tokens, 30 s of load per configuration after its
# warm-up; then `wattwise estimate infer` for the same model and hardware (its decode defaults
# are calibrated on vLLM runs: tests/estimate/data/mlenergy_v3_llm.csv has Llama-3.1-8B on H100,
# a serving engine other than `transformers serve`). benchmarks/serve.md compares them with the
# H100 `generate` figure (~0.14 J/token at batch 64).
log "S. serving: transformers serve (continuous batching) of a random 8B Llama, bf16"
SERVE_DIR="${SERVE_DIR:-/tmp/wattwise-llama8b-random}"  # 16 GB: kept out of $OUT
[ -f "$SERVE_DIR/config.json" ] || "$PY" benchmarks/serve_gpu_model.py "$SERVE_DIR" \
    2>&1 | tail -2 | tee -a "$OUT/summary.log"
SERVE_CMD="$PY -m transformers.cli.transformers serve $SERVE_DIR --host 127.0.0.1 --port {port}"
SERVE_CMD="$SERVE_CMD --device cuda --dtype bfloat16 --continuous-batching --log-level warning"
HF_HUB_OFFLINE=1 "$PY" -m wattwise bench serve --launch "$SERVE_CMD" --ready-timeout 900 \
    --concurrency 1,16,64 --duration 30 --max-tokens 128 --timeout 300 --json \
    > "$OUT/S-bench-serve.json" 2> "$OUT/S-bench-serve.err"
echo "exit $?" | tee -a "$OUT/summary.log"
"$PY" - "$OUT/S-bench-serve.json" <<'PYEOF' | tee -a "$OUT/summary.log"
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as exc:
    sys.exit(f"no bench result: {exc} (see S-bench-serve.err: the server's last output)")
for c in doc["configs"]:
    print(f"{c['name']}: {c['j_per_output_token']} J/token, {c['output_tokens_per_s']} tok/s, "
          f"{c['mean_power_w']} W ({c['provenance']['energy']}), TTFT p50 {c['ttft_ms']['p50']} ms, "
          f"ITL p50 {c['itl_ms']['p50']} ms, {c['requests']['ok']}/{c['requests']['sent']} ok, "
          f"window {c['window']['kind']} {c['window']['duration_s']} s")
    print("  J/token by device:", c["j_per_output_token_by_device"])
print("recommended:", doc["recommended"]["name"])
PYEOF
for B in 1 16 64; do
    "$PY" -m wattwise estimate infer --hardware h200 --chips 1 --params 8e9 --precision bf16 \
        --input-tokens 200 --output-tokens 128 --batch-size "$B" --json > "$OUT/S-estimate-b$B.json" 2>&1
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); w=d['wh_per_1k_output_tokens']['accelerators']
print('estimate batch $B: %.4f J/token (accelerator; band %.4f-%.4f)' % tuple(3.6 * w[k] for k in ('value','low','high')))" \
        "$OUT/S-estimate-b$B.json" | tee -a "$OUT/summary.log"
done
