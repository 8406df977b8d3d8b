"""Merchants, their apps (credentials), stores, cashiers and channel bindings."""
