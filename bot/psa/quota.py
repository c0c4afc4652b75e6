"""How the daily API quota is shared: polling's interval, and the reserve kept for people."""

from __future__ import annotations

import dataclasses

DAY = 86_400.0  # seconds in the API's sliding quota window


@dataclasses.dataclass(frozen=True)
class QuotaBudget:
    """How often we may poll: never faster than configured, never past the daily quota."""

    interval: float = 60.0
    reserve: float = 0.10  # share of the daily quota kept for slash commands and push set-up
    push_interval: float = 900.0  # with push on, polling is only a safety net

    def effective_interval(
        self, calls_per_cycle: int, daily_limit: int | None, *, push_enabled: bool = False
    ) -> float:
        """Seconds between cycles so that a day of cycles fits the quota minus the reserve."""
        seconds = self.interval
        if daily_limit:
            budget = daily_limit * (1 - self.reserve)
            seconds = max(seconds, DAY * calls_per_cycle / budget)
        if push_enabled:
            seconds = max(seconds, self.push_interval)
        return seconds

    def reserve_left(self, daily_limit: int | None, spent_from_reserve: int) -> float | None:
        """Calls left in the reserve after what reports took from it in the last 24 h."""
        if not daily_limit:
            return None
        return daily_limit * self.reserve - spent_from_reserve

    def can_afford(
        self, calls_per_cycle: int, daily_limit: int | None, remaining: int | None
    ) -> bool:
        """False when a cycle now would eat into the reserve (the window is sliding: wait)."""
        if not daily_limit or remaining is None:
            return True
        return remaining - calls_per_cycle >= daily_limit * self.reserve
