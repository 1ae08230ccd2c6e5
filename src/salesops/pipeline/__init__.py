"""Pipeline: stages, the opportunity lifecycle with its event log, and point-in-time history."""
