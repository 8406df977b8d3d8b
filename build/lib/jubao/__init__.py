"""jubao: a self-hosted aggregated payment gateway speaking the Fubei Open API."""

__version__ = "0.1.0"
