"""Orders and refunds: the state machine (pure) and the use cases (service)."""
