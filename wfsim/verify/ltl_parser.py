"""Text syntax for LTLf formulas: a tokenizer and a recursive-descent parser.

Grammar, loosest binding first (``->`` and ``U``/``R`` are right-associative,
``&`` and ``|`` left-associative)::

    implies := or ( "->" implies )?
    or      := and ( "|" and )*
    and     := until ( "&" until )*
    until   := unary ( ("U" | "R") until )?
    unary   := ("!" | "X" | "WX" | "G" | "F") unary | primary
    primary := "true" | "false" | ATOM | "(" implies ")"

``ATOM`` is a letter or ``_`` followed by letters, digits, ``_``, ``.`` or
``:`` (e.g. ``task:3.done``). The words ``X WX G F U R true false`` are
reserved and never atoms; ``Gx`` or ``Fdone`` are ordinary atoms.

The formula classes live in :mod:`wfsim.verify.ltl`; this module imports them
lazily so that ``ltl`` can re-export :func:`parse` without an import cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfsim.verify.ltl import Formula

__all__ = ["ATOM_PATTERN", "KEYWORDS", "LTLParseError", "Token", "parse", "tokenize"]

#: Atom names accepted by the parser (and by :class:`wfsim.verify.ltl.Atom`).
ATOM_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.:]*")

#: Reserved words: operators and constants, never atom names.
KEYWORDS = frozenset({"X", "WX", "G", "F", "U", "R", "true", "false"})

_UNARY = {"!", "X", "WX", "G", "F"}
_PRIMARY_START = "an atom, 'true', 'false', '(', '!', 'X', 'WX', 'G' or 'F'"


class LTLParseError(ValueError):
    """A formula text could not be parsed.

    Attributes:
        text: The text being parsed.
        position: 0-based character offset of the offending token.
        expected: Human-readable description of what would have been valid.
        found: The offending token text (``"end of input"`` at the end).
    """

    def __init__(self, text: str, position: int, expected: str, found: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        caret = " " * position + "^"
        super().__init__(
            f"expected {expected} at position {position}, found {found}\n  {text}\n  {caret}"
        )


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: its kind (the operator text, ``"ATOM"`` or ``"EOF"``)."""

    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    """Split formula text into tokens, ending with an ``EOF`` token.

    Raises:
        LTLParseError: On a character that starts no token.
    """
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("->", i):
            tokens.append(Token("->", "->", i))
            i += 2
        elif ch in "!&|()":
            tokens.append(Token(ch, ch, i))
            i += 1
        else:
            m = ATOM_PATTERN.match(text, i)
            if m is None:
                expected = "'->'" if ch == "-" else _PRIMARY_START + " or a binary operator"
                raise LTLParseError(text, i, expected, repr(ch))
            word = m.group()
            tokens.append(Token(word if word in KEYWORDS else "ATOM", word, i))
            i = m.end()
    tokens.append(Token("EOF", "", n))
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        from wfsim.verify import ltl  # lazy: ltl imports this module

        self.ast = ltl
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, expected: str) -> LTLParseError:
        token = self.current
        found = "end of input" if token.kind == "EOF" else repr(token.text)
        return LTLParseError(self.text, token.position, expected, found)

    def parse(self) -> Formula:
        formula = self.implies()
        if self.current.kind != "EOF":
            raise self.fail("a binary operator ('->', '|', '&', 'U', 'R') or end of input")
        return formula

    def implies(self) -> Formula:
        left = self.or_()
        if self.current.kind == "->":
            self.advance()
            return self.ast.Implies(left, self.implies())
        return left

    def or_(self) -> Formula:
        left = self.and_()
        while self.current.kind == "|":
            self.advance()
            left = self.ast.Or(left, self.and_())
        return left

    def and_(self) -> Formula:
        left = self.until()
        while self.current.kind == "&":
            self.advance()
            left = self.ast.And(left, self.until())
        return left

    def until(self) -> Formula:
        left = self.unary()
        kind = self.current.kind
        if kind == "U":
            self.advance()
            return self.ast.Until(left, self.until())
        if kind == "R":
            self.advance()
            return self.ast.Release(left, self.until())
        return left

    def unary(self) -> Formula:
        kind = self.current.kind
        if kind in _UNARY:
            self.advance()
            operand = self.unary()
            constructor = {
                "!": self.ast.Not,
                "X": self.ast.Next,
                "WX": self.ast.WeakNext,
                "G": self.ast.Always,
                "F": self.ast.Eventually,
            }[kind]
            return constructor(operand)
        return self.primary()

    def primary(self) -> Formula:
        token = self.current
        if token.kind == "ATOM":
            self.advance()
            return self.ast.Atom(token.text)
        if token.kind == "true":
            self.advance()
            return self.ast.TrueF()
        if token.kind == "false":
            self.advance()
            return self.ast.FalseF()
        if token.kind == "(":
            self.advance()
            inner = self.implies()
            if self.current.kind != ")":
                raise self.fail("')' or a binary operator")
            self.advance()
            return inner
        raise self.fail(_PRIMARY_START)


def parse(text: str) -> Formula:
    """Parse LTLf formula text, e.g. ``"G(running -> F done)"``.

    Args:
        text: The formula in the syntax described in the module docstring.

    Returns:
        The formula as an immutable :class:`wfsim.verify.ltl.Formula` tree.

    Raises:
        LTLParseError: With the position and what was expected there.
    """
    return _Parser(text).parse()
