"""Open API 2.0's numeric result codes (docs/protocol.md "Errors: numeric result_code"): every
sub_code jubao raises has its number, and the documented table is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from jubao.protocol import fbpay

SRC = Path(__file__).parents[2] / "src" / "jubao"
DOC = Path(__file__).parents[2] / "docs" / "protocol.md"
# where jubao names its own sub_codes: sub_code="X", sub_code = "X", _rule("X", ...), and the
# service's declines (ChannelErrorKind.DECLINED: "PAYMENT_DECLINED")
_RAISED = re.compile(r'(?:sub_code\s*=\s*|_rule\(\s*|ChannelErrorKind\.[A-Z_]+: )"([A-Z][A-Z_]+)"')
# channels, simulators and the SDK speak other codes (mapped to 60303 or never sent by jubao)
_ELSEWHERE = ("channels", "client")


def jubao_sub_codes() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if any(part in _ELSEWHERE for part in path.relative_to(SRC).parts):
            continue
        found |= set(_RAISED.findall(path.read_text("utf-8")))
    return found


def test_every_sub_code_jubao_raises_has_a_2_0_result_code() -> None:
    codes = jubao_sub_codes()
    assert {"ORDER_SN_CONFLICT", "STORE_NOT_FOUND", "MISSING_PARAMETER"} <= codes  # the scan works
    # anything not in the table would be reported as a channel's code (60303)
    missing = sorted(code for code in codes if code not in fbpay.RESULT_CODES)
    assert missing == [], missing


def test_reference_codes() -> None:
    assert fbpay.result_code_of("INVALID_PARAMETER") == 9996
    assert fbpay.result_code_of("MISSING_PARAMETER") == 9996
    assert fbpay.result_code_of("MERCHANT_NOT_FOUND") == 1004
    assert fbpay.result_code_of("ORDER_SN_CONFLICT") == 2
    assert fbpay.result_code_of("ORDERPAID") == 60303  # WeChat's own code
    assert fbpay.result_code_of("ACQ.TRADE_NOT_EXIST") == 60303  # Alipay's
    assert fbpay.result_code_of("ORDER_NOT_FOUND") == 400


def test_the_documented_table_is_the_codes() -> None:
    text = DOC.read_text("utf-8")
    section = text.split("### Errors: numeric `result_code`")[1].split("###")[0]
    for line in section.splitlines():
        match = re.match(r"\| `(\d+)` \| (.*?) \|", line)
        if match is None:
            continue
        number = int(match[1])
        for sub_code in re.findall(r"`([A-Z_]+)`", match[2]):
            # the channel row names examples of channels' own codes, which no table lists
            expected = fbpay.RESULT_CODES.get(sub_code, fbpay.CHANNEL_CODE)
            assert expected == number, (sub_code, number)
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", section))
    assert set(fbpay.RESULT_CODES) <= documented, set(fbpay.RESULT_CODES) - documented
