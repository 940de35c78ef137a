"""Build src/wattwise/data/cpu_tdp.csv from CodeCarbon cpu_power.csv + SPECpower thread counts."""
import csv, io, sys, collections
sys.path.insert(0, "src")
from wattwise.readers.cpu_model import normalise_cpu_name
REF = "/work/shared/reference-data/"
rows = list(csv.DictReader(open(REF + "codecarbon/cpu_power.csv", encoding="utf-8")))
kept = {}
dropped_range = dropped_dup = conflicts = 0
for r in rows:
    model = " ".join(r["Name"].split())
    try:
        tdp = float(r["TDP"])
    except ValueError:
        dropped_range += 1; continue
    if not 1.0 <= tdp <= 500.0:
        dropped_range += 1; continue
    key = normalise_cpu_name(model)
    if not key:
        dropped_range += 1; continue
    if key in kept:
        dropped_dup += 1
        if kept[key][1] != tdp:
            conflicts += 1
            kept[key] = (kept[key][0], max(kept[key][1], tdp))  # keep the higher TDP
        continue
    kept[key] = (model, tdp)
# threads per socket from SPECpower (rows where cores = chips x cores per chip)
threads = collections.defaultdict(collections.Counter)
for r in csv.DictReader(open(REF + "cloud-carbon-footprint/SPECpower-2026-03-09.csv", encoding="utf-8")):
    try:
        cores, chips, cpc, tpc = (int(r[k]) for k in ("# Cores", "Chips", "# Cores Per Chip", "# Threads Per Core"))
    except ValueError:
        continue
    if chips < 1 or cores != chips * cpc or tpc not in (1, 2, 4):
        continue
    threads[normalise_cpu_name(r["CPU Description"])][cpc * tpc] += 1
with_threads = 0
out = io.StringIO()  # written atomically below
w = csv.writer(out, lineterminator="\n")
w.writerow(["model", "tdp_w", "threads_per_socket"])
for key, (model, tdp) in sorted(kept.items(), key=lambda kv: kv[1][0].lower()):
    t = threads.get(key)
    tps = min(t, key=lambda n: (-t[n], n)) if t else ""  # most frequent, then smaller
    with_threads += bool(t)
    w.writerow([model, f"{tdp:g}", tps])
from wattwise.outputs import atomic_write_text

atomic_write_text("src/wattwise/data/cpu_tdp.csv", out.getvalue())
print(f"in {len(rows)} kept {len(kept)} dropped_range {dropped_range} dup {dropped_dup} conflicts {conflicts} with_threads {with_threads}")
