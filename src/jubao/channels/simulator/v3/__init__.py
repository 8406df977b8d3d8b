"""WeChat Pay's v3 surface, one module per family of operations (``jsapi``, ``transactions``,
``refunds``), each operation an entry of the route table in ``routes.py``. ``endpoint.py`` does
what every v3 request shares: latency and faults, signature verification, the signed answer."""
