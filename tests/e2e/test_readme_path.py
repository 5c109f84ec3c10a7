"""The README's own-proxy path, run as a reader would run it, from a wheel of this checkout.

A wheel is built from the checkout and installed (without its dependencies: the test venv's torch, LiteLLM,
... are made visible through a ``.pth`` file) into a fresh virtualenv. Every command is read from the
README itself: the install command's extras must exist in the wheel, every ``litellm-semcache`` command
shown anywhere (code blocks and inline code) must name a real subcommand and real flags, and the minimal
proxy config started with the README's ``litellm --config`` command must answer a paraphrase from the cache.
A README edit that shows a flag, subcommand or extra that does not exist fails here.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from harness.paths import REPO_ROOT
from harness.services import FakeUpstream, free_port, model_list

README_PATH = REPO_ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
PROGRAM = "litellm-semcache"
OWN_PROXY_SECTION = "Use it in your own proxy"
MASTER_KEY = "sk-semcache-readme-path"
# Shell operators that end the command a README line runs (what follows is another program).
_SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&"}


# --- reading the README --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string, first content line (1-based) and lines."""

    lang: str
    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass(frozen=True)
class Command:
    """One command the README shows: where, and its words (shell-split, comments and prompt removed)."""

    line: int
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"README.md:{self.line}: {shlex.join(self.words)}"


def _blocks(text: str, first_line: int = 1) -> list[Block]:
    blocks: list[Block] = []
    fence: str | None = None
    lang, start, body = "", 0, list[str]()
    for number, line in enumerate(text.splitlines(), first_line):
        stripped = line.strip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence, lang, start, body = stripped[:3], stripped[3:].strip(), number + 1, []
        elif fence is not None and stripped.startswith(fence):
            blocks.append(Block(lang, start, tuple(body)))
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def _section(title: str) -> tuple[str, int]:
    """The text of ``## title`` up to the next ``## `` heading, and the README line it starts on."""
    match = re.search(rf"^## {re.escape(title)}\s*$", README, flags=re.MULTILINE)
    assert match is not None, f"README.md has no '## {title}' section"
    rest = README[match.start() :]
    end = re.search(r"^## ", rest[3:], flags=re.MULTILINE)
    return rest[: end.start() + 3 if end else len(rest)], README.count("\n", 0, match.start()) + 1


def _split(line: str) -> tuple[str, ...]:
    words = shlex.split(line, comments=True)
    for index, word in enumerate(words):
        if word in _SHELL_OPERATORS:
            return tuple(words[:index])
    return tuple(words)


def _shell_commands(block: Block) -> Iterator[Command]:
    """The commands of a shell block: every line of ``bash``/``sh``, only ``$ `` lines of ``console``
    (the rest is output), with ``\\`` continuations joined."""
    prompted = block.lang == "console"
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(block.lines, block.line):
        line = raw.rstrip()
        if not pending:
            if prompted:
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        words = _split(" ".join(pending))
        pending = []
        if words:
            yield Command(start, words)


def _commands(program: str, text: str | None = None, first_line: int = 1) -> list[Command]:
    """Every command running ``program`` in the shell blocks of ``text`` (the README), and in its inline
    code spans."""
    text = README if text is None else text
    found = [
        command
        for block in _blocks(text, first_line)
        if block.lang in {"", "bash", "sh", "shell", "console"}
        for command in _shell_commands(block)
        if command.words[0] == program
    ]
    in_fence = False
    for number, line in enumerate(text.splitlines(), first_line):
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence:
            for span in re.findall(rf"`({re.escape(program)} [^`]+)`", line):
                found.append(Command(number, _split(span)))
    return found


def _own_proxy_path() -> tuple[tuple[str, ...], dict[str, Any], Command]:
    """The own-proxy section's package install command, minimal config and ``litellm --config`` command."""
    text, first_line = _section(OWN_PROXY_SECTION)
    blocks = _blocks(text, first_line)
    installs = [c for c in _commands("pip", text, first_line) if c.words[1:2] == ("install",)]
    ours = [
        word for c in installs for word in c.words[2:] if re.match(rf"{re.escape(PROGRAM)}\s*(\[|@|$)", word)
    ]
    assert ours, f"no `pip install {PROGRAM}...` in '## {OWN_PROXY_SECTION}'"
    configs = [
        yaml.safe_load(b.text)
        for b in blocks
        if b.lang in {"yaml", "yml"} and "litellm_settings" in (yaml.safe_load(b.text) or {})
    ]
    assert len(configs) == 1, f"expected one proxy config block in '## {OWN_PROXY_SECTION}'"
    starts = [c for c in _commands("litellm", text, first_line) if "--config" in c.words]
    assert len(starts) == 1, f"expected one `litellm --config ...` command in '## {OWN_PROXY_SECTION}'"
    return tuple(ours), configs[0], starts[0]


def _extras(requirement: str) -> set[str]:
    match = re.match(rf"{re.escape(PROGRAM)}\s*(?:\[([^\]]*)\])?", requirement)
    assert match is not None, requirement
    return {_canonical(extra) for extra in (match.group(1) or "").split(",") if extra.strip()}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


# --- reading --help ------------------------------------------------------------------------------------
def _usage_options(help_text: str) -> dict[str, bool]:
    """The options of an argparse help text's usage and whether each takes a value."""
    usage = help_text.split("\n\n", 1)[0]
    return {
        option: bool(value)
        for option, value in re.findall(r"(?<![\w-])(-{1,2}[A-Za-z][\w-]*)( [^\s\[\]()|]+)?", usage)
    }


def _subcommands(help_text: str) -> set[str]:
    usage = help_text.split("\n\n", 1)[0]
    choices = re.search(r"\{([\w,-]+)\}", usage)
    assert choices is not None, f"no subcommands in:\n{help_text}"
    return set(choices.group(1).split(","))


def _flag(word: str) -> str:
    return word.split("=", 1)[0]


# --- the fresh install ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FreshInstall:
    venv: Path
    wheel: Path
    work: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a shell with the fresh venv first on PATH, nothing of the checkout on it."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SEMCACHE_")
            and k not in {"REDIS_URL", "CONFIG_FILE_PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.update(extra)
        return env

    def run(self, *command: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=self.work, env=self.env(**env), capture_output=True, text=True, timeout=timeout
        )


def _run(*command: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{shlex.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"


def _write_console_script(install: FreshInstall, name: str, distribution: str) -> Path:
    """The console script ``pip install <distribution>`` would write into the fresh venv."""
    (entry_point,) = (
        ep
        for ep in importlib.metadata.distribution(distribution).entry_points
        if ep.group == "console_scripts" and ep.name == name
    )
    module, _, attribute = entry_point.value.partition(":")
    head = attribute.split(".", 1)[0]
    script = install.bin / name
    script.write_text(
        f"#!{install.bin / 'python'}\n"
        "# -*- coding: utf-8 -*-\n"
        "import re\n"
        "import sys\n"
        f"from {module} import {head}\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({attribute}())\n"
    )
    script.chmod(0o755)
    return script


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    """A wheel of the checkout installed with ``--no-deps`` into a new virtualenv that sees this venv's
    site-packages (its dependencies) through a ``.pth`` file, but not the checkout."""
    root = tmp_path_factory.mktemp("readme-path")
    source, dist, venv, work = root / "source", root / "dist", root / "venv", root / "work"
    work.mkdir()
    # Build from a copy, so that the build's build/ and egg-info never land in the checkout.
    shutil.copytree(
        REPO_ROOT / "litellm_semcache",
        source / "litellm_semcache",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source, cwd=root)
    (wheel,) = dist.glob("litellm_semcache-*.whl")

    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    (site_packages,) = venv.glob("lib/python*/site-packages")
    dependencies = sysconfig.get_paths()["purelib"]  # this venv's site-packages
    (site_packages / "_readme_path_dependencies.pth").write_text(f"{dependencies}\n")
    # pip itself comes through the .pth; --ignore-installed: never touch this venv's editable install.
    python = venv / "bin" / "python"
    _run(
        python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel, cwd=root
    )

    install = FreshInstall(venv, wheel, work)
    _write_console_script(install, "litellm", "litellm")  # what `pip install litellm[proxy]` writes
    return install


# --- the tests -----------------------------------------------------------------------------------------
def test_the_wheel_installs_into_a_fresh_venv_with_the_readme_extras(fresh_install: FreshInstall) -> None:
    located = fresh_install.run(
        str(fresh_install.bin / "python"), "-c", "import litellm_semcache; print(litellm_semcache.__file__)"
    )
    assert located.returncode == 0, located.stderr
    module = Path(located.stdout.strip()).resolve()
    assert module.is_relative_to(fresh_install.venv.resolve()), f"imported from {module}, not the wheel"
    assert (fresh_install.bin / PROGRAM).exists(), "the wheel installs no litellm-semcache script"

    with zipfile.ZipFile(fresh_install.wheel) as wheel:
        (name,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(wheel.read(name).decode())
    provided = {_canonical(extra) for extra in metadata.get_all("Provides-Extra") or []}
    requirements, _, _ = _own_proxy_path()
    for requirement in requirements:
        assert _canonical(re.split(r"[\[@\s]", requirement, maxsplit=1)[0]) == _canonical(metadata["Name"])
        missing = _extras(requirement) - provided
        assert not missing, f"README installs {requirement!r}; the wheel has no extra {sorted(missing)}"


def test_every_litellm_semcache_command_in_the_readme_exists(fresh_install: FreshInstall) -> None:
    commands = _commands(PROGRAM)
    assert len(commands) >= 5, "the README's litellm-semcache commands were not found"
    script = str(fresh_install.bin / PROGRAM)
    top = fresh_install.run(script, "--help")
    assert top.returncode == 0, top.stderr
    global_options, subcommands = _usage_options(top.stdout), _subcommands(top.stdout)
    helps: dict[str, str] = {}
    problems: list[str] = []
    for command in commands:
        words = list(command.words[1:])
        while words and words[0].startswith("-"):  # options of the program itself, before the subcommand
            flag = _flag(words.pop(0))
            if flag not in global_options:
                problems.append(f"{command.where}: `{PROGRAM} --help` shows no {flag}")
            elif global_options[flag] and words and "=" not in flag:
                words.pop(0)
        if not words:
            continue
        subcommand = words.pop(0)
        if subcommand not in subcommands:
            problems.append(
                f"{command.where}: no subcommand {subcommand!r} (there are {sorted(subcommands)})"
            )
            continue
        if subcommand not in helps:
            shown = fresh_install.run(script, subcommand, "--help")
            assert shown.returncode == 0, f"{PROGRAM} {subcommand} --help: {shown.stderr}"
            helps[subcommand] = shown.stdout
        options = _usage_options(helps[subcommand])
        problems += [
            f"{command.where}: `{PROGRAM} {subcommand} --help` shows no {_flag(word)}"
            for word in words
            if word.startswith("-") and _flag(word) not in options
        ]
    assert not problems, "README commands that do not work:\n" + "\n".join(problems)


def _curl(url: str, question: str) -> tuple[int, dict[str, str], str]:
    payload = json.dumps({"model": "gpt-a", "messages": [{"role": "user", "content": question}]})
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-i",
            "--max-time",
            "60",
            f"{url}/v1/chat/completions",
            "-H",
            f"Authorization: Bearer {MASTER_KEY}",
            "-H",
            "Content-Type: application/json",
            "-d",
            payload,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    head, _, text = done.stdout.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split()[1]), headers, text


def test_the_readme_proxy_config_answers_a_paraphrase_from_the_cache(
    fresh_install: FreshInstall, upstream: FakeUpstream, redis_url: str, index_name: str
) -> None:
    _, config, start = _own_proxy_path()
    # The README's block as it is, with a model list (the fake provider stands in for a real one).
    config["model_list"] = model_list(upstream)
    config_arg = start.words[start.words.index("--config") + 1]
    (fresh_install.work / config_arg).write_text(yaml.safe_dump(config, sort_keys=False))

    port = free_port()
    log = fresh_install.work / "proxy.log"
    env = fresh_install.env(
        LITELLM_MASTER_KEY=MASTER_KEY,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        REDIS_URL=redis_url,
        SEMCACHE_INDEX_NAME=index_name,  # this test's own index in the session's Redis
        XDG_STATE_HOME=str(fresh_install.work / "state"),
    )
    command = [str(fresh_install.bin / start.words[0]), *start.words[1:], "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    entries = redis.Redis.from_url(redis_url)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=fresh_install.work, env=env, stdout=out, stderr=subprocess.STDOUT
        )

    def failure(what: str) -> str:
        return f"{what} ({start.where})\n{log.read_text(errors='replace')[-4000:]}"

    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, failure(f"the proxy exited with {process.returncode}")
            assert time.monotonic() < deadline, failure("the proxy did not start")
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

        status, headers, text = _curl(url, "What is the capital of France?")
        assert status == 200, failure(text)
        assert headers.get("x-semcache-status") == "miss", failure(str(headers))
        deadline = time.monotonic() + 15  # the store lands in the background
        while not list(entries.scan_iter(match=f"{index_name}:entry:*")):
            assert time.monotonic() < deadline, failure("the answer was never stored")
            time.sleep(0.05)

        status, headers, text = _curl(url, "Can you tell me the capital of France?")
        assert status == 200, failure(text)
        assert headers.get("x-semcache-status") == "hit", failure(str(headers))
        assert upstream.calls == 1
    finally:
        entries.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
