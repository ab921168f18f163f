"""Strawberry's schema-extension runner with each extension class's hooks found once.

Strawberry looks every hook up again for every lifecycle step of every operation: per
extension and step a `getattr`, an `inspect` test, a bound method and a
`contextlib.contextmanager` wrapper, and an exit stack even for a step no extension
hooks (`on_execute` here). With the gateway's five extensions that was ~8% of the CPU
of `{ __typename }` (issue 15). This runner finds the hooks once per (class, step) and
enters the same generator context managers on the same exit stacks in the same order,
so hooks run, unwind and see exceptions exactly as under Strawberry's runner; a hook
that is a plain callable (not a generator) falls back to Strawberry's own handling.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# (extension class, hook name) -> (hook function, is async), None when not overridden,
# or FALLBACK when Strawberry must wrap it (a plain callable).
FALLBACK = object()
_HOOKS: dict[tuple[type[SchemaExtension], str], Any] = {}


def _hook(cls: type[SchemaExtension], name: str) -> Any:
    key = (cls, name)
    try:
        return _HOOKS[key]
    except KeyError:
        pass
    fn = getattr(cls, name)
    found: Any
    if fn is getattr(SchemaExtension, name):
        found = None
    elif inspect.isgeneratorfunction(fn):
        found = (fn, False)
    elif inspect.isasyncgenfunction(fn):
        found = (fn, True)
    else:
        found = FALLBACK
    _HOOKS[key] = found
    return found


class _CachedHooks(ExtensionContextManagerBase):
    """One lifecycle step: the same exit-stack discipline as Strawberry's base class."""

    __slots__ = ("entered", "entries")

    def __init__(self, extensions: list[SchemaExtension]) -> None:
        # (extension, generator hook or None, is async, Strawberry's wrapper or None).
        self.entries: list[
            tuple[SchemaExtension, Callable[..., Any] | None, bool, Callable[[], Any] | None]
        ] = []
        for extension in extensions:
            found = _hook(type(extension), self.HOOK_NAME)
            if found is None:
                continue
            if found is FALLBACK:
                self.default_hook = getattr(SchemaExtension, self.HOOK_NAME)
                wrapped = self.get_hook(extension)
                if wrapped is not None:
                    self.entries.append((extension, None, wrapped.is_async, wrapped.hook))
                continue
            fn, is_async = found
            self.entries.append((extension, fn, is_async, None))

    @staticmethod
    def _manager(
        extension: SchemaExtension,
        fn: Callable[..., Any] | None,
        is_async: bool,
        wrapped: Callable[[], Any] | None,
    ) -> Any:
        # What `contextlib.(async)contextmanager(MethodType(fn, extension))()` builds.
        if wrapped is not None:
            return wrapped()
        if is_async:
            return contextlib._AsyncGeneratorContextManager(fn, (extension,), {})  # type: ignore[arg-type]
        return contextlib._GeneratorContextManager(fn, (extension,), {})  # type: ignore[arg-type]

    # The managers are entered and exited by hand, innermost last, as an exit stack would;
    # only when an exception is in flight (or a hook fails on exit) does a real exit stack
    # unwind them, so suppression and exception chaining are contextlib's own.

    def __enter__(self) -> None:
        self.entered: list[Any] = []
        for extension, fn, is_async, wrapped in self.entries:
            if is_async:
                raise RuntimeError(
                    f"SchemaExtension hook {extension}.{self.HOOK_NAME} "
                    "failed to complete synchronously."
                )
            manager = self._manager(extension, fn, is_async, wrapped)
            manager.__enter__()
            self.entered.append(manager)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        entered = self.entered
        if exc_type is None:
            while entered:
                manager = entered.pop()
                try:
                    manager.__exit__(None, None, None)
                except BaseException as exc:
                    stack = contextlib.ExitStack()
                    for outer in entered:
                        stack.push(outer)
                    if not stack.__exit__(type(exc), exc, exc.__traceback__):
                        raise
                    return
            return
        stack = contextlib.ExitStack()
        for manager in entered:
            stack.push(manager)
        # Like Strawberry's: the stack's suppression is not passed on (returns None).
        stack.__exit__(exc_type, exc_val, exc_tb)

    async def __aenter__(self) -> None:
        self.entered = []
        for extension, fn, is_async, wrapped in self.entries:
            manager = self._manager(extension, fn, is_async, wrapped)
            if is_async:
                await manager.__aenter__()
            else:
                manager.__enter__()
            self.entered.append((manager, is_async))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        entered = self.entered
        if exc_type is None:
            while entered:
                manager, is_async = entered.pop()
                try:
                    if is_async:
                        await manager.__aexit__(None, None, None)
                    else:
                        manager.__exit__(None, None, None)
                except BaseException as exc:
                    stack = self._stack(entered)
                    if not await stack.__aexit__(type(exc), exc, exc.__traceback__):
                        raise
                    return
            return
        await self._stack(entered).__aexit__(exc_type, exc_val, exc_tb)

    @staticmethod
    def _stack(entered: list[tuple[Any, bool]]) -> contextlib.AsyncExitStack:
        stack = contextlib.AsyncExitStack()
        for manager, is_async in entered:
            if is_async:
                stack.push_async_exit(manager)
            else:
                stack.push(manager)
        return stack


class _Operation(_CachedHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_CachedHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_CachedHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_CachedHooks, ExecutingContextManager):
    __slots__ = ()


class CachedHooksRunner(SchemaExtensionsRunner):
    """`SchemaExtensionsRunner` whose steps use hooks found once per extension class."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
