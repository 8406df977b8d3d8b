"""Payment channels. The service depends on `base.Channel` only."""
