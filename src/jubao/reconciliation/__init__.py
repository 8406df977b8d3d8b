"""Daily reconciliation of each channel's statement with jubao's orders and refunds
(docs/reconciliation.md): a pure classifier, the runs and differences it stores, the service
that fetches, repairs and records, and the worker's morning schedule."""
