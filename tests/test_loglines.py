"""Access lines written straight to the CLI's stderr handler: the same text as `logging`
writes, and `logging` itself whenever the set-up is anything else."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.core import loglines
from gateway.core.loglines import MessageFormatter
from tests.conftest import World

LINE = '{"requestId":"abc","path":"/graphql","status":200}'


def cli_setup() -> tuple[logging.Logger, io.StringIO]:
    """`gateway.access` in a hierarchy of its own, set up as the CLI sets up the root."""
    manager = logging.Manager(logging.RootLogger(logging.INFO))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MessageFormatter())
    manager.root.addHandler(handler)
    manager.getLogger("gateway")  # a real intermediate logger, as the gateway's modules make
    return manager.getLogger("gateway.access"), stream


def root_handler(logger: logging.Logger) -> logging.Handler:
    return logger.manager.root.handlers[0]


def test_the_cli_setup_is_written_directly_with_the_text_logging_writes() -> None:
    # given two identical CLI set-ups
    direct, direct_stream = cli_setup()
    via_logging, logged_stream = cli_setup()
    # when one line goes straight to the handler and the other through logging
    handler = loglines.direct_handler(direct, logging.INFO)
    assert handler is root_handler(direct)
    loglines.write(handler, direct, logging.INFO, LINE)
    via_logging.info(LINE)
    # then both streams hold the same text
    assert direct_stream.getvalue() == logged_stream.getvalue() == LINE + "\n"


def _filter_on_access(logger: logging.Logger) -> None:
    logger.addFilter(lambda record: False)


def _handler_on_gateway(logger: logging.Logger) -> None:
    logger.manager.getLogger("gateway").addHandler(logging.NullHandler())


def _propagation_cut(logger: logging.Logger) -> None:
    logger.propagate = False


def _second_root_handler(logger: logging.Logger) -> None:
    logger.manager.root.addHandler(logging.StreamHandler(io.StringIO()))


def _another_format(logger: logging.Logger) -> None:
    root_handler(logger).setFormatter(logging.Formatter("%(levelname)s %(message)s"))


def _handler_filter(logger: logging.Logger) -> None:
    root_handler(logger).addFilter(lambda record: True)


def _handler_level(logger: logging.Logger) -> None:
    root_handler(logger).setLevel(logging.WARNING)


def _another_handler_class(logger: logging.Logger) -> None:
    root = logger.manager.root
    root.removeHandler(root_handler(logger))
    handler = logging.FileHandler("/dev/null")  # a StreamHandler subclass: its own emit
    handler.setFormatter(MessageFormatter())
    root.addHandler(handler)


def _disabled(logger: logging.Logger) -> None:
    logger.disabled = True


@pytest.mark.parametrize(
    "change",
    [
        _filter_on_access,
        _handler_on_gateway,
        _propagation_cut,
        _second_root_handler,
        _another_format,
        _handler_filter,
        _handler_level,
        _another_handler_class,
        _disabled,
    ],
)
def test_any_other_setup_is_left_to_logging(change: Callable[[logging.Logger], None]) -> None:
    # given the CLI's set-up, changed as a deployment might change it
    logger, _ = cli_setup()
    change(logger)
    # when the access log looks for a handler to write to directly
    found = loglines.direct_handler(logger, logging.INFO)
    # then there is none: the line goes through logging, which honours the change
    assert found is None
    for handler in logger.manager.root.handlers:
        handler.close()


def test_a_failing_stream_goes_to_the_handlers_error_handling() -> None:
    # given the CLI's set-up on a stream that cannot be written
    logger, stream = cli_setup()
    handler = root_handler(logger)
    assert isinstance(handler, logging.StreamHandler)
    stream.close()
    failures: list[logging.LogRecord] = []
    handler.handleError = failures.append  # type: ignore[method-assign]
    # when a line is written
    loglines.write(handler, logger, logging.INFO, LINE)
    # then the handler's own error handling gets the record, as from its emit
    assert [record.getMessage() for record in failures] == [LINE]


@contextmanager
def cli_root_logging() -> Iterator[io.StringIO]:
    """The process's root logger set up as `gateway serve` sets it up (inside the test:
    pytest adds its capturing handlers to the root around the test's call)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MessageFormatter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers, level = saved
        root.setLevel(level)


async def test_a_served_request_writes_its_line_to_the_cli_stream(
    client: TestClient[Any, Any],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the gateway's logging set up as the CLI sets it up
    written: list[str] = []
    write = loglines.write

    def counted(handler: Any, logger: logging.Logger, level: int, line: str) -> None:
        written.append(line)
        write(handler, logger, level, line)

    monkeypatch.setattr(loglines, "write", counted)
    with cli_root_logging() as stream:
        # when a request is served
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { kind } }"},
            headers={**world.a_owner.headers, "X-Request-ID": "req-direct"},
        )
    assert response.status == 200
    # then its access line is on the CLI's stream, one JSON object on one line
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines() if line[:1] == "{"]
    access = [line for line in lines if line.get("requestId") == "req-direct"]
    assert len(access) == 1
    assert [orjson.loads(line) for line in written] == access  # written directly
    assert (access[0]["status"], access[0]["principal"]["kind"]) == (200, "staff")
