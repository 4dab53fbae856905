"""A run's record: the journal protocol, events as JSON, checkpoints, replay."""
