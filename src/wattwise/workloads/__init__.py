"""Built-in workloads that run anywhere, offline, with no optional dependency."""
