"""Declarative settings: every field of a configuration dataclass says what it accepts and what it is for.

A field is declared with :func:`setting`: its default, its :class:`Kind` (type, range, choices) and
its help text. :func:`validate` reads the kinds of a dataclass and checks and normalises every value
(a JSON list becomes the tuples the code uses, an int becomes a float where a number is wanted),
with one message style for every field: ``name must be <what is allowed>, got <value>``.
:func:`build` makes a dataclass from a JSON object and names unknown keys with the closest known
one. The configuration reference (``docs/configuration.md``) is generated from the same metadata
(:mod:`tf_crnn.params.reference`), so the help text and the checks cannot drift apart.

Checks that relate several fields (``num_beam_paths`` <= ``beam_width``) stay in the dataclass's
``__post_init__``, after :func:`validate`.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tf_crnn.errors import ConfigError

KIND, HELP, GROUP = "kind", "help", "group"


class Kind:
    """What a field accepts: :meth:`check` returns the value as the code uses it, or raises ConfigError."""

    def check(self, name: str, value: Any, owner: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        """What is allowed, in a few words (the configuration reference's 'type' column)."""
        raise NotImplementedError


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _fail(name: str, allowed: str, value: Any) -> ConfigError:
    return ConfigError(f"{name} must be {allowed}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Integer(Kind):
    """A whole number, optionally bounded or one of a few ``allowed`` values."""

    minimum: int | None = None
    maximum: int | None = None
    note: str = ""  # what a special value means, e.g. "0 = off"
    allowed: tuple[int, ...] = ()
    phrase: str = ""  # replaces the generated description of what is allowed

    def allowed_text(self) -> str:
        if self.phrase:
            return self.phrase
        if self.allowed:
            return " or ".join(map(str, self.allowed))
        if self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        words = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}
        return words.get(self.minimum, f"an integer >= {self.minimum}") + _note(self.note)

    def check(self, name: str, value: Any, owner: Any) -> int:
        too_low = self.minimum is not None and _is_int(value) and value < self.minimum
        too_high = self.maximum is not None and _is_int(value) and value > self.maximum
        if not _is_int(value) or too_low or too_high or (self.allowed and value not in self.allowed):
            raise _fail(name, self.allowed_text(), value)
        return value

    def describe(self) -> str:
        if self.allowed:
            return " or ".join(map(str, self.allowed))
        if self.maximum is not None:
            return f"integer, {self.minimum} to {self.maximum}"
        return "integer" if self.minimum is None else f"integer >= {self.minimum}"


@dataclasses.dataclass(frozen=True)
class Number(Kind):
    """A finite number (ints are taken as floats), optionally bounded."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    note: str = ""
    phrase: str = ""  # replaces the generated description, in every message
    maximum_reason: str = ""  # a value at or above ``maximum`` is refused with this reason

    def range_text(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left = "(" if self.exclusive_minimum else "["
            right = ")" if self.exclusive_maximum else "]"
            return f"in {left}{_plain(low)}, {_plain(high)}{right}"
        if low is not None:
            if low == 0 and self.exclusive_minimum:
                return "positive"
            return f"{'>' if self.exclusive_minimum else '>='} {_plain(low)}"
        if high is not None:
            return f"{'<' if self.exclusive_maximum else '<='} {_plain(high)}"
        return "a number"

    def check(self, name: str, value: Any, owner: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise _fail(name, self.phrase or "a number", value)
        if self.maximum_reason and value >= self.maximum:
            raise ConfigError(f"{name} must be below {float(self.maximum)} ({self.maximum_reason}), got {value!r}")
        low, high = self.minimum, self.maximum
        below = low is not None and (value <= low if self.exclusive_minimum else value < low)
        above = high is not None and (value >= high if self.exclusive_maximum else value > high)
        if below or above:
            raise _fail(name, self.phrase or self.range_text() + _note(self.note), value)
        return float(value)

    def describe(self) -> str:
        text = self.range_text()
        return "number" if text == "a number" else f"number {text}"


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else str(value)


@dataclasses.dataclass(frozen=True)
class Boolean(Kind):
    def check(self, name: str, value: Any, owner: Any) -> bool:
        if not isinstance(value, bool):
            raise _fail(name, "true or false", value)
        return value

    def describe(self) -> str:
        return "true or false"


@dataclasses.dataclass(frozen=True)
class Choice(Kind):
    """One string of ``choices``."""

    choices: tuple[str, ...]
    note: str = ""

    def check(self, name: str, value: Any, owner: Any) -> str:
        if value not in self.choices:
            raise _fail(name, f"one of {', '.join(self.choices)}{_note(self.note)}", value)
        return value

    def describe(self) -> str:
        return ", ".join(f'"{choice}"' for choice in self.choices)


@dataclasses.dataclass(frozen=True)
class Text(Kind):
    """A string; ``accepts`` refines which ones (``phrase`` then says which)."""

    phrase: str = "a string"
    accepts: Callable[[str], bool] | None = None

    def check(self, name: str, value: Any, owner: Any) -> str:
        if not isinstance(value, str) or (self.accepts is not None and not self.accepts(value)):
            raise _fail(name, self.phrase, value)
        return value

    def describe(self) -> str:
        return "string" if self.phrase == "a string" else self.phrase.removeprefix("a ").removeprefix("the ")


@dataclasses.dataclass(frozen=True)
class Strings(Kind):
    """A list of strings; one string is taken as a list of one (``""`` as none when ``empty_is_none``)."""

    phrase: str = "a path or a list of paths"
    nonempty_items: bool = False
    empty_is_none: bool = True

    def check(self, name: str, value: Any, owner: Any) -> list[str]:
        if isinstance(value, str):
            value = [value] if value or not self.empty_is_none else []
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and (v or not self.nonempty_items)
                                                            for v in value):  # fmt: skip
            raise _fail(name, self.phrase, value)
        return list(value)

    def describe(self) -> str:
        return "list of strings"


@dataclasses.dataclass(frozen=True)
class Integers(Kind):
    """A non-empty list of positive integers; one integer is taken as a list of one."""

    def check(self, name: str, value: Any, owner: Any) -> list[int]:
        if _is_int(value):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            raise _fail(name, "a non-empty list of positive integers", value)
        return [Integer(1).check(f"{name}[{i}]", v, owner) for i, v in enumerate(value)]

    def describe(self) -> str:
        return "list of integers >= 1"


@dataclasses.dataclass(frozen=True)
class Pairs(Kind):
    """A non-empty list of [height, width] pairs of positive integers; one integer n is [n, n]."""

    def check(self, name: str, value: Any, owner: Any) -> list[tuple[int, int]]:
        if not isinstance(value, (list, tuple)) or not value:
            raise _fail(name, "a non-empty list of [height, width] pairs", value)
        pairs = []
        for i, item in enumerate(value):
            if _is_int(item):
                item = (item, item)
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise _fail(f"{name}[{i}]", "a [height, width] pair", item)
            pairs.append(tuple(Integer(1).check(f"{name}[{i}]", v, owner) for v in item))
        return pairs

    def describe(self) -> str:
        return "list of [height, width] pairs"


@dataclasses.dataclass(frozen=True)
class Shape(Kind):
    """``[height, max_width]`` of positive integers."""

    def check(self, name: str, value: Any, owner: Any) -> tuple[int, int]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise _fail(name, "[height, max_width]", value)
        return tuple(Integer(1).check(f"{name}[{i}]", v, owner) for i, v in enumerate(value))

    def describe(self) -> str:
        return "[height, max width]"


@dataclasses.dataclass(frozen=True)
class Booleans(Kind):
    """A list of true/false, one per entry of the list field ``like``; one boolean is repeated."""

    like: str

    def check(self, name: str, value: Any, owner: Any) -> list[bool]:
        if isinstance(value, bool):
            value = [value] * len(getattr(owner, self.like))
        if not isinstance(value, (list, tuple)):
            raise _fail(name, "a list of true/false", value)
        return [Boolean().check(f"{name}[{i}]", v, owner) for i, v in enumerate(value)]

    def describe(self) -> str:
        return "list of true/false"


@dataclasses.dataclass(frozen=True)
class Section(Kind):
    """A nested configuration dataclass, given as a JSON object."""

    cls: type

    def check(self, name: str, value: Any, owner: Any) -> Any:
        if isinstance(value, Mapping):
            value = build(self.cls, value, f"{name}.")
        if not isinstance(value, self.cls):
            raise _fail(name, "an object", value)
        return value

    def describe(self) -> str:
        return "a section (below)"


def setting(default: Any, kind: Kind, help: str, group: str = "") -> Any:
    """A dataclass field with its kind, help text and group (for the reference); lists, dicts and
    sections get a fresh copy of ``default`` per instance."""
    metadata = {KIND: kind, HELP: help, GROUP: group}
    if isinstance(kind, Section):
        return dataclasses.field(default_factory=kind.cls, metadata=metadata)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def settings(cls_or_instance: Any) -> list[dataclasses.Field]:
    """The declared fields of a configuration dataclass (those made by :func:`setting`)."""
    return [f for f in dataclasses.fields(cls_or_instance) if KIND in f.metadata]


def validate(instance: Any, prefix: str = "") -> None:
    """Check and normalise every declared field of ``instance`` in declaration order; the first
    unusable value raises ConfigError naming the field (``prefix`` + name), the value and what is allowed."""
    for item in settings(instance):
        value = item.metadata[KIND].check(prefix + item.name, getattr(instance, item.name), instance)
        object.__setattr__(instance, item.name, value)


def build(cls: type, values: Mapping[str, Any], prefix: str = "") -> Any:
    """``cls(**values)``, with unknown keys named (and the closest known key suggested)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = [key for key in values if key not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hints.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else ""))
        raise ConfigError(f"unknown configuration field(s): {', '.join(hints)}")
    return cls(**values)


def sections(cls: type) -> Sequence[tuple[str, type]]:
    """The nested sections of a configuration dataclass: (field name, dataclass)."""
    return [(f.name, f.metadata[KIND].cls) for f in settings(cls) if isinstance(f.metadata[KIND], Section)]
