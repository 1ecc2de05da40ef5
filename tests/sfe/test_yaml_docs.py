"""sfe.yaml_docs: a document is parsed once per content, and an edit is always seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sfe import yaml_docs


def test_the_same_text_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real = yaml.load
    monkeypatch.setattr(yaml, "load", lambda text, Loader: parses.append(text) or real(text, Loader))
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    text = "gates: [{name: only_in_this_test_8c1f, severity: block}]\n"
    first.write_text(text, encoding="utf-8")
    second.write_text(text, encoding="utf-8")  # another file, the same text
    assert yaml_docs.read_yaml(first) == {"gates": [{"name": "only_in_this_test_8c1f",
                                                      "severity": "block"}]}
    assert yaml_docs.read_yaml(first) is yaml_docs.read_yaml(second)
    assert parses == [text]


def test_an_edit_keeping_size_and_mtime_is_read_anew(tmp_path: Path) -> None:
    """A restored backup or a coarse clock: the same size and mtime, other bounds."""
    path = tmp_path / "_kpis__models.yml"
    path.write_text("bounds: [0, 1]\n", encoding="utf-8")
    stamp = path.stat()
    assert yaml_docs.read_yaml(path) == {"bounds": [0, 1]}
    path.write_text("bounds: [0, 2]\n", encoding="utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size and path.stat().st_mtime_ns == stamp.st_mtime_ns
    assert yaml_docs.read_yaml(path) == {"bounds": [0, 2]}


def test_a_broken_document_raises_every_time(tmp_path: Path) -> None:
    path = tmp_path / "gates.yml"
    path.write_text("gates: [unclosed\n", encoding="utf-8")
    for _ in range(2):  # an error is not remembered as a result
        with pytest.raises(yaml.YAMLError):
            yaml_docs.read_yaml(path)
