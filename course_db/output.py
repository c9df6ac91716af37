"""Long output, kept short: what a check printed (its head and its tail), and a progress bar.

A learner's migration may print gigabytes. What a learner needs is where it started and where it
stopped, so the course keeps a bounded head and tail and counts the lines in between.
"""

from __future__ import annotations

import codecs
from collections import deque

HEAD_AND_TAIL = 512 * 1024  # characters kept at each end


class HeadAndTail:
    """The first `limit` characters of a stream and about the last `limit`; the rest is counted.

    Each `add` costs the length of its text, however much came before (a learner may print a
    million lines, one at a time).
    """

    def __init__(self, limit: int = HEAD_AND_TAIL) -> None:
        self.limit = limit
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.cut_lines = 0

    def add(self, text: str) -> None:
        room = self.limit - self.head_size
        if room > 0:
            self.head.append(text[:room])
            self.head_size += len(self.head[-1])
            text = text[room:]
        if not text:
            return
        self.tail.append(text)
        self.tail_size += len(text)
        while self.tail_size - len(self.tail[0]) >= self.limit:
            dropped = self.tail.popleft()
            self.tail_size -= len(dropped)
            self.cut_lines += dropped.count("\n")

    def text(self) -> str:
        head, tail = "".join(self.head), "".join(self.tail)
        if not self.cut_lines:
            return head + tail
        return f"{head}\n... {self.cut_lines} lines cut ...\n{tail}"


class KeptOutput(HeadAndTail):
    """The head and tail of what a process writes to a pipe, fed with its bytes as they come.

    UTF-8, a character split across two reads included; bytes that are not UTF-8 are replaced.
    """

    def __init__(self, limit: int = HEAD_AND_TAIL) -> None:
        super().__init__(limit)
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

    def add_bytes(self, chunk: bytes, final: bool = False) -> None:
        """`final`: the stream ended (an incomplete character at its end is replaced)."""
        self.add(self._decode(chunk, final=final))


def bar(done: int, total: int, width: int = 20) -> str:
    """`#####...............`: how much of a long run is done."""
    filled = round(width * done / total)
    return "#" * filled + "." * (width - filled)
