"""Work out what a Dockerfile gives every container of its image.

Only the settings a Compose service can override are kept: ``CMD``,
``ENTRYPOINT``, ``ENV``, ``WORKDIR``, ``USER`` and ``EXPOSE``, plus the
external image the chosen stage starts from. Nothing is built or run. The
text is split into instructions by ``dockerlex`` and values are substituted
by ``dockerwords``; this module evaluates the instructions stage by stage,
following Docker's builder (BuildKit):

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

import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from service.compose.dockerlex import Instruction, split_instructions
from service.compose.dockerwords import process_word, split_words
from service.errors import ComposeValidationError, SourceLocation
from service.model import ImageDefaults
from service.types import Lookup

_DEFAULT_SHELL = ("/bin/sh", "-c")
_EXPOSE = re.compile(r"([0-9]+)(?:-([0-9]+))?(?:/([A-Za-z]+))?")


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
