"""Run history: what the portal launched, every run against it and every event of each run."""
