# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scheduling explanation engine (private library code, plain data in and out).

Entry point: :func:`ansible_collections.stackops.nova.plugins.module_utils._nova.explain.engine.explain`.
"""
