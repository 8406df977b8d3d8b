"""What made the request line cheap keeps its output: the text format's timestamps are the
stdlib's, and generated request ids stay unique 32-hex ids (docs/benchmarks.md)."""

from __future__ import annotations

import io
import logging
import re

import pytest

from jubao.observe import logs
from jubao.observe.logs import TEXT_FORMAT, _TextFormatter, install_request_ids, request_id_var
from jubao.observe.turn_handler import TurnBufferedHandler
from jubao.web import requestline
from jubao.web.requestid import _fresh, accepted_request_id


def test_text_lines_are_the_stdlib_formatters() -> None:
    install_request_ids()
    ours, stdlib = _TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for created in (1764493200.0004, 1764493200.9996, 1764493201.5, 1764493200.25):
        record = logging.getLogger("jubao.test").makeRecord(
            "jubao.test", logging.INFO, __file__, 1, "line %s", ("x",), None
        )
        record.created, record.msecs = created, (created - int(created)) * 1000 // 1
        assert ours.format(record) == stdlib.format(record)


def test_generated_request_ids_are_unique_32_hex() -> None:
    ids = {accepted_request_id(None) for _ in range(5000)}
    assert len(ids) == 5000
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
    before = accepted_request_id(None)
    _fresh.reseed()  # what a forked process does first
    assert accepted_request_id(None)[:20] != before[:20]


def test_the_direct_request_line_is_the_line_a_record_gives(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Alone on the root, jubao's handler gets the request line written directly; the same line
    as the usual record path, which any filter or other handler (a test's capture) brings back."""
    stream = io.StringIO()
    handler = TurnBufferedHandler(stream)
    handler.setFormatter(_TextFormatter())
    monkeypatch.setattr(logs, "_handler", handler)
    monkeypatch.setattr(logging.root, "handlers", [handler])
    old_level = logging.root.level
    logging.root.setLevel(logging.INFO)  # setLevel: loggers cache what they are enabled for
    request.addfinalizer(lambda: logging.root.setLevel(old_level))
    install_request_ids()
    facts = requestline.GatewayFacts("openapi.payment.order.query", "2026113000001", "SN-1")
    token = request_id_var.set("rid-7")
    try:
        logger = logging.getLogger("jubao.gateway.request")
        assert logs.write_info_directly(logger, "probe")
        requestline.finish(facts, {"result_code": 200}, 0.004, 0.001)
        seen: list[logging.LogRecord] = []

        class Keep(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                seen.append(record)
                return True

        keep = Keep()
        logger.addFilter(keep)
        try:
            assert not logs.write_info_directly(logger, "probe")
            requestline.finish(facts, {"result_code": 200}, 0.004, 0.001)
        finally:
            logger.removeFilter(keep)
    finally:
        request_id_var.reset(token)
    _, direct, usual = stream.getvalue().splitlines()
    assert len(seen) == 1  # the second line went through a record
    stamp = len("2026-11-30 09:00:00,123")
    assert direct[stamp:] == usual[stamp:]
    assert direct[stamp:] == (
        " INFO jubao.gateway.request [rid-7] gateway method=openapi.payment.order.query "
        "app_id=2026113000001 merchant_order_sn=SN-1 sub_code=SUCCESS gateway_ms=3.0 "
        "upstream_ms=1.0 request_id=rid-7"
    )
