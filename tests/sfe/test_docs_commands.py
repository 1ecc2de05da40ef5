"""The docs work after the README's quick start: every shell command they show exists (sfe
subcommands and options per argparse, files and programs named), cheap ones run for real, nothing
points outside the repo, and every mart and column docs/kpis.md names is a dbt model's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from orchestration.cli import build_parser, main
from sfe.report import UsageError

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".tools", "data", "target", "dbt_packages", "node_modules", ".git"}
# measurement records say how they were made at the time; they are not instructions
SKIP_FILES = {Path("bench/results")}
SHELL = {"bash", "sh", "shell", "console"}
BUILTINS = {"export", "cd", "source", ".", "echo", "printf", "cat", "mkdir", "cp", "mv", "ls"}
CHEAP = {"status", "--help"}  # run for real, on an empty data folder
# marts another branch is adding right now: checked as soon as their model exists
def _docs() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*.md")):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts) or any(rel.is_relative_to(s) for s in SKIP_FILES):
            continue
        found.append(path)
    return found


DOCS = _docs()
TOP_LEVEL = {p.name for p in ROOT.iterdir() if p.name not in SKIP_DIRS}


def _blocks(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, lines) of every shell-fenced block."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"\s*```(\w*)", line)
        if fence and current is None:
            current, start = ([] if fence.group(1) in SHELL else None), number
            if current is None:
                current = "other"
        elif fence:
            if current != "other":
                blocks.append((start, current))
            current = None
        elif isinstance(current, list):
            current.append(line)
    return blocks


def _commands(lines: list[str]) -> list[list[str]]:
    """Each command of a block as tokens: continuations joined, comments dropped, split at
    && ; | ."""
    text = "\n".join(lines).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        tokens, current = shlex.split(line, comments=True), []
        for token in tokens:
            if token in ("&&", ";", "|", "||"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


def _program(tokens: list[str]) -> tuple[str, list[str]]:
    while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):  # VAR=value prefix
        tokens = tokens[1:]
    return (tokens[0], tokens[1:]) if tokens else ("", [])


def _repo_path(token: str) -> bool:
    """A token naming a file of the repository (its first part is a top-level entry)."""
    token = token.split("=", 1)[-1].split("#")[0]
    return "/" in token and not token.startswith(("-", "http", "/")) and \
        token.split("/")[0] in TOP_LEVEL


def _check_sfe(args: list[str], where: str) -> None:
    if args and args[0] == "test":  # bin/sfe test [pytest args]
        return
    if args == ["--help"]:
        return
    try:
        build_parser().parse_args(args)
    except (UsageError, SystemExit) as exc:
        pytest.fail(f"{where}: 'sfe {' '.join(args)}' does not parse: {exc}")


def _shell_commands() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in DOCS:
        for start, lines in _blocks(path):
            for tokens in _commands(lines):
                program, args = _program(tokens)
                found.append((f"{path.relative_to(ROOT)}:{start}", program, args))
    return found


COMMANDS = _shell_commands()


def test_docs_have_shell_commands_to_check():
    programs = {program for _, program, _ in COMMANDS}
    assert {"bin/sfe", "source"} <= programs and len(COMMANDS) > 10


@pytest.mark.parametrize(("where", "program", "args"), COMMANDS,
                         ids=[f"{w} {p} {' '.join(a)}"[:80] for w, p, a in COMMANDS])
def test_each_documented_command_works_after_the_quick_start(where, program, args, tmp_path,
                                                             monkeypatch):
    if program in ("bin/sfe", "sfe"):
        _check_sfe(args, where)
    elif program.startswith(".venv/bin/"):
        assert (ROOT / program).exists(), f"{where}: {program} is not in the environment"
    elif program == "airflow":
        pass  # used after 'source …/sfe-airflow.env', which puts the environment on PATH
    else:
        assert program in BUILTINS, (
            f"{where}: '{program}' is not available after the quick start (uv lives in "
            ".tools/bin, the environment in .venv/bin): use bin/sfe or .venv/bin/{program}")
    for token in args:
        if _repo_path(token):
            assert (ROOT / token.split("=", 1)[-1].split("#")[0]).exists(), \
                f"{where}: {token} does not exist"
    if program in ("bin/sfe", "sfe") and args and args[0] in CHEAP:
        monkeypatch.chdir(tmp_path)
        for name in ("SFE_CONFIG", "SFE_DATA_DIR", "SFE_INBOX"):
            monkeypatch.delenv(name, raising=False)
        try:
            code = main(args)
        except SystemExit as exc:  # --help prints and exits through argparse
            code = exc.code
        assert code == 0, f"{where}: 'sfe {' '.join(args)}' failed"


def test_airflow_is_used_only_after_sourcing_the_env_file():
    for path in DOCS:
        for start, lines in _blocks(path):
            sourced = False
            for tokens in _commands(lines):
                program, args = _program(tokens)
                sourced |= program == "source" and args[0].endswith("sfe-airflow.env")
                assert program != "airflow" or sourced, \
                    f"{path.relative_to(ROOT)}:{start}: airflow before sourcing sfe-airflow.env"


INLINE = re.compile(r"`(?:bin/)?sfe ([^`]+)`")


def _inline_mentions() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [(f"{path.relative_to(ROOT)}:{number}", m) for m in INLINE.findall(line)]
    return found


def _options_along(parser, words: list[str]) -> set[str]:
    """Options of a subcommand and of the nested subcommands its words name (`users add`)."""
    options = {o for a in parser._actions for o in a.option_strings}
    nested = next((a for a in parser._actions if isinstance(a.choices, dict)), None)
    if nested is not None:
        for word in words:
            if word in nested.choices:
                options |= _options_along(nested.choices[word], words)
    return options


def test_every_sfe_subcommand_and_option_named_in_the_docs_exists():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    global_options = {o for a in parser._actions for o in a.option_strings}
    mentions = _inline_mentions()
    assert len(mentions) > 20
    for where, text in mentions:
        words = text.replace("[", " ").replace("]", " ").replace("|", " ").split()
        name = words[0]
        if name.startswith("-") or name in ("…", "..."):
            continue
        assert name in subparsers or name == "test", f"{where}: no subcommand 'sfe {name}'"
        if name == "test":
            continue
        options = global_options | _options_along(subparsers[name], words[1:])
        for word in words[1:]:
            flag = word.split("=")[0].rstrip(",.;:)")
            if flag.startswith("--"):
                assert flag in options, f"{where}: 'sfe {name}' has no option {flag}"


def test_docs_do_not_point_outside_the_repo_or_at_uv():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        assert "shared/spec" not in text and "../shared" not in text, f"{rel} links outside"
        assert "uv run" not in text, f"{rel}: 'uv run' fails after the quick start"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (path.parent / target).exists(), f"{rel}: link {target} is broken"


def _dbt_marts() -> dict[str, set[str]]:
    marts = {}
    for yml in (ROOT / "dbt_project/models/marts").rglob("*.yml"):
        for model in (yaml.safe_load(yml.read_text(encoding="utf-8")) or {}).get("models", []):
            marts[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return marts


def _top_level_split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def test_every_mart_and_column_named_in_docs_kpis_is_a_dbt_model_column():
    marts = _dbt_marts()
    text = (ROOT / "docs/kpis.md").read_text(encoding="utf-8")
    named = re.findall(r"`((?:dim|fct|kpi|map|bridge|scorecard)_\w+)\(([^`]*)\)`", text)
    assert len(named) >= 15
    for mart, columns in named:
        assert mart in marts, f"docs/kpis.md names {mart}, which no dbt model defines"
        for column in _top_level_split(columns):
            name = column.strip().split(" ")[0]
            assert name in marts[mart], f"docs/kpis.md: {mart} has no column {name}"
