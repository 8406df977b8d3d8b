"""Security pieces: secrets at rest (sealing), rate limiting, replay protection, key files."""
