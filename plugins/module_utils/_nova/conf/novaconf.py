# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal, lossless editing of oslo.config ini files such as nova.conf.

Private library code: plain Python, no Ansible imports.

The file is kept as its list of lines. Only the lines of the options being set or removed are
touched; every other line, comment, blank line and line ending stays byte for byte. The
parsing rules are those of ``oslo_config.iniparser`` (``=`` or ``:`` separators, ``#``/``;``
comments, indented continuation lines, a blank line ending a multi-line value, one pair of
matching outer quotes stripped from a value), so what this module reads is what Nova reads.
"""

from __future__ import annotations

import re
import unicodedata

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class NovaConfError(ValueError):
    """Bad input for an edit (the file is never touched when this is raised)."""


def check_name(kind, name):
    """Section and option names: letters, digits, ``_ . -``; nothing that could break a line."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise NovaConfError("invalid %s name %r: only letters, digits, '_', '.' and '-' are allowed"
                            % (kind, name))
    return name


def check_value(label, value):
    """A value must stay on its own line: no line break or other control character.

    ``label`` names the value in the message (a role variable or ``[section] option``).
    """
    if not isinstance(value, str):
        raise NovaConfError("%s: value %r must be a string" % (label, value))
    for ch in value:
        if ch in _LINE_BREAKS:
            raise NovaConfError(
                "%s: value contains a line break (%r); a newline could smuggle a [section] header "
                "or another option into nova.conf, so it is refused" % (label, ch))
        if ch != "\t" and unicodedata.category(ch) == "Cc":
            raise NovaConfError("%s: value contains the control character %r" % (label, ch))
    return value


def quote_value(value):
    """The text to write so that oslo.config reads back exactly ``value``."""
    if value != value.strip() or (len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'") \
            or value in ('"', "'"):
        return '"%s"' % value
    return value


def _unquote(value):
    value = value.strip()
    if value and value[0] == value[-1] and value.startswith(('"', "'")):
        value = value[1:-1]
    return value


# "key = value" / "key=value" / "key: value": the separator with the blanks around it
_ASSIGN = re.compile(r"^[^\s=:#;\[][^=:]*?([ \t]*)([=:])([ \t]*)")


class _Entry:
    """One assignment: its first line index, its number of lines, section, key and value."""

    __slots__ = ("start", "count", "section", "key", "value")

    def __init__(self, start, count, section, key, value):
        self.start, self.count, self.section, self.key, self.value = start, count, section, key, value


class NovaConf:
    """An oslo.config ini file as lines; ``set``/``remove`` edit only the options named."""

    def __init__(self, text=""):
        self.lines = text.splitlines(keepends=True) if text else []

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _section_of(line):
        stripped = line.rstrip()
        if stripped.startswith("[") and stripped.endswith("]"):
            # as oslo.config: the name between the brackets, blanks included ("[ x ]" is
            # the section " x ", which no option of Nova is read from)
            name = stripped[1:-1]
            return name or None
        return None

    def _scan(self):
        """Return (entries, section_blocks) following oslo.config's parser rules.

        section_blocks: list of (name, header_index, end_index_exclusive).
        """
        entries = []
        blocks = []
        section = None
        current = None  # the _Entry being built
        for i, raw in enumerate(self.lines):
            line = raw.rstrip()
            if not line:
                current = None
                continue
            if line.startswith((" ", "\t")):
                if current is not None:
                    current.count = i - current.start + 1
                    current.value = (current.value + "\n" + line.lstrip()) if current.value else line.lstrip()
                continue
            current = None
            if line.startswith("["):
                name = self._section_of(line)
                if blocks:
                    blocks[-1] = (blocks[-1][0], blocks[-1][1], i)
                section = name
                blocks.append((name, i, len(self.lines)))
            elif line.startswith(("#", ";")):
                continue
            else:
                colon, equal = line.find(":"), line.find("=")
                if colon < 0 and equal < 0:
                    continue
                sep = equal if (colon < 0 or (0 <= equal < colon)) else colon
                key = line[:sep].strip()
                value = line[sep + 1:].strip()
                current = _Entry(i, 1, section, key, value)
                entries.append(current)
        for entry in entries:
            entry.value = _unquote(entry.value) if "\n" not in entry.value else entry.value
        return entries, blocks

    def get(self, section, option):
        """All values of ``option`` in ``section``, in file order (last one wins for a single-valued option)."""
        entries = self._scan()[0]
        return [e.value for e in entries if e.section == section and e.key == option]

    def values(self, section, option):
        """What oslo.config reads for ``option`` of group ``section``: the values of every
        section whose name oslo.config folds to that group (``[Filter_Scheduler]`` is
        ``[filter_scheduler]``; ``DEFAULT`` is matched exactly), in file order."""
        group = oslo_group(section)
        entries = self._scan()[0]
        return [e.value for e in entries if e.section is not None and oslo_group(e.section) == group
                and e.key == option]

    def parse_errors(self):
        """``[(line_number, message, line)]``: the lines oslo.config's parser refuses (Nova
        does not start with such a file), in the words of ``oslo_config.iniparser``."""
        errors = []
        key = None
        section = None
        for i, raw in enumerate(self.lines, start=1):
            line = raw.rstrip()
            if not line:
                key = None
                continue
            if line.startswith((" ", "\t")):
                if key is None:
                    errors.append((i, "Unexpected continuation line", line))
                continue
            key = None
            if line.startswith("["):
                if not line.endswith("]"):
                    errors.append((i, "Invalid section (must end with ])", line))
                elif len(line) <= 2:
                    errors.append((i, "Empty section name", line))
                else:
                    section = line[1:-1]
            elif line.startswith(("#", ";")):
                continue
            else:
                colon, equal = line.find(":"), line.find("=")
                if colon < 0 and equal < 0:
                    hint = " (a UTF-8 byte order mark before it)" if line.startswith("\ufeff") else ""
                    errors.append((i, "No ':' or '=' found in assignment" + hint, line))
                    continue
                sep = equal if (colon < 0 or (0 <= equal < colon)) else colon
                if not line[:sep].strip():
                    errors.append((i, "Key cannot be empty", line))
                    continue
                if section is None:
                    errors.append((i, "No section header before this option", line))
                    continue
                key = line[:sep].strip()
        return errors

    def resolve(self, value, section, defaults=None):
        """``(value, None)`` with the ``$`` references of ``value`` replaced as oslo.config
        does (see :func:`substitute`), or ``(None, name)`` naming the reference that neither
        this file nor ``defaults`` defines."""
        try:
            return substitute(self, value, section, defaults), None
        except UnresolvedReference as exc:
            return None, exc.name

    def names(self):
        """``[(section, option, line_number)]`` of every active option line, as in the file
        (line numbers from 1; options before any section header have section None)."""
        return [(e.section, e.key, e.start + 1) for e in self._scan()[0]]

    def _style(self, line_index=None, section=None):
        """The separator to write: the one of line ``line_index`` when it is an option line,
        else the one most option lines of ``section`` use, else of the whole file (``" = "``
        on a tie or an empty file)."""
        def sep_of(raw):
            m = _ASSIGN.match(raw)
            return "%s%s%s" % (m.group(1), m.group(2), m.group(3)) if m else None
        if line_index is not None:
            own = sep_of(self.lines[line_index])
            if own:
                return own
        entries = self._scan()[0]
        for scope in ([e for e in entries if e.section == section], entries):
            counts = {}
            for e in scope:
                sep = sep_of(self.lines[e.start])
                if sep:
                    counts[sep] = counts.get(sep, 0) + 1
            if counts:
                best = max(counts.values())
                if counts.get(" = ") == best:
                    return " = "
                return sorted(k for k, v in counts.items() if v == best)[0]
        return " = "

    def sections(self):
        blocks = self._scan()[1]
        out = []
        for name, dummy_header, dummy_end in blocks:
            if name not in out:
                out.append(name)
        return out

    def text(self):
        return "".join(self.lines)

    # -- editing -------------------------------------------------------------------------
    def _newline(self):
        for line in self.lines:
            if line.endswith("\r\n"):
                return "\r\n"
            if line.endswith("\n"):
                return "\n"
        return "\n"

    def set(self, section, option, values):
        """Make ``option`` in ``section`` hold ``values`` (a string, or a list for a multi-valued
        option written as repeated lines). Returns True when the text changed."""
        check_name("section", section)
        check_name("option", option)
        if isinstance(values, str):
            values = [values]
        values = list(values)
        if not values:
            return self.remove(section, option)
        for v in values:
            check_value("[%s] %s" % (section, option), v)
        entries, blocks = self._scan()
        found = [e for e in entries if e.section == section and e.key == option]
        if [e.value for e in found] == values and all(e.count == 1 for e in found):
            return False
        nl = self._newline()
        sep = self._style(found[0].start if found else None, section)
        new_lines = ["%s%s%s%s" % (option, sep, quote_value(v), nl) for v in values]
        if found:
            first = found[0]
            # Replace the first occurrence in place; drop the other occurrences (bottom-up so
            # indexes stay valid).
            for e in reversed(found[1:]):
                del self.lines[e.start:e.start + e.count]
            self.lines[first.start:first.start + first.count] = new_lines
            return True
        block = None
        for b in blocks:
            if b[0] == section:
                block = b
        if block is None:
            if self.lines and not self.lines[-1].endswith(("\n", "\r")):
                self.lines[-1] += nl
            if self.lines and self.lines[-1].strip():
                self.lines.append(nl)
            self.lines.append("[%s]%s" % (section, nl))
            self.lines.extend(new_lines)
            return True
        header, end = block[1], block[2]
        # After the commented template line of this option ("#option = <default>"), as
        # Nova's sample configs and distribution files have them; else after the last
        # non-blank line of the section.
        template = re.compile(r"^[#;]\s*%s\s*[=:]" % re.escape(option))
        at = None
        for i in range(header + 1, end):
            if template.match(self.lines[i]):
                at = i + 1
        if at is None:
            at = header + 1
            for i in range(header + 1, end):
                if self.lines[i].strip():
                    at = i + 1
        if at > 0 and not self.lines[at - 1].endswith(("\n", "\r")):
            self.lines[at - 1] += nl
        self.lines[at:at] = new_lines
        return True

    def remove(self, section, option):
        """Remove every active occurrence of ``option`` in ``section``. True when changed."""
        check_name("section", section)
        check_name("option", option)
        entries = self._scan()[0]
        found = [e for e in entries if e.section == section and e.key == option]
        for e in reversed(found):
            del self.lines[e.start:e.start + e.count]
        return bool(found)


def oslo_group(section):
    """The group oslo.config reads a section as: ``DEFAULT`` as is, any other name lower-cased."""
    return section if section == "DEFAULT" else section.lower()


class UnresolvedReference(ValueError):
    """A ``$name`` in a value that neither the file nor the given defaults define."""

    def __init__(self, name):
        ValueError.__init__(self, name)
        self.name = name


# string.Template's pattern with oslo.config's idpattern (ConfigOpts.Template) and
# string.Template's re.IGNORECASE: $$, $name, ${name}, and a lone $ left as it is
_TEMPLATE = re.compile(r"\$(?:(?P<escaped>\$)|(?P<named>[_a-z][._a-z0-9]*)|\{(?P<braced>[_a-z][._a-z0-9]*)\}|"
                       r"(?P<invalid>))", re.IGNORECASE)


def substitute(conf, value, section, defaults=None, _depth=0):
    """``value`` with its ``$name`` / ``${name}`` / ``$group.name`` references replaced as
    oslo.config does when Nova reads the option (``$$`` and ``\\$`` give a ``$``): a bare
    name is looked up in ``section`` first, then in ``[DEFAULT]``; the file's last value
    wins, else ``defaults[(group, name)]`` (None reads as an empty string). A reference
    found in neither raises :class:`UnresolvedReference` (Nova's value is not known here)."""
    if "$" not in value:
        return value
    if _depth > 20:
        raise UnresolvedReference(value)
    value = value.replace("\\$", "$$")
    defaults = defaults or {}

    def lookup(name):
        if "." in name:
            group, _dot, option = name.partition(".")
            places = [(group, option)]
        else:
            places = [(section, name), ("DEFAULT", name)]
        for group, option in places:
            found = conf.values(group, option)
            if found:
                return substitute(conf, found[-1], group, defaults, _depth + 1)
            key = (oslo_group(group), option)
            if key in defaults:
                default = defaults[key]
                return "" if default is None else str(default)
        raise UnresolvedReference(name)

    def repl(m):
        if m.group("escaped") is not None:
            return "$"
        name = m.group("named") or m.group("braced")
        if name is None:
            return m.group(0)
        return lookup(name)

    return _TEMPLATE.sub(repl, value)


def apply_changes(text, changes):
    """Apply a list of changes to ``text``.

    Each change is a dict with ``section``, ``option``, ``value`` (string, list of strings, or
    None) and optional ``state`` (``present``/``absent``; None value means absent) and ``label``
    (the name to use in error messages, e.g. a role variable). All inputs are checked first, so
    a bad one raises NovaConfError before any edit.
    Returns (new_text, changed_items) where changed_items lists
    ``{"section", "option", "before", "after"}`` for the options that changed.
    """
    normalized = []
    for change in changes:
        section = check_name("section", change.get("section"))
        option = check_name("option", change.get("option"))
        label = change.get("label") or "[%s] %s" % (section, option)
        state = change.get("state") or "present"
        value = change.get("value")
        if state not in ("present", "absent"):
            raise NovaConfError("%s: state must be present or absent, not %r" % (label, state))
        if state == "absent" or value is None:
            normalized.append((section, option, None, label))
            continue
        values = value if isinstance(value, list) else [value]
        values = [_to_text(label, v) for v in values]
        for v in values:
            check_value(label, v)
        normalized.append((section, option, values, label))
    conf = NovaConf(text)
    changed = []
    for section, option, values, label in normalized:
        before = conf.get(section, option)
        if values is None:
            did = conf.remove(section, option)
        else:
            did = conf.set(section, option, values)
        if did:
            changed.append({"section": section, "option": option, "label": label,
                            "before": before, "after": conf.get(section, option)})
    return conf.text(), changed


def _to_text(label, value):
    """Render a scalar the way oslo.config expects it: booleans lower-case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    raise NovaConfError("%s: value %r must be a string, number or boolean" % (label, value))
