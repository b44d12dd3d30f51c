"""The README, docs/ and the CLI help stay true: every command, flag and setting is documented."""

import argparse
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def docs_text() -> str:
    parts = [(ROOT / "README.md").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(parts)


def walk(parser: argparse.ArgumentParser, prefix: str):
    """(command path, option strings, positional names) for every parser and sub-parser."""
    options, positionals, children = [], [], []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            children += [(f"{prefix} {name}", sub) for name, sub in action.choices.items()]
        elif action.option_strings:
            options += [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        else:
            positionals.append(action.dest)
    yield prefix, options, positionals
    for path, sub in children:
        yield from walk(sub, path)


def parsers():
    from fieldapp.cli.main import build_parser

    yield "fieldapp", build_parser()
    try:
        from registry.cli import build_parser as registry_parser
    except ImportError:
        return
    yield "fieldapp-registry", registry_parser()


def cli_doc_sections() -> dict[str, str]:
    """docs/cli.md and docs/registry.md split at headings that start with a command in backticks."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^#+ `([a-z-]+(?: [a-z-]+)*)", line)
        if m:
            current = m.group(1)
            sections.setdefault(current, "")
        elif current:
            sections[current] += line + "\n"
    return sections


def all_commands():
    for prog, parser in parsers():
        for path, options, positionals in walk(parser, prog):
            yield path, options


@pytest.mark.parametrize("path,options", list(all_commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_and_flag_is_documented(path, options):
    sections = cli_doc_sections()
    assert path in sections, f"docs have no section headed `{path}`"
    undocumented = [o for o in options if o not in sections[path] and o not in sections.get(path.split()[0], "")]
    assert undocumented == [], f"{path}: flags missing from its docs section"


def test_every_setting_is_documented():
    text = docs_text()
    code = "\n".join(p.read_text(encoding="utf-8") for pkg in ("fieldapp", "sync", "registry", "ui", "scripts")
                     for p in (ROOT / pkg).rglob("*") if p.is_file() and p.suffix in (".py", "") and (ROOT / pkg).exists())
    settings = sorted(set(re.findall(r"FIELDAPP_[A-Z_]+", code)))
    assert settings, "no settings found: the scan is broken"
    assert [s for s in settings if s not in text] == []


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12]
    joined = "\n".join(head)
    assert "scripts/run" in joined and "scripts/test" in joined
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
