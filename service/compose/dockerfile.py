"""Read what a Dockerfile gives every container of its image.

Only the settings a Compose service can override are kept: ``CMD``,
``ENTRYPOINT``, ``ENV``, ``WORKDIR``, ``USER`` and ``EXPOSE``, plus the
external image the chosen stage starts from. Nothing is built or run.

The rules follow Docker's builder (BuildKit):

* parser directives (``# escape=`` ``) count only at the very top; lines
  ending in the escape character continue; comment lines are skipped, also
  inside a continuation; heredoc bodies (``RUN <<EOF``) are skipped;
* ``FROM image [AS name]`` starts a stage; ``target`` picks one by name, the
  last is the default; a stage whose ``FROM`` names an earlier stage starts
  from that stage's settings;
* ``CMD``/``ENTRYPOINT`` in JSON (exec) form are taken as is; anything else
  is shell form and runs through the current ``SHELL`` (``/bin/sh -c``);
  setting ``ENTRYPOINT`` clears a ``CMD`` the stage did not set itself;
* ``ENV``, ``WORKDIR``, ``USER`` and ``EXPOSE`` substitute ``$VAR`` from the
  stage's ``ENV`` and declared ``ARG`` values (``build_args`` win over ARG
  defaults; ARGs before the first ``FROM`` reach a stage only when it
  declares them again); a relative ``WORKDIR`` joins the previous one.

What cannot be known without the registry stays unknown: the settings of
an external base image, and platform ARGs such as ``TARGETARCH``. ``EXPOSE``
entries are kept as ``port/protocol`` with ranges unexpanded.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from service.errors import ComposeValidationError, SourceLocation
from service.model import ImageDefaults
from service.types import Lookup

_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")
_DEFAULT_SHELL = ("/bin/sh", "-c")
_EXPOSE = re.compile(r"([0-9]+)(?:-([0-9]+))?(?:/([A-Za-z]+))?")


@dataclass(frozen=True)
class Instruction:
    """One logical Dockerfile line: keyword, the text after it, and its line."""

    keyword: str
    rest: str
    line: int


def parse_dockerfile(
    text: str,
    file: str,
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
) -> ImageDefaults:
    """Return the defaults of the image built from ``text`` (stage ``target``).

    Raises ``ComposeValidationError`` with the line for a Dockerfile the
    builder would reject, or when ``target`` names no stage.
    """
    instructions, escape = split_instructions(text, file)
    if not instructions:
        raise ComposeValidationError(
            "The Dockerfile has no instructions; it needs at least a FROM line.",
            location=SourceLocation(file),
        )
    builder = _Builder(file, escape, dict(build_args or {}))
    for instruction in instructions:
        builder.apply(instruction)
    return builder.result(target)


# --- splitting into instructions ----------------------------------------------


def split_instructions(text: str, file: str) -> tuple[list[Instruction], str]:
    """Return the logical instructions of ``text`` and its escape character."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    escape, first = _read_directives(lines, file)

    instructions: list[Instruction] = []
    index = first
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        logical, index = _join_continuation(lines, index, escape)
        instruction = _make_instruction(logical, start + 1, file)
        if instruction is None:
            continue
        instructions.append(instruction)
        if instruction.keyword in _HEREDOC_INSTRUCTIONS:
            index = _skip_heredocs(instruction, lines, index, file)
    return instructions, escape


def _read_directives(lines: list[str], file: str) -> tuple[str, int]:
    escape = "\\"
    seen: set[str] = set()
    for number, line in enumerate(lines):
        match = _DIRECTIVE.fullmatch(line.strip()) if line.strip() else None
        if match is None:
            return escape, number
        name = match.group(1).lower()
        if name in seen:
            raise ComposeValidationError(
                f'The parser directive "{name}" is given twice.',
                location=SourceLocation(file, number + 1),
            )
        seen.add(name)
        if name == "escape":
            escape = _escape_character(match.group(2), file, number + 1)
    return escape, len(lines)


def _escape_character(value: str, file: str, line: int) -> str:
    if value not in ("\\", "`"):
        raise ComposeValidationError(
            f'The escape directive must be "\\" or "`", not "{value}".',
            location=SourceLocation(file, line),
        )
    return value


def _join_continuation(lines: list[str], index: int, escape: str) -> tuple[str, int]:
    """Join the lines of one instruction; return it and the next line's index."""
    parts: list[str] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        body = line.rstrip()
        if body.endswith(escape):
            parts.append(body[: -len(escape)])
            index = _skip_comments_and_blanks(lines, index)
            continue
        parts.append(line)
        break
    return "".join(parts), index


def _skip_comments_and_blanks(lines: list[str], index: int) -> int:
    # Inside a continuation, comment and empty lines are dropped entirely.
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            break
        index += 1
    return index


def _make_instruction(logical: str, line: int, file: str) -> Instruction | None:
    stripped = logical.strip()
    if not stripped:
        return None
    keyword, _, rest = stripped.partition(" ")
    if "\t" in keyword:
        keyword, _, more = keyword.partition("\t")
        rest = f"{more} {rest}".strip()
    keyword = keyword.upper()
    if keyword not in _INSTRUCTIONS:
        raise ComposeValidationError(
            f'The Dockerfile has an unknown instruction "{keyword}".',
            location=SourceLocation(file, line),
            key=keyword,
        )
    return Instruction(keyword, rest.strip(), line)


def _skip_heredocs(
    instruction: Instruction, lines: list[str], index: int, file: str
) -> int:
    for match in _HEREDOC.finditer(instruction.rest):
        strip_tabs, word = match.group(1) == "-", match.group(3)
        while True:
            if index >= len(lines):
                raise ComposeValidationError(
                    f'The heredoc "<<{word}" is never closed by a line "{word}".',
                    location=SourceLocation(file, instruction.line),
                )
            line = lines[index]
            index += 1
            if (line.lstrip("\t") if strip_tabs else line) == word:
                break
    return index


# --- building the stages --------------------------------------------------------


@dataclass
class _Stage:
    name: str | None
    base_image: str
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    expose: list[str] = field(default_factory=list)
    shell: tuple[str, ...] = _DEFAULT_SHELL
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False

    def derive(self, name: str | None) -> _Stage:
        """Start a new stage from this one's image settings."""
        return _Stage(
            name=name,
            base_image=self.base_image,
            cmd=self.cmd,
            entrypoint=self.entrypoint,
            env=dict(self.env),
            workdir=self.workdir,
            user=self.user,
            expose=list(self.expose),
            shell=self.shell,
        )

    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        return self.args.get(name)


class _Builder:
    def __init__(self, file: str, escape: str, build_args: dict[str, str]) -> None:
        self.file = file
        self.escape = escape
        self.build_args = build_args
        self.global_args: dict[str, str | None] = {}
        self.stages: list[_Stage] = []

    def apply(self, instruction: Instruction) -> None:
        keyword = instruction.keyword
        if keyword == "FROM":
            self._from(instruction)
            return
        if keyword == "ARG" and not self.stages:
            self._arg(instruction, self.global_args, self.global_args.get)
            return
        if not self.stages:
            raise self._error(
                instruction, f"{keyword} comes before the first FROM; start with FROM."
            )
        handler = _HANDLERS.get(keyword)
        if handler is not None:
            handler(self, instruction, self.stages[-1])

    def result(self, target: str | None) -> ImageDefaults:
        if not self.stages:
            raise ComposeValidationError(
                "The Dockerfile has no FROM instruction.",
                location=SourceLocation(self.file),
            )
        stage = self.stages[-1] if target is None else self._find_stage(target)
        if stage is None:
            names = ", ".join(s.name for s in self.stages if s.name) or "none"
            raise ComposeValidationError(
                f'The build target "{target}" is not a stage of the Dockerfile '
                f"(stages: {names}).",
                location=SourceLocation(self.file),
                key="target",
            )
        return ImageDefaults(
            dockerfile=self.file,
            cmd=stage.cmd,
            entrypoint=stage.entrypoint,
            env=dict(stage.env),
            workdir=stage.workdir,
            user=stage.user,
            expose=tuple(stage.expose),
            base_image=stage.base_image,
        )

    def _find_stage(self, name: str | None) -> _Stage | None:
        if name is None:
            return None
        wanted = name.lower()
        return next((s for s in self.stages if s.name == wanted), None)

    def _error(self, instruction: Instruction, message: str) -> ComposeValidationError:
        return ComposeValidationError(
            message,
            location=SourceLocation(self.file, instruction.line),
            key=instruction.keyword,
        )

    def _process(self, instruction: Instruction, text: str, lookup: Lookup) -> str:
        try:
            return process_word(text, lookup, self.escape)
        except ValueError as exc:
            raise self._error(
                instruction,
                f'The {instruction.keyword} value "{text}" is invalid: {exc}.',
            ) from exc

    # --- instructions -------------------------------------------------------

    def _from(self, instruction: Instruction) -> None:
        words = [w for w in instruction.rest.split() if not w.startswith("--")]
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise self._error(
                instruction, "FROM takes an image and an optional 'AS name'."
            )
        image = self._process(instruction, words[0], self.global_args.get)
        name = words[2].lower() if len(words) == 3 else None

        parent = self._find_stage(image.lower())
        if parent is not None:
            self.stages.append(parent.derive(name))
        else:
            self.stages.append(_Stage(name=name, base_image=image))

    def _arg(
        self,
        instruction: Instruction,
        scope: dict[str, str | None],
        lookup: Lookup,
    ) -> None:
        for word in split_words(instruction.rest, self.escape):
            name, has_default, default = word.partition("=")
            if not name:
                raise self._error(instruction, "ARG needs a name.")
            value: str | None = None
            if has_default:
                value = self._process(instruction, default, lookup)
            elif scope is not self.global_args:
                value = self.global_args.get(name)
            scope[name] = self.build_args.get(name, value)

    def _stage_arg(self, instruction: Instruction, stage: _Stage) -> None:
        self._arg(instruction, stage.args, stage.lookup)

    def _env(self, instruction: Instruction, stage: _Stage) -> None:
        pairs = self._env_pairs(instruction)
        values = {
            name: self._process(instruction, raw, stage.lookup) for name, raw in pairs
        }
        stage.env.update(values)

    def _env_pairs(self, instruction: Instruction) -> list[tuple[str, str]]:
        words = split_words(instruction.rest, self.escape)
        if not words:
            raise self._error(instruction, "ENV needs a name and a value.")
        if "=" not in words[0]:
            # The legacy form: ENV NAME the rest of the line.
            name, *value_part = re.split(r"\s+", instruction.rest, maxsplit=1)
            value = value_part[0] if value_part else ""
            if not value.strip():
                raise self._error(
                    instruction, f'ENV "{name}" needs a value: write ENV {name}=value.'
                )
            return [(name, value.strip())]
        pairs = []
        for word in words:
            name, has_value, value = word.partition("=")
            if not has_value or not name:
                raise self._error(
                    instruction, f'ENV "{word}" is not of the form NAME=value.'
                )
            pairs.append((name, value))
        return pairs

    def _cmd(self, instruction: Instruction, stage: _Stage) -> None:
        stage.cmd = self._command(instruction, stage)
        stage.cmd_set = True

    def _entrypoint(self, instruction: Instruction, stage: _Stage) -> None:
        stage.entrypoint = self._command(instruction, stage)
        if not stage.cmd_set:
            # Docker drops an inherited CMD when the entrypoint changes.
            stage.cmd = None

    def _command(self, instruction: Instruction, stage: _Stage) -> tuple[str, ...]:
        exec_form = parse_exec_form(instruction.rest)
        if exec_form is not None:
            return exec_form
        if not instruction.rest:
            raise self._error(instruction, f"{instruction.keyword} needs a command.")
        return (*stage.shell, instruction.rest)

    def _shell(self, instruction: Instruction, stage: _Stage) -> None:
        exec_form = parse_exec_form(instruction.rest)
        if not exec_form:
            raise self._error(
                instruction, 'SHELL takes a JSON list, e.g. SHELL ["/bin/bash", "-c"].'
            )
        stage.shell = exec_form

    def _workdir(self, instruction: Instruction, stage: _Stage) -> None:
        path = self._process(instruction, instruction.rest, stage.lookup)
        if not path:
            raise self._error(instruction, "WORKDIR needs a path.")
        stage.workdir = posixpath.normpath(posixpath.join(stage.workdir or "/", path))

    def _user(self, instruction: Instruction, stage: _Stage) -> None:
        user = self._process(instruction, instruction.rest, stage.lookup)
        if not user:
            raise self._error(instruction, "USER needs a user name or id.")
        stage.user = user

    def _expose(self, instruction: Instruction, stage: _Stage) -> None:
        for word in split_words(instruction.rest, self.escape):
            port = self._process(instruction, word, stage.lookup)
            match = _EXPOSE.fullmatch(port)
            if match is None:
                raise self._error(
                    instruction, f'EXPOSE "{port}" is not a port such as 80 or 53/udp.'
                )
            entry = _expose_entry(match)
            if entry not in stage.expose:
                stage.expose.append(entry)


_HANDLERS: dict[str, Callable[[_Builder, Instruction, _Stage], None]] = {
    "ARG": _Builder._stage_arg,
    "ENV": _Builder._env,
    "CMD": _Builder._cmd,
    "ENTRYPOINT": _Builder._entrypoint,
    "SHELL": _Builder._shell,
    "WORKDIR": _Builder._workdir,
    "USER": _Builder._user,
    "EXPOSE": _Builder._expose,
}


def _expose_entry(match: re.Match[str]) -> str:
    start, end, protocol = match.group(1), match.group(2), match.group(3)
    ports = f"{int(start)}-{int(end)}" if end else str(int(start))
    return f"{ports}/{(protocol or 'tcp').lower()}"


def parse_exec_form(text: str) -> tuple[str, ...] | None:
    """Return the JSON list of strings in ``text``, or None for shell form."""
    if not text.startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not all(isinstance(i, str) for i in parsed):
        return None
    return tuple(parsed)


# --- words and substitution ------------------------------------------------------


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes in each word."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if char == escape and index + 1 < len(text) and quote != "'":
            current.append(text[index : index + 2])
            index += 2
            continue
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
            index += 1
            continue
        current.append(char)
        index += 1
    if current:
        words.append("".join(current))
    return words


def process_word(text: str, lookup: Lookup, escape: str = "\\") -> str:
    """Remove quotes and escapes from ``text`` and substitute ``$VAR`` as Docker does.

    Raises ``ValueError`` for an unclosed quote or ``${`` and for a
    ``${VAR?message}`` whose variable is unset.
    """
    return _WordProcessor(text, lookup, escape).run()


class _WordProcessor:
    def __init__(self, text: str, lookup: Lookup, escape: str) -> None:
        self.text = text
        self.lookup = lookup
        self.escape = escape
        self.index = 0

    def run(self, stop: str = "") -> str:
        out: list[str] = []
        while self.index < len(self.text):
            char = self.text[self.index]
            if stop and char == stop:
                return "".join(out)
            self.index += 1
            if char == self.escape:
                out.append(self._escaped())
            elif char == "'":
                out.append(self._single_quoted())
            elif char == '"':
                out.append(self._double_quoted())
            elif char == "$":
                out.append(self._variable())
            else:
                out.append(char)
        if stop:
            raise ValueError(f'missing "{stop}"')
        return "".join(out)

    def _escaped(self) -> str:
        if self.index >= len(self.text):
            return ""
        char = self.text[self.index]
        self.index += 1
        return char

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.index)
        if end < 0:
            raise ValueError("a single quote is not closed")
        value = self.text[self.index : end]
        self.index = end + 1
        return value

    def _double_quoted(self) -> str:
        out: list[str] = []
        while self.index < len(self.text):
            char = self.text[self.index]
            self.index += 1
            if char == '"':
                return "".join(out)
            if char == self.escape and self.index < len(self.text):
                following = self.text[self.index]
                if following in ('"', "$", self.escape):
                    out.append(following)
                    self.index += 1
                    continue
            if char == "$":
                out.append(self._variable())
                continue
            out.append(char)
        raise ValueError("a double quote is not closed")

    def _variable(self) -> str:
        text = self.text
        if text.startswith("{", self.index):
            self.index += 1
            return self._braced()
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]").match(text, self.index)
        if match is None:
            return "$"
        self.index = match.end()
        return self.lookup(match.group()) or ""

    def _braced(self) -> str:
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.index)
        if match is None:
            raise ValueError("${ is not followed by a variable name")
        name = match.group()
        self.index = match.end()
        value = self.lookup(name)
        if self.text.startswith("}", self.index):
            self.index += 1
            return value or ""

        operator_match = _MODIFIER.match(self.text, self.index)
        if self.index >= len(self.text):
            raise ValueError(f'missing "}}" after ${{{name}')
        if operator_match is None:
            raise ValueError(f"bad substitution after ${{{name}")
        operator = operator_match.group()
        self.index = operator_match.end()
        word = self.run(stop="}")
        self.index += 1
        if operator[0] in "#%/":
            return _apply_pattern(value or "", operator, word)
        return _apply_modifier(name, value, operator, word)


_MODIFIER = re.compile(r":?[-+?]|##?|%%?|//?")


def _apply_pattern(value: str, operator: str, word: str) -> str:
    """Apply the shell's ``#``/``%`` trimming and ``/`` replacement (glob patterns)."""
    if operator in ("#", "##"):
        cuts = range(len(value) + 1)
        order = reversed(cuts) if operator == "##" else cuts
        for cut in order:
            if fnmatch.fnmatchcase(value[:cut], word):
                return value[cut:]
        return value
    if operator in ("%", "%%"):
        cuts = range(len(value), -1, -1)
        order = reversed(cuts) if operator == "%%" else cuts
        for cut in order:
            if fnmatch.fnmatchcase(value[cut:], word):
                return value[:cut]
        return value
    pattern, _, replacement = word.partition("/")
    if not pattern:
        return value
    body = fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")
    regex = re.compile(body, re.S)
    count = 0 if operator == "//" else 1
    return regex.sub(lambda _: replacement, value, count=count)


def _apply_modifier(name: str, value: str | None, operator: str, word: str) -> str:
    present = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("-"):
        return value if present and value is not None else word
    if operator.endswith("+"):
        return word if present else ""
    if not present:
        raise ValueError(f"{name}: {word or 'is not set'}")
    return value or ""
