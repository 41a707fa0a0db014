"""Strict, bounded YAML: the document's shape is checked on PyYAML's flat event stream before anything is built.

PyYAML's composer and constructor recurse once per nesting level (100,000 nested ``[`` crash the C composer
with a segfault, 1,000 exhaust Python's recursion limit), and whatever walks the data afterwards (validation,
line maps) expands every alias, so nine anchors of nine aliases become 387 million nodes.  The event stream is
flat, so one pass over it bounds nesting depth and alias expansion, refuses recursive aliases, explicit tags,
non-scalar keys, impossible dates and numbers that YAML 1.1 reads otherwise than written ("010" is 8,
"1:28:19" is 5299), all with their line, before the C safe loader builds the data (which then
also refuses duplicate keys).  Line maps are built from the same stream and never expand an alias.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

import yaml

MAX_DEPTH = 64  # the curated files nest about 8 deep
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add, beyond the document's own node count

LineMap = dict[tuple[Any, ...], int]

_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP = re.compile(r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?")  # PyYAML's implicit date prefix
# YAML 1.1 numbers that do not read as written: octal "010" (8), hex "0x14", binary "0b1", base 60 "1:28:19"
# (5299), digit groups "5_299".  Only a prefilter: the resolver then says whether PyYAML really makes a number.
_NOT_DECIMAL = re.compile(r"[-+]?(?:0[0-9_]|0[xXoObB]|[0-9][0-9_]*[_:])")
_RESOLVER = yaml.resolver.Resolver()
_NUMBER_TAGS = {"tag:yaml.org,2002:int": "construct_yaml_int", "tag:yaml.org,2002:float": "construct_yaml_float"}


class Refused(yaml.YAMLError):
    """A document PyYAML would accept but we do not; carries the line like PyYAML's own errors."""

    def __init__(self, problem: str, mark: yaml.Mark | None):
        self.problem, self.problem_mark = problem, mark
        super().__init__(problem)


class _DuplicateKey(Refused):
    def __init__(self, key: object, mark: yaml.Mark):
        super().__init__(f"duplicate key {key!r} (YAML would silently keep the last one)", mark)


class _StrictLoader(yaml.CSafeLoader):
    """C safe loader that refuses duplicate and unhashable keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in seen:
                raise _DuplicateKey(key, key_node.start_mark)
            seen.add(key)
        except TypeError:
            raise Refused("a mapping key must be a plain value (this one is a list or mapping)",
                          key_node.start_mark) from None
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _events(text: str):
    loader = yaml.CSafeLoader(text)
    get = loader.get_event
    try:
        while (event := get()) is not None:
            yield event
    finally:
        loader.dispose()


def _check_date(event: yaml.ScalarEvent, constructor: yaml.constructor.SafeConstructor) -> None:
    node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", event.value, event.start_mark, event.end_mark)
    if constructor.timestamp_regexp.match(event.value):
        try:
            constructor.construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise Refused(f"impossible date {event.value!r} ({exc})", event.start_mark) from None


def _check_number(event: yaml.ScalarEvent, constructor: yaml.constructor.SafeConstructor) -> None:
    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))
    if tag in _NUMBER_TAGS:
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            number = getattr(constructor, _NUMBER_TAGS[tag])(node)
        except (ValueError, OverflowError):
            number = "another number"
        raise Refused(f"YAML reads {event.value!r} as {number}, not as written: write a plain decimal number "
                      "(no leading zero, digit groups or colons), or quote it if it is text", event.start_mark)


def check_shape(text: str) -> None:
    """Raise :class:`Refused` (or a PyYAML error) unless the document is within bounds; builds nothing.

    Bounds: nesting at most :data:`MAX_DEPTH`; the nodes aliases add at most the document's own node count or
    :data:`MAX_ALIAS_NODES`, whichever is larger; no alias inside its own anchor; no explicit tags other than
    ``!!str``; mapping keys are plain scalars; implicit dates exist on the calendar.
    """
    constructor = yaml.constructor.SafeConstructor()
    sizes: dict[str, int] = {}  # anchor -> expanded node count
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # [expanded size so far, anchor, is_mapping, expecting_key]
    own = expanded = 0
    scalar, alias, seq_start, map_start = yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, \
        yaml.MappingStartEvent
    node_events = {scalar, alias, seq_start, map_start}
    end_events = {yaml.SequenceEndEvent, yaml.MappingEndEvent}
    for event in _events(text):
        kind = type(event)
        if kind is scalar and stack and not event.anchor and event.tag is None:  # the common case, kept short
            top = stack[-1]
            if top[2]:
                top[3] = not top[3]
            own += 1
            expanded += 1
            top[0] += 1
            value = event.value
            if event.implicit[0] and not event.style and _NOT_DECIMAL.match(value):
                _check_number(event, constructor)
            if event.implicit[0] and value[:1].isdigit() and _TIMESTAMP.match(value):
                _check_date(event, constructor)
            continue
        if kind in node_events:
            top = stack[-1] if stack else None
            is_key = top is not None and top[2] and top[3]
            if top is not None and top[2]:
                top[3] = not top[3]
            if kind is alias:
                if event.anchor in open_anchors:
                    raise Refused(f"alias *{event.anchor} lies inside its own anchor (a recursive structure)",
                                  event.start_mark)
                if is_key:
                    raise Refused("a mapping key must be a plain value, not an alias", event.start_mark)
                size = sizes.get(event.anchor, 1)  # an undefined alias is reported by the composer
                expanded += size
                if expanded - own > max(own, MAX_ALIAS_NODES):
                    raise Refused(f"aliases expand the document beyond {max(own, MAX_ALIAS_NODES):,} extra nodes "
                                  "(an alias bomb?)", event.start_mark)
                if top is not None:
                    top[0] += size
                continue
            own += 1
            expanded += 1
            if event.tag is not None and event.tag != _STR_TAG:
                tag = event.tag.replace("tag:yaml.org,2002:", "!!")
                raise Refused(f"the YAML tag {tag} is not allowed here (write a plain value)", event.start_mark)
            if kind is yaml.ScalarEvent:
                if event.implicit[0] and not event.style and _NOT_DECIMAL.match(event.value):
                    _check_number(event, constructor)
                if event.implicit[0] and event.value[:1].isdigit() and _TIMESTAMP.match(event.value):
                    _check_date(event, constructor)
                if event.anchor is not None:
                    sizes[event.anchor] = 1
                if top is not None:
                    top[0] += 1
                continue
            if is_key:
                raise Refused("a mapping key must be a plain value (this one is a list or mapping)",
                              event.start_mark)
            if len(stack) >= MAX_DEPTH:
                raise Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([1, event.anchor, kind is yaml.MappingStartEvent, True])
        elif kind in end_events:
            size, anchor, _, _ = stack.pop()
            if anchor is not None:
                open_anchors.discard(anchor)
                sizes[anchor] = size
            if stack:
                stack[-1][0] += size


def parse_data(text: str) -> Any:
    """Parse one YAML document strictly: shape checked first, then the C safe loader (duplicate keys refused)."""
    check_shape(text)
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


# YAML 1.1 also breaks lines at NEL, LS and PS (U+0085, U+2028, U+2029); an editor does not, so a mark's own line
# number would point below the record after one of them ("sources.yaml:12" for line 10).
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")


def editor_line(text: str, mark: Any) -> int:
    """The 1-based line of a YAML mark as an editor counts lines (by "\n" only)."""
    if not _OTHER_BREAKS.search(text):
        return mark.line + 1
    return text.count("\n", 0, mark.index) + 1


def line_map(text: str) -> LineMap:
    """Key path -> line number for every node, from the event stream (aliases are not followed).

    A mapping entry maps to its key's line, a sequence item to the item's first line.  Only needed to report
    errors, so it is built after :func:`parse_data` accepted the text.
    """
    lines: LineMap = {}
    newlines = [i for i, c in enumerate(text) if c == "\n"] if _OTHER_BREAKS.search(text) else None
    stack: list[list[Any]] = []  # [path, is_mapping, expecting_key, key or next index]
    for event in _events(text):
        kind = type(event)
        if kind is yaml.ScalarEvent or kind is yaml.AliasEvent or kind is yaml.SequenceStartEvent \
                or kind is yaml.MappingStartEvent:
            line = event.start_mark.line + 1 if newlines is None else bisect_left(newlines, event.start_mark.index) + 1
            if not stack:
                path: tuple[Any, ...] = ()
            else:
                top = stack[-1]
                if top[1]:
                    if top[2]:  # a key: remember it, its line stands for the entry
                        top[2] = False
                        top[3] = event.value if kind is yaml.ScalarEvent else None
                        if top[0] is not None and top[3] is not None:
                            lines[(*top[0], top[3])] = line
                        if kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                            stack.append([None, kind is yaml.MappingStartEvent, True, 0])  # refused anyway
                        continue
                    top[2] = True
                    path = (*top[0], top[3]) if top[0] is not None and top[3] is not None else None
                else:
                    path = (*top[0], top[3]) if top[0] is not None else None
                    top[3] += 1
            if path is not None:
                lines.setdefault(path, line)
            if kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                stack.append([path, kind is yaml.MappingStartEvent, True, 0])
        elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
            stack.pop()
    return lines
