"""Generate argparse options from a typed config dataclass, and back.

Every entry point has one config dataclass whose fields carry their help text in
``field(metadata={"help": ...})``; the CLI is generated from it, so the flags, their
defaults and the config written beside each output never drift apart.

A config composed of other stages' configs (the round's) holds each in a :func:`stage_field`,
which names the options it exposes and the stage field each one sets: the options are flat
(``--rm-max-steps`` sets ``config.rm.max_steps``), their help and defaults are the stage's, and
:func:`config_to_dict` writes them flat under the same names.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, get_args, get_origin

T = TypeVar("T")
STAGE_OPTIONS = "options"  # metadata key of a stage_field: {option name: the stage config's field}
STAGE_BUILD = "build"  # metadata key of a stage_field: builds the stage config from the options given


def stage_field(
    factory: Callable[..., Any], options: Mapping[str, str], help: str = "", build: Callable[..., Any] | None = None
) -> Any:
    """A field holding a stage's own config (its default: ``factory()``), exposing ``options``
    ``{option name: field of the stage config}``; ``build(**given)`` makes it from the options given
    (default: ``factory()`` with them replaced)."""
    metadata = {"help": help, STAGE_OPTIONS: dict(options), STAGE_BUILD: build}
    return dataclasses.field(default_factory=factory, metadata=metadata)


class Option(NamedTuple):
    """One option of a config: its name, type, default, metadata (help, metavar) and where it lands."""

    name: str
    type: Any
    default: Any
    metadata: Mapping[str, Any]
    stage: str | None  # the stage_field holding it (None: a field of the config itself)
    attr: str  # the field it sets (of the stage config, or of the config itself)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]


def options(cls: type[Any]) -> Iterator[Option]:
    """Every option of config class ``cls``, stage fields expanded into the options they expose."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if STAGE_OPTIONS not in f.metadata:
            yield Option(f.name, hints[f.name], _default(f), f.metadata, None, f.name)
            continue
        stage = _default(f)
        stage_hints = typing.get_type_hints(type(stage))
        stage_fields = {sf.name: sf for sf in dataclasses.fields(stage)}
        for name, attr in f.metadata[STAGE_OPTIONS].items():
            yield Option(name, stage_hints[attr], getattr(stage, attr), stage_fields[attr].metadata, f.name, attr)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def add_config_args(parser: argparse.ArgumentParser, cls: type[Any], skip: tuple[str, ...] = ()) -> None:
    """Add one option per field of dataclass ``cls`` (except ``skip``); a stage field's options form
    an argument group titled by its help."""
    stage_help = {f.name: f.metadata.get("help") or f.name for f in dataclasses.fields(cls)}
    groups: dict[str, Any] = {}
    for opt in options(cls):
        if opt.name in skip:
            continue
        if opt.stage is not None and opt.stage not in groups:
            groups[opt.stage] = parser.add_argument_group(stage_help[opt.stage])
        target = parser if opt.stage is None else groups[opt.stage]
        tp, _optional = _unwrap_optional(opt.type)
        help_text, default = opt.metadata.get("help", ""), opt.default
        kwargs: dict[str, Any] = {"dest": opt.name, "default": argparse.SUPPRESS}
        shown = f" (default: {default})" if default not in (None, "", [], ()) else ""
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif get_origin(tp) is Literal:
            kwargs["choices"] = list(get_args(tp))
            kwargs["type"] = type(get_args(tp)[0])
        elif get_origin(tp) in (list, tuple):
            inner = get_args(tp)[0] if get_args(tp) else str
            kwargs["nargs"] = "*"
            kwargs["type"] = inner
        elif tp in (int, float, str, Path):
            kwargs["type"] = tp
        else:
            kwargs["type"] = str
        kwargs["help"] = help_text + shown
        if "metavar" in opt.metadata:
            kwargs["metavar"] = opt.metadata["metavar"]
        target.add_argument(_flag(opt.name), **kwargs)


def config_from_options(cls: type[T], **given: Any) -> T:
    """Build ``cls`` from options by name (as :func:`options` names them): each stage config from the
    options given for it, the rest of the config's fields as given, defaults for everything else."""
    by_name = {opt.name: opt for opt in options(cls)}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise TypeError(f"{cls.__name__} has no option(s) {unknown}")
    values: dict[str, Any] = {}
    staged: dict[str, dict[str, Any]] = {}
    for name, value in given.items():
        opt = by_name[name]
        if opt.stage is None:
            values[opt.attr] = value
        else:
            staged.setdefault(opt.stage, {})[opt.attr] = value
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in staged:
            build = f.metadata[STAGE_BUILD]
            values[f.name] = build(**staged[f.name]) if build else dataclasses.replace(_default(f), **staged[f.name])
    return cls(**values)


def config_from_args(cls: type[T], ns: argparse.Namespace, **overrides: Any) -> T:
    """Build ``cls`` from parsed args: given flags override field defaults."""
    names = {opt.name for opt in options(cls)}
    values = {k: v for k, v in vars(ns).items() if k in names}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_options(cls, **values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-able dict of a config (paths as strings), to write beside outputs; a stage field is
    written as the options it exposes, flat, under their names."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return convert(dataclasses.asdict(value))
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    def holder(opt: Option) -> Any:
        return config if opt.stage is None else getattr(config, opt.stage)

    return {opt.name: convert(getattr(holder(opt), opt.attr)) for opt in options(type(config))}
