"""Collecting located problems, and calling plugin methods so that whatever they raise is one.

Every call from the engine into a plugin goes through ``Problems.call``: a
``PlanError`` is reported at the field it names inside the plugin's section,
and a crash (a plugin bug) at the section, naming the plugin and its
distribution, never as a traceback.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tlspec.errors import DEBUG_VARIABLE, PlanError, Problem, SpecError, TlspecError, format_path
from tlspec.plugin.manager import PluginRecord
from tlspec.plugin.shapes import UnknownEndpoint
from tlspec.spec.located_yaml import Locations


@dataclass
class Section:
    """One validated plugin section of the spec."""

    kind: str
    path: tuple
    record: PluginRecord
    config: Any

    @property
    def plugin(self) -> Any:
        return self.record.plugin


class Problems:
    """Collects located problems; ``raise_if_any`` reports them all at once."""

    def __init__(self, locations: Locations):
        self.locations = locations
        self.items: list[Problem] = []

    def at_value(self, path: tuple, message: str) -> None:
        self.items.append(Problem(message, self.locations.of_value(path), format_path(path)))

    def at_key(self, path: tuple, message: str) -> None:
        self.items.append(Problem(message, self.locations.of_key(path), format_path(path)))

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.items)

    def call(self, section: Section, method: str, *args: Any,
             on_unknown_endpoint: Callable[[UnknownEndpoint], None] | None = None) -> Any:
        """``section.plugin.<method>(section.config, *args)``; None after recording what went wrong."""
        try:
            return getattr(section.plugin, method)(section.config, *args)
        except PlanError as error:
            self.at_value(section.path + error.field, error.message)
        except (TlspecError, MemoryError):  # running out of memory is the spec's doing, not the plugin's bug
            raise
        except Exception as error:  # a plugin bug must still be reported, located, without a traceback
            if isinstance(error, UnknownEndpoint) and on_unknown_endpoint is not None:
                on_unknown_endpoint(error)
            else:
                self.items.append(crash_problem(section.kind, section.path, section.record, f"{method}()", error,
                                                self.locations))
        return None


def crash_problem(kind: str, path: tuple, record: PluginRecord, where: str, error: Exception,
                  locations: Locations) -> Problem:
    """A plugin that crashed: a plugin bug (exit 1), located at its section."""
    return Problem(_crash_message(kind, record, where, error), locations.of_key(path), format_path(path),
                   plugin_bug=True)


def plugin_crash(section: Section, method: str, error: Exception) -> str:
    """The message of ``crash_problem``, for a call made after validation (no location to give)."""
    return _crash_message(section.kind, section.record, f"{method}()", error)


def _crash_message(kind: str, record: PluginRecord, where: str, error: Exception) -> str:
    """Names the plugin and its distribution; with TLSPEC_DEBUG=1 its traceback is printed too."""
    if os.environ.get(DEBUG_VARIABLE):
        traceback.print_exception(error)
    origin = record.origin
    return (f"{kind} plugin '{record.name}' ({origin.distribution} {origin.version}) failed in {where}: "
            f"{type(error).__name__}: {error}")
