"""The signature check's shortcuts change no answer: ``candidate_strings`` against the version
before them (kept here as the reference), and each envelope value's signed and PHP texts, or its
refusal, against the general path (``_param_text``/``_php_text``) that strings now skip."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from jubao.errors import InvalidParameter
from jubao.protocol import envelope, jsonwire
from jubao.protocol.signing import Params, candidate_strings


def _reference_join(params: Params, keep: Callable[[str | None], bool], lower_keys: bool) -> str:
    items = sorted(
        (key.lower() if lower_keys else key, value or "")
        for key, value in params.items()
        if key != "sign" and keep(value)
    )
    return "&".join(f"{key}={value}" for key, value in items)


def reference_candidates(params: Params, php_params: Params | None = None) -> list[str]:
    renderings = [params]
    if php_params is not None and php_params != params:
        renderings.append(php_params)
    values = [value for rendering in renderings for value in rendering.values()]
    filters: list[Callable[[str | None], bool]] = [lambda value: True]
    if not all(values):
        filters.append(bool)
    if "0" in values:
        filters.append(lambda value: bool(value) and value != "0")
    key_cases = [False]
    if any(key != key.lower() for key in params):
        key_cases.append(True)
    seen: dict[str, None] = {}
    for rendering in renderings:
        for lower_keys in key_cases:
            for keep in filters:
                seen.setdefault(_reference_join(rendering, keep, lower_keys), None)
    return list(seen)


# Keys and values where the shortcuts could slip: case (İ and ß lower differently, ǅ is title
# case), "sign", empty and "0" values, None, non-ASCII and NUL.
KEYS = st.text(alphabet="aAbB_1İißǅΣσ门", min_size=1, max_size=4) | st.just("sign")
VALUES = st.none() | st.sampled_from(["", "0", "1", "门店", "a\x00"]) | st.text(max_size=5)


def _with_php(params: dict[str, str | None]) -> st.SearchStrategy[tuple[Params, Params | None]]:
    """``params`` with no PHP rendering, the same one, or one differing in some values."""
    changed = st.dictionaries(st.sampled_from(sorted(params) or ["a"]), VALUES, max_size=2)
    php = st.none() | st.just(dict(params)) | changed.map(lambda values: {**params, **values})
    return st.tuples(st.just(params), php)


@given(st.dictionaries(KEYS, VALUES, max_size=6).flatmap(_with_php))
# each shortcut's edge, which random dictionaries reach too rarely: "0", a key not lower-case,
# an empty value, a PHP rendering that differs, keys whose lower-casing collides
@example(({"a": "0", "b": "x"}, None))
@example(({"a": "x", "sign": "S"}, None))
@example(({"a": "x", "Ab": "y"}, None))
@example(({"a": "", "b": "x"}, None))
@example(({"t": "1", "u": "x"}, {"t": "", "u": "x"}))
@example(({"İ": "x", "i̇": "y", "ß": "z"}, None))
def test_candidate_strings_are_the_references(request: tuple[Params, Params | None]) -> None:
    params, php = request
    assert candidate_strings(params, php) == reference_candidates(params, php)
    assert candidate_strings(params) == reference_candidates(params)


def _reference_texts(key: str, value: Any) -> tuple[str | None, str | None] | str:
    """The loop's old body for one value: its two texts, or the refusal's message."""
    try:
        signed = envelope._param_text(key, value)
    except InvalidParameter as exc:
        return exc.message
    php = envelope._php_text(value) if isinstance(value, bool | Decimal) else signed
    return signed, php


JSON_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text()  # lone surrogates, NUL and non-ASCII included
    | st.sampled_from(["", "0", "\ud800", "a\x00", "门\udfff"])
    | st.just({"an": "object"})
)


def _outcome(body: bytes) -> tuple[str | None, str | None] | str:
    try:
        parsed = envelope.parse_envelope(body)
    except InvalidParameter as exc:
        return exc.message
    return parsed.signed_params["attach"], parsed.php_params["attach"]


@given(JSON_VALUES)
def test_each_envelope_value_is_read_as_before(value: Any) -> None:
    raw = str(value) if isinstance(value, Decimal) else json.dumps(value)
    body = f'{{"app_id":"a1","method":"m","sign":"S","attach":{raw}}}'.encode()
    expected = _reference_texts("attach", jsonwire.loads(raw))
    found = _outcome(body)
    if isinstance(expected, tuple) and isinstance(found, str):  # refused after the loop
        assert found == "参数 attach 不能含有 & 或 =", found
    else:
        assert found == expected
