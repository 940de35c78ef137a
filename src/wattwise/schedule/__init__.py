"""Carbon-aware scheduling: a pure planner over hourly signals; live providers at the edge."""
