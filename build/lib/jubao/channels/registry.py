"""The channels a running jubao reaches, by name (``Runtime.channels``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from jubao.channels.base import Channel
from jubao.kinds import ChannelName

__all__ = ["ChannelRegistry"]


class ChannelRegistry:
    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._by_name: dict[ChannelName, Channel] = {}
        for channel in channels:
            if channel.name in self._by_name:
                raise ValueError(f"two channels named {channel.name}")
            self._by_name[channel.name] = channel

    def get(self, name: ChannelName) -> Channel | None:
        return self._by_name.get(name)

    def __getitem__(self, name: ChannelName) -> Channel:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    async def aclose(self) -> None:
        for channel in self._by_name.values():
            await channel.aclose()
