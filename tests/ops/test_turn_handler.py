"""jubao's log handler writes the lines of one event-loop turn together, in the order they were
logged, and at once wherever no loop runs (``observe/turn_handler.py``)."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Iterator

import pytest

from jubao.observe.turn_handler import TurnBufferedHandler


class _Counted(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


Logged = tuple[logging.Logger, TurnBufferedHandler, _Counted]


@pytest.fixture
def logged() -> Iterator[Logged]:
    stream = _Counted()
    handler = TurnBufferedHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("jubao.test.turns")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger, handler, stream
    logger.handlers, logger.propagate = [], True


def test_outside_a_loop_each_line_is_written_at_once(logged: Logged) -> None:
    logger, _, stream = logged
    logger.info("one")
    assert stream.getvalue() == "one\n"
    logger.info("two")
    assert stream.writes == ["one\n", "two\n"]


def test_one_turns_lines_leave_in_one_write_at_its_end(logged: Logged) -> None:
    logger, _, stream = logged

    async def main() -> list[str]:
        for index in range(5):
            logger.info("line %d", index)
        seen = stream.getvalue()  # still this turn: nothing written yet
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        logger.info("next turn")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return [seen]

    (before,) = asyncio.run(main())
    assert before == ""
    assert stream.writes == ["line 0\nline 1\nline 2\nline 3\nline 4\n", "next turn\n"]
    logger.info("after")  # no loop now: at once
    assert stream.writes[-1] == "after\n"


def test_a_thread_without_a_loop_writes_held_lines_first(logged: Logged) -> None:
    logger, _, stream = logged

    async def main() -> str:
        logger.info("loop 1")
        worker = threading.Thread(target=lambda: logger.info("thread"))
        worker.start()
        worker.join()
        written = stream.getvalue()
        logger.info("loop 2")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return written

    assert asyncio.run(main()) == "loop 1\nthread\n"
    assert stream.getvalue() == "loop 1\nthread\nloop 2\n"


def test_a_new_loop_writes_first_what_an_ended_loop_held(logged: Logged) -> None:
    logger, _, stream = logged
    loop = asyncio.new_event_loop()

    async def log_and_stop() -> None:
        logger.info("held")
        loop.stop()  # the loop ends with this turn: its end-of-turn callback never runs

    task = loop.create_task(log_and_stop())
    loop.run_forever()
    loop.close()
    assert task.done()
    assert stream.getvalue() == ""

    async def later() -> None:
        logger.info("new loop")
        assert stream.getvalue() == "held\n"  # out before the new loop's first line is held

    asyncio.run(later())
    assert stream.getvalue() == "held\nnew loop\n"


def test_flush_writes_what_the_turn_holds(logged: Logged) -> None:
    logger, handler, stream = logged

    async def main() -> None:
        logger.info("a")
        handler.flush()  # logging.shutdown at exit does this
        assert stream.getvalue() == "a\n"
        logger.info("b")
        handler.close()  # a handler replaced or closed writes what it holds
        assert stream.getvalue() == "a\nb\n"

    asyncio.run(main())
    assert stream.writes == ["a\n", "b\n"]
