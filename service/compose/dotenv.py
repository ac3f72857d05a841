"""Read ``.env`` and ``env_file`` text the way Docker Compose v2 does.

The rules, checked against Compose v2.40.3:

* blank lines and lines starting with ``#`` are skipped; ``export NAME=...``
  is the same as ``NAME=...``; ``NAME: value`` works like ``NAME=value``;
* a name may hold letters, digits and ``_ . - [ ]``; a space inside it or
  any other character is an error;
* ``NAME`` alone takes its value from the environment and is left out when
  the environment has none;
* an unquoted value runs to the end of the line, loses a `` #comment``
  (space then ``#``) and surrounding whitespace, keeps backslashes as they
  are, and has ``$VAR`` references substituted;
* a single-quoted value is literal; a double-quoted value understands
  ``\\n \\t \\r \\" \\\\ \\$`` (and ``\\a \\b \\f \\v``) and is substituted.
  Both may span lines. Whatever follows the closing quote on the same line is
  read as further statements (``A="x" B=2`` sets both);
* ``$VAR`` looks first at ``lookup`` (the shell environment) and then at the
  names this file has set above.
"""

from __future__ import annotations

from service.compose.interpolation import substitute
from service.errors import ComposeValidationError, SourceLocation
from service.types import Lookup

_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    # Kept as the template escape so substitution leaves a literal "$".
    "$": "$$",
}
_NAME_PUNCTUATION = frozenset("_.-[]")


def parse_dotenv(
    text: str,
    file: str,
    lookup: Lookup | None = None,
    *,
    unset: list[str] | None = None,
) -> dict[str, str]:
    """Return the variables ``text`` sets, in file order.

    ``unset`` collects the names used in ``$VAR`` references that had no
    value (Compose warns about each). Raises ``ComposeValidationError``
    (or its ``InterpolationError``) with the line for malformed input.
    """
    reader = _Reader(text.replace("\r\n", "\n"), file, lookup, unset)
    return reader.read_all()


class _Reader:
    """A cursor over the text and the variables read so far."""

    def __init__(
        self, text: str, file: str, lookup: Lookup | None, unset: list[str] | None
    ) -> None:
        self.text = text
        self.file = file
        self.lookup = lookup
        self.unset = unset if unset is not None else []
        self.position = 0
        self.values: dict[str, str] = {}

    def read_all(self) -> dict[str, str]:
        while self._skip_to_statement():
            self._read_statement()
        return self.values

    def _skip_to_statement(self) -> bool:
        """Move past whitespace and comments; return whether a statement follows."""
        text = self.text
        while self.position < len(text):
            char = text[self.position]
            if char.isspace():
                self.position += 1
            elif char == "#":
                end = text.find("\n", self.position)
                self.position = len(text) if end < 0 else end
            else:
                return True
        return False

    def _read_statement(self) -> None:
        line = self._line()
        name, has_value = self._read_name()
        if not has_value:
            value = self._resolve(name)
            if value is not None:
                self.values[name] = value
            return

        self._skip_blanks()
        quote = self.text[self.position : self.position + 1]
        if quote in ("'", '"'):
            self.values[name] = self._read_quoted(quote, line)
        else:
            self.values[name] = self._read_unquoted(line)

    # --- names --------------------------------------------------------------

    def _read_name(self) -> tuple[str, bool]:
        """Read ``[export ]NAME`` and the ``=``/``:`` after it, if any."""
        self._skip_export()
        start = self.position
        text = self.text
        while self.position < len(text):
            char = text[self.position]
            if char in "=:":
                name = text[start : self.position]
                self.position += 1
                return name, True
            if char == "\n":
                break
            if char in " \t":
                return self._finish_spaced_name(start)
            if not _is_name_char(char):
                raise self._bad_name_char(char, start)
            self.position += 1
        return text[start : self.position], False

    def _skip_export(self) -> None:
        text = self.text
        if text.startswith("export", self.position):
            after = text[self.position + 6 : self.position + 7]
            if after in (" ", "\t"):
                self.position += 6
                self._skip_blanks()

    def _finish_spaced_name(self, start: int) -> tuple[str, bool]:
        name = self.text[start : self.position]
        self._skip_blanks()
        following = self.text[self.position : self.position + 1]
        if following in ("=", ":"):
            self.position += 1
            return name, True
        if following in ("", "\n"):
            return name, False
        if _is_name_char(following):
            raise ComposeValidationError(
                f'The variable name "{name} {following}..." contains a space; '
                "names cannot contain spaces.",
                location=self._location(self._line()),
                key=name,
            )
        raise self._bad_name_char(following, start)

    def _bad_name_char(self, char: str, start: int) -> ComposeValidationError:
        end = self.text.find("\n", start)
        statement = self.text[start : len(self.text) if end < 0 else end]
        return ComposeValidationError(
            f'The character "{char}" is not allowed in a variable name '
            f'("{statement}"); names use letters, digits and _ . - [ ]. '
            "Put a value after = and start comments with #.",
            location=self._location(self._line()),
        )

    # --- values -------------------------------------------------------------

    def _read_quoted(self, quote: str, line: int) -> str:
        text = self.text
        index = self.position + 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == quote:
                raw = text[self.position + 1 : index]
                self.position = index + 1
                if quote == "'":
                    return raw
                return self._expand(_unescape(raw), line)
            index += 1
        raise ComposeValidationError(
            f"The quoted value starting on line {line} is never closed; "
            f"add the closing {quote}.",
            location=self._location(line),
        )

    def _read_unquoted(self, line: int) -> str:
        text = self.text
        end = text.find("\n", self.position)
        end = len(text) if end < 0 else end
        raw = text[self.position : end]
        self.position = end

        comment = raw.find(" #")
        if comment >= 0:
            raw = raw[:comment]
        return self._expand(raw.strip(), line)

    def _expand(self, value: str, line: int) -> str:
        if "$" not in value:
            return value
        result, unset = substitute(value, self._resolve, self._location(line))
        for name in unset:
            if name not in self.unset:
                self.unset.append(name)
        return result

    def _resolve(self, name: str) -> str | None:
        if self.lookup is not None:
            value = self.lookup(name)
            if value is not None:
                return value
        return self.values.get(name)

    # --- places -------------------------------------------------------------

    def _skip_blanks(self) -> None:
        while self.text[self.position : self.position + 1] in (" ", "\t"):
            self.position += 1

    def _line(self) -> int:
        return self.text.count("\n", 0, self.position) + 1

    def _location(self, line: int) -> SourceLocation:
        return SourceLocation(self.file, line)


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in _NAME_PUNCTUATION


def _unescape(raw: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            following = raw[index + 1]
            out.append(_ESCAPES.get(following, char + following))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def parse_raw_env(text: str, path: str) -> dict[str, str]:
    """Read an env file in Compose's ``raw`` format: ``KEY=value`` taken literally.

    Unlike the usual format there are no quotes, escapes, comments after a
    value or ``export``; a line without ``=`` is skipped, and a name with
    whitespace in it is an error.
    """
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        problem = _raw_name_problem(key)
        if problem is not None:
            raise ComposeValidationError(
                f"The env file {path} {problem} on line {number}; raw env files "
                "take NAME=value lines only.",
                location=SourceLocation(path, number, 1),
                key="env_file",
            )
        variables[key] = value
    return variables


def _raw_name_problem(key: str) -> str | None:
    if not key:
        return "has no variable name before '='"
    if any(character.isspace() for character in key):
        return f"has the variable name {key!r}, which contains whitespace"
    return None
