"""The Fubei Open API wire format, pure (no I/O): signing, envelopes, per-method schemas, the
merchant notification form. Both the server and the merchant SDK (``jubao.client``) use it."""
