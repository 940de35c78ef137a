"""``wattwise audit``: the end-to-end footprint assessment of a workload.

Measure (the built-in generative workload or a command) → account (every assumption listed) →
scale (requests per day, other hardware) → reduce (the optimisation lab, region / PUE / power
what-ifs) → recommend (ranked by yearly saving) → report (one self-contained HTML file, a PDF).
The pipeline is :func:`wattwise.audit.pipeline.run_audit`; the CLI is :mod:`wattwise.cli.audit`.
"""
