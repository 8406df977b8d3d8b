"""The retry policy for merchant notifications: pure arithmetic over the configured schedule.

The schedule lists the waits *between* attempts, as WeChat documents its own
(15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, "总计 24h4m"):

* attempt 1 is made as soon as the state change commits (no wait);
* after failed attempt ``k`` the next one waits ``schedule[k - 1]``;
* so a schedule of ``n`` waits allows ``1 + n`` attempts. The default, 15 waits, means the first
  delivery plus 15 retries, the last one 24 h 4 min after the first; every configured wait is used.
* when attempt ``1 + n`` fails too, the notification is FAILED (an operator can resend it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    waits: tuple[float, ...]  # seconds between consecutive attempts

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.waits)

    def delay_ms(self, attempts_made: int) -> int | None:
        """Milliseconds from a failed attempt number ``attempts_made`` (1-based) to the next one,
        or ``None`` when that was the last attempt: give up."""
        if attempts_made < 1:
            raise ValueError("attempts_made counts attempts already made, starting at 1")
        if attempts_made > len(self.waits):
            return None
        return max(0, round(self.waits[attempts_made - 1] * 1000))

    def next_attempt_at(self, attempts_made: int, now_ms: int) -> int | None:
        delay = self.delay_ms(attempts_made)
        return None if delay is None else now_ms + delay

    def total_span_ms(self) -> int:
        """From the first attempt to the last one, if every attempt fails."""
        return sum(max(0, round(wait * 1000)) for wait in self.waits)
