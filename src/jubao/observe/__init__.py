"""What an operator sees of a running jubao: request ids and log lines (``logs``), Prometheus
metrics (``metrics``) and the worker's heartbeat (``heartbeat``). Nothing here changes what a
request does; it only records it."""
