"""The README's own-proxy path, run as a reader would run it, in a fresh virtualenv.

The ``pip install`` lines of the README's "Use it in your own proxy" section run as the README shows them
(through bash, ``$PWD`` a copy of the checkout) in a new virtualenv with its own pip: pip builds the wheel
and resolves the package's dependencies and the README's extras from its metadata, so a dependency missing
from pyproject.toml, an extra that does not exist or a broken install line fails the test. One
adaptation: an ``--index-url`` this machine cannot reach (CI reaches package registries only, not
download.pytorch.org) is left out, and pip takes the torch build from the indexes it is configured with;
the install must still hold no CUDA packages. Then every ``litellm-semcache`` command the README shows
(code blocks and inline code) must name a real subcommand and real flags of the installed script, and the
section's minimal config, started with its ``litellm --config`` command (the stock CLI the install put in
the venv), must answer a miss and then a paraphrase from the cache through curl.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
# pip resolving and installing ~2.5 GB (torch, LiteLLM's proxy, ...) takes minutes, in the first test's setup.
pytestmark = pytest.mark.timeout(1200)


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
    """One command the README shows: where, its words (shell-split, comments and prompt removed) and its
    shell text as shown (continuations joined)."""

    line: int
    words: tuple[str, ...]
    source: str

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
        source = " ".join(pending)
        pending = []
        words = _split(source)
        if words:
            yield Command(start, words, source)


def _block_commands(program: str, text: str, first_line: int) -> list[Command]:
    """Every command running ``program`` in the shell blocks of ``text``, in order."""
    return [
        command
        for block in _blocks(text, first_line)
        if block.lang in {"", "bash", "sh", "shell", "console"}
        for command in _shell_commands(block)
        if command.words[0] == program
    ]


def _commands(program: str, text: str | None = None, first_line: int = 1) -> list[Command]:
    """Every command running ``program`` in the shell blocks of ``text`` (the README), and in its inline
    code spans."""
    text = README if text is None else text
    found = _block_commands(program, text, first_line)
    in_fence = False
    for number, line in enumerate(text.splitlines(), first_line):
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence:
            for span in re.findall(rf"`({re.escape(program)} [^`]+)`", line):
                found.append(Command(number, _split(span), span))
    return found


@dataclass(frozen=True)
class OwnProxyPath:
    """What the own-proxy section shows: its ``pip install`` commands (in order), the requirements of
    this package they name, its minimal proxy config and its ``litellm --config`` command."""

    installs: tuple[Command, ...]
    requirements: tuple[str, ...]
    config: dict[str, Any]
    start: Command


def _own_proxy_path() -> OwnProxyPath:
    text, first_line = _section(OWN_PROXY_SECTION)
    blocks = _blocks(text, first_line)
    installs = tuple(c for c in _block_commands("pip", text, first_line) if c.words[1:2] == ("install",))
    ours = [
        word for c in installs for word in c.words[2:] if re.match(rf"{re.escape(PROGRAM)}\s*(\[|@|$)", word)
    ]
    assert ours, f"no `pip install {PROGRAM}...` in a code block of '## {OWN_PROXY_SECTION}'"
    configs = [
        yaml.safe_load(b.text)
        for b in blocks
        if b.lang in {"yaml", "yml"} and "litellm_settings" in (yaml.safe_load(b.text) or {})
    ]
    assert len(configs) == 1, f"expected one proxy config block in '## {OWN_PROXY_SECTION}'"
    starts = [c for c in _commands("litellm", text, first_line) if "--config" in c.words]
    assert len(starts) == 1, f"expected one `litellm --config ...` command in '## {OWN_PROXY_SECTION}'"
    return OwnProxyPath(installs, tuple(ours), configs[0], starts[0])


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
# The session's own settings stay out of the reader's shell: its Redis and config, the checkout on sys.path,
# and its hub switch (the README's offline-model extra is what must keep the model off the hub).
_NOT_INHERITED = {
    "REDIS_URL",
    "CONFIG_FILE_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "HF_HUB_OFFLINE",
}


@dataclass(frozen=True)
class FreshInstall:
    venv: Path
    checkout: Path
    work: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a reader's shell with the fresh venv first on PATH."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("SEMCACHE_") and k not in _NOT_INHERITED
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.update(extra)
        return env

    def run(
        self, *command: str, timeout: float = 120, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=cwd or self.work,
            env=self.env() if env is None else env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str) -> str:
        done = self.run(str(self.bin / "python"), "-c", code)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _run(*command: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{shlex.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname, port), timeout=10).close()
    except OSError:
        return False
    return True


def _as_run_here(command: Command) -> str:
    """The command's shell text, without an ``--index-url`` this machine cannot reach (then pip's configured
    indexes are asked instead: a CI machine that reaches package registries only has no other way)."""
    words = list(command.words)
    urls = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--index-url"]
    urls += [word.split("=", 1)[1] for word in words if word.startswith("--index-url=")]
    source = command.source
    for url in urls:
        if not _reachable(url):
            source, found = re.subn(rf"\s--index-url(=|\s+){re.escape(url)}(?=\s|$)", "", source)
            assert found == 1, f"{command.where}: cannot leave out --index-url {url}"
    return source


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshInstall]:
    """The own-proxy section's ``pip install`` lines, run in order by bash in a copy of the checkout, into
    a new virtualenv with its own pip; the venv (~2.5 GB) is removed afterwards."""
    root = tmp_path_factory.mktemp("readme-path")
    checkout, venv, work = root / "checkout", root / "venv", root / "work"
    work.mkdir()
    # What the build reads, copied: pip builds a local directory in place (build/, *.egg-info).
    shutil.copytree(
        REPO_ROOT / "litellm_semcache",
        checkout / "litellm_semcache",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, checkout / name)
    _run(sys.executable, "-m", "venv", venv, cwd=root)

    install = FreshInstall(venv, checkout, work)
    env = install.env()
    # pip's own cache (warm after scripts/bootstrap.sh), not the session's throwaway XDG_CACHE_HOME.
    env.pop("XDG_CACHE_HOME", None)
    try:
        for command in _own_proxy_path().installs:
            line = _as_run_here(command)
            done = install.run("bash", "-c", line, cwd=checkout, env=env, timeout=900)
            assert done.returncode == 0, f"{command.where}: `{line}` failed:\n{done.stdout}\n{done.stderr}"
        yield install
    finally:
        shutil.rmtree(venv, ignore_errors=True)


# --- the tests -----------------------------------------------------------------------------------------
# Run by the fresh venv's python: what the README's install put there, and every module of the package
# imported (a dependency pyproject.toml does not declare fails here, not in a reader's proxy).
_INSPECT_INSTALL = """
import importlib, importlib.metadata as metadata, json, pkgutil
import litellm_semcache
ours = metadata.distribution("litellm-semcache")
failed = {}
for module in pkgutil.walk_packages(litellm_semcache.__path__, "litellm_semcache."):
    if not module.name.endswith(".__main__"):
        try:
            importlib.import_module(module.name)
        except Exception as error:
            failed[module.name] = repr(error)
print(json.dumps({
    "module": litellm_semcache.__file__,
    "name": ours.metadata["Name"],
    "extras": ours.metadata.get_all("Provides-Extra") or [],
    "direct_url": json.loads(ours.read_text("direct_url.json") or "{}"),
    "distributions": sorted(d.metadata["Name"] for d in metadata.distributions()),
    "failed_imports": failed,
}))
"""


def test_the_readme_install_resolves_the_package_and_its_extras_in_a_fresh_venv(
    fresh_install: FreshInstall,
) -> None:
    installed = json.loads(fresh_install.python(_INSPECT_INSTALL).splitlines()[-1])
    module = Path(installed["module"]).resolve()
    assert module.is_relative_to(fresh_install.venv.resolve()), f"imported from {module}, not the install"
    # Installed from the checkout ($PWD) as a built wheel, not as an editable install.
    direct_url = installed["direct_url"]
    assert direct_url.get("url") == fresh_install.checkout.as_uri(), direct_url
    assert not direct_url.get("dir_info", {}).get("editable"), direct_url
    assert (fresh_install.bin / PROGRAM).exists(), "the install put no litellm-semcache script in the venv"
    assert not installed["failed_imports"], f"modules that do not import: {installed['failed_imports']}"

    # pip only warns about an extra the package does not have.
    provided = {_canonical(extra) for extra in installed["extras"]}
    for requirement in _own_proxy_path().requirements:
        assert _canonical(re.split(r"[\[@\s]", requirement, maxsplit=1)[0]) == _canonical(installed["name"])
        missing = _extras(requirement) - provided
        assert not missing, f"README installs {requirement!r}; the package has no extra {sorted(missing)}"
    # The README's CPU torch stayed: resolving the package's dependencies replaced it with no CUDA build.
    cuda = [name for name in installed["distributions"] if _canonical(name).startswith("nvidia-")]
    assert not cuda, f"the README's install pulled CUDA packages: {cuda}"


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
    path = _own_proxy_path()
    config, start = path.config, path.start
    # The README's block as it is, with a model list (the fake provider stands in for a real one).
    config["model_list"] = model_list(upstream)
    config_arg = start.words[start.words.index("--config") + 1]
    (fresh_install.work / config_arg).write_text(yaml.safe_dump(config, sort_keys=False))

    port = free_port()
    log = fresh_install.work / "proxy.log"
    env = fresh_install.env(
        LITELLM_MASTER_KEY=MASTER_KEY,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
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
