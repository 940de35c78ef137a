"""wattwise optimisation lab (placeholder)."""
