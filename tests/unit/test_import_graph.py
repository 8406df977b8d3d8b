"""jubao's import graph (built by grimp from every import statement in ``src/jubao``, including
those inside functions) has the shape docs/architecture.md describes:

- no cycle between jubao's top-level packages and modules; imports under ``TYPE_CHECKING`` are
  left out of this rule, since they never run (an annotation may name a type from above);
- the composition sits on top, in this order: ``__main__``, ``cli``, ``sandbox``, ``web``,
  ``runtime``; each imports only what is below it, and no other package imports any of them;
- ``payments`` and ``reconciliation`` know channels only through ``channels.base`` (the contract)
  and ``channels.registry`` (channels by name), never a concrete channel; ``reconciliation`` sits
  above ``payments`` (and ``merchants``, ``notify``, ``storage``), which never import it.

The last two rules count every import, ``TYPE_CHECKING`` ones included, directly or through
other modules. The ``*_is_caught`` tests add a forbidden import to a copy of the real graph and
check that it is reported."""

from __future__ import annotations

import copy
from functools import cache

import grimp
import pytest

PACKAGE = "jubao"
COMPOSITION = ("jubao.__main__", "jubao.cli", "jubao.sandbox", "jubao.web", "jubao.runtime")
# channel-neutral: the contract and the registry of channels by name
CHANNEL_NEUTRAL = {"jubao.channels.base", "jubao.channels.registry"}
# the packages that speak to channels through the contract only
CHANNEL_NEUTRAL_USERS = ("jubao.payments", "jubao.reconciliation")


@cache
def _graph(with_type_checking: bool) -> grimp.ImportGraph:
    return grimp.build_graph(
        PACKAGE, exclude_type_checking_imports=not with_type_checking, cache_dir=None
    )


def graphs() -> tuple[grimp.ImportGraph, grimp.ImportGraph]:
    """Fresh copies of (imports that run, every import), which a test may change."""
    return copy.deepcopy(_graph(False)), copy.deepcopy(_graph(True))


def cycles(running: grimp.ImportGraph) -> list[str]:
    """Imports that close a loop between jubao's children (grimp nominates a set whose removal
    leaves them acyclic; empty exactly when they are)."""
    return [
        f"cycle: {importer} imports {imported}, while {imported.split('.')[1]} already depends "
        f"on {importer.split('.')[1]}"
        for importer, imported in sorted(running.nominate_cycle_breakers(PACKAGE))
    ]


def forbidden(every: grimp.ImportGraph) -> list[str]:
    found: list[str] = []

    def refuse(importer: str, imported: str, why: str) -> None:
        chain = every.find_shortest_chain(importer, imported, as_packages=True)
        if chain is not None:
            found.append(f"{why}: {' -> '.join(chain)}")

    below = sorted(every.find_children(PACKAGE) - set(COMPOSITION))
    for index, upper in enumerate(COMPOSITION):
        for importer in [*COMPOSITION[index + 1 :], *below]:
            refuse(importer, upper, f"{importer} must not import {upper} (it sits above)")
    concrete = sorted(every.find_children("jubao.channels") - CHANNEL_NEUTRAL)
    for neutral in CHANNEL_NEUTRAL_USERS:
        for channel in concrete:
            refuse(
                neutral,
                channel,
                f"{neutral.removeprefix('jubao.')} must know channels through channels.base "
                "and .registry",
            )
    for lower in ("jubao.payments", "jubao.merchants", "jubao.notify", "jubao.storage"):
        refuse(lower, "jubao.reconciliation", f"{lower} must not import jubao.reconciliation")
    return found


def test_the_import_graph_keeps_its_shape() -> None:
    running, every = graphs()
    assert cycles(running) == []
    assert forbidden(every) == []
    # the rules look at something: the packages are there, and the composition imports them
    assert {"jubao.payments", "jubao.storage", "jubao.web", "jubao.cli"} <= every.find_children(
        PACKAGE
    )
    assert every.chain_exists("jubao.cli", "jubao.payments", as_packages=True)


def test_a_cycle_is_caught() -> None:
    running, _every = graphs()
    running.add_import(importer="jubao.storage.sql", imported="jubao.payments.views")
    # grimp nominates a set of imports whose removal breaks every loop; once there is a loop it
    # may name more than the new import (its choice weighs the whole graph), never none
    assert (
        "cycle: jubao.storage.sql imports jubao.payments.views, while payments already depends "
        "on storage"
    ) in cycles(running)


@pytest.mark.parametrize(
    ("importer", "imported", "message"),
    [
        ("jubao.storage.database", "jubao.web.app", "jubao.storage must not import jubao.web"),
        ("jubao.protocol.fields", "jubao.cli.main", "jubao.protocol must not import jubao.cli"),
        ("jubao.channels.timed", "jubao.runtime", "jubao.channels must not import jubao.runtime"),
        ("jubao.runtime", "jubao.web.gateway", "jubao.runtime must not import jubao.web"),
        (
            "jubao.payments.service",
            "jubao.channels.wechatpay.client",
            "payments must know channels through channels.base and .registry: "
            "jubao.payments.service -> jubao.channels.wechatpay.client",
        ),
        (
            "jubao.payments.views",
            "jubao.channels.simulator",
            "payments must know channels through channels.base and .registry",
        ),
        (
            "jubao.reconciliation.service",
            "jubao.channels.alipay.client",
            "reconciliation must know channels through channels.base and .registry",
        ),
        (
            "jubao.payments.service",
            "jubao.reconciliation.classify",
            "jubao.payments must not import jubao.reconciliation",
        ),
    ],
)
def test_a_forbidden_import_is_caught(importer: str, imported: str, message: str) -> None:
    _running, every = graphs()
    assert not any(message in problem for problem in forbidden(every))
    every.add_import(importer=importer, imported=imported)
    assert any(message in problem for problem in forbidden(every)), forbidden(every)


def test_an_import_through_another_module_is_caught() -> None:
    _running, every = graphs()
    every.add_import(importer="jubao.payments.views", imported="jubao.notify.views")
    every.add_import(importer="jubao.notify.views", imported="jubao.channels.simulator.app")
    assert (
        "payments must know channels through channels.base and .registry: "
        "jubao.payments.views -> jubao.notify.views -> jubao.channels.simulator.app"
    ) in forbidden(every)
