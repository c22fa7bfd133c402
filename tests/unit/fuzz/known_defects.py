# ruff: noqa: E501
"""Defects the fuzzing found that are not fixed yet, one per test case: strict xfails.

Each entry is ``"<property>:<function>-<argument>-<value>"`` and what happened. A fix
turns its test into an XPASS, which fails the suite until the entry is struck off here.
"""

KNOWN_DEFECTS = {}
