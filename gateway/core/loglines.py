"""One-line log records written without building a `LogRecord`, where that writes the same.

The access log writes one line per request through `logging`, whose call (record, handler
chain, lock, format, write, flush) cost ~20 µs of CPU, a tenth of a small request (issue 15).
Where the line would reach only the CLI's own stderr handler with its message-only format
(`MessageFormatter`), `direct_handler` finds that handler and `write` puts the same text on
its stream under its lock, as its `emit` would; any other set-up (a handler or filter added
by a deployment, another format, propagation cut, a disabled logger) is left to `logging`.
"""

from __future__ import annotations

import logging
from typing import Any


class MessageFormatter(logging.Formatter):
    """The CLI's format: the message alone (plus a traceback when a record has one)."""

    def __init__(self) -> None:
        super().__init__("%(message)s")


def direct_handler(logger: logging.Logger, level: int) -> logging.StreamHandler[Any] | None:
    """The one handler a record of `logger` at `level` would reach, when it is a plain
    stream handler with a `MessageFormatter` and no filter anywhere on the way; else None.

    The caller has checked `logger.isEnabledFor(level)`. Checked per line, so a set-up
    changed at run time (`logging.config`, pytest's capture) takes effect at once.
    """
    if logger.disabled or logger.filters:
        return None
    root = logger.manager.root
    node: logging.Logger = logger
    while node is not root:
        if node.handlers or not node.propagate:
            return None
        parent = node.parent
        if parent is None:
            return None
        node = parent
    handlers = root.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or handler.filters
        or level < handler.level
        or type(handler.formatter) is not MessageFormatter
    ):
        return None
    return handler


def write(
    handler: logging.StreamHandler[Any], logger: logging.Logger, level: int, line: str
) -> None:
    """What `handler.emit` writes for a record whose message is `line` (no arguments, no
    traceback), under the handler's lock; a failure goes to its `handleError` as there."""
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except RecursionError:
        raise
    except Exception:
        handler.handleError(logger.makeRecord(logger.name, level, "", 0, line, (), None))
    finally:
        handler.release()
