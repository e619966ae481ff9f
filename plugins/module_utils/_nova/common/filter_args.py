# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the arguments of the collection's filters; errors are ``ValueError`` naming the argument.

Private library code (no Ansible): every filter checks its arguments here first, so a bad
argument is reported as that argument, never as bad input data. Filters turn the
``ValueError`` into ``AnsibleFilterError``.
"""

from __future__ import annotations

import math

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


def whole_number(value, name, minimum=0, maximum=10 ** 9):
    """An int from an int, an integral float or a decimal string, within [minimum, maximum]."""
    if isinstance(value, bool):
        raise ValueError("%s must be a whole number, got %r" % (name, value))
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 20:
        value = int(value.strip())
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        shown = repr(value) if isinstance(value, (str, float)) and len(repr(value)) <= 40 else type(value).__name__
        raise ValueError("%s must be a whole number, got %s" % (name, shown))
    if value < minimum or value > maximum:
        shown = str(value) if abs(value) < 10 ** 30 else "a number with %d+ digits" % 30
        raise ValueError("%s must be between %d and %d, got %s" % (name, minimum, maximum, shown))
    return value


def boolean(value, name):
    """True/False from a bool or Ansible's usual words (yes/no, true/false, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("%s must be a boolean (true or false), got %s" % (name, _shown(value)))


def optional_text(value, name):
    """None, or a string (numbers are accepted as their text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("%s must be a string, got %s" % (name, _shown(value)))


def optional_mapping(value, name, what="a mapping"):
    """None (as an empty dict is not the same thing), or a dict."""
    if value is None or isinstance(value, dict):
        return value
    raise ValueError("%s must be %s, got %s" % (name, what, _shown(value)))


def choice(value, name, choices):
    """One of ``choices`` (strings)."""
    if isinstance(value, str) and value in choices:
        return value
    raise ValueError("%s must be one of %s, got %s" % (name, ", ".join(choices), _shown(value)))


def _shown(value):
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(repr(value)) <= 40:
        return repr(value)
    return type(value).__name__
