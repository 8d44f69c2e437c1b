"""Bind TOML tables to frozen settings dataclasses, refusing unknown keys.

A stage's settings live in the stage's own module as a frozen dataclass with
documented defaults; this module turns one TOML table into one of those,
checking every key and type, with a "did you mean" for typos.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from .errors import ScenarioError

T = TypeVar("T")


def did_you_mean(key: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(table: Mapping[str, Any], known: list[str], *, where: str, file: str) -> None:
    """Raise :class:`ScenarioError` for the first key of ``table`` not in ``known``."""
    for key in table:
        if key not in known:
            raise ScenarioError(
                f"unknown key '{key}' in [{where}]{did_you_mean(key, known)}; "
                f"known keys: {', '.join(sorted(known))}",
                file=file,
            )


def _coerce(value: Any, hint: Any, *, key: str, where: str, file: str) -> Any:
    """Convert a TOML value to the annotated type ``hint`` or raise ScenarioError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    def bad(expected: str) -> ScenarioError:
        return ScenarioError(
            f"[{where}] {key} = {value!r}: expected {expected}", file=file, column=None
        )

    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors: list[str] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key=key, where=where, file=file)
            except ScenarioError as exc:
                errors.append(exc.reason)
        raise bad(" or ".join(str(a) for a in args if a is not type(None)))
    if origin is typing.Literal:
        if value in args:
            return value
        raise bad("one of " + ", ".join(repr(a) for a in args))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad("an integer")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise bad("a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise bad("a string")
    if hint is Path:
        if isinstance(value, str):
            return Path(value)
        raise bad("a path string")
    if hint is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise bad("a date (YYYY-MM-DD)")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad("a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], key=key, where=where, file=file) for v in value)
        if len(args) != len(value):
            raise bad(f"a list of {len(args)} items")
        return tuple(
            _coerce(v, a, key=key, where=where, file=file) for v, a in zip(value, args, strict=True)
        )
    if origin in (dict, Mapping, typing.Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise bad("a table")
        kt, vt = args if args else (str, Any)
        return types.MappingProxyType(
            {
                _coerce(k, kt, key=key, where=where, file=file): _coerce(
                    v, vt, key=f"{key}.{k}", where=where, file=file
                )
                for k, v in value.items()
            }
        )
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise bad("a table")
        return bind(hint, value, where=f"{where}.{key}", file=file)
    return value


def bind(cls: type[T], table: Mapping[str, Any], *, where: str, file: str) -> T:
    """Build the frozen dataclass ``cls`` from a TOML ``table``.

    Keys missing from the table keep the dataclass default; unknown keys and
    wrongly typed values raise :class:`ScenarioError` naming the table and key.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    check_keys(table, names, where=where, file=file)
    kwargs = {k: _coerce(v, hints[k], key=k, where=where, file=file) for k, v in table.items()}
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if not f.init or not required or f.name in kwargs:
            continue
        if type(None) in typing.get_args(hints[f.name]):
            kwargs[f.name] = None  # TOML has no null: an absent optional key means None
        else:
            raise ScenarioError(f"[{where}] is missing the key '{f.name}'", file=file)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"[{where}]: {exc}", file=file) from exc
