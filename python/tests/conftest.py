"""Fixtures of runstore's Python tests: a fresh store per test, the fluent API pointed at it."""

import os
import pathlib

import pytest

import runstore

#: The MLflow-answered search corpus (the shared one, copied into the repository).
CONFORMANCE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "conformance"


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    """A new store directory, made the fluent API's store; active runs ended afterwards."""
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("RUNSTORE_DB", raising=False)
    path = tmp_path / "store"
    runstore.set_store(path)
    yield path
    while runstore.active_run() is not None:
        runstore.end_run()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def installed_from_site_packages() -> bool:
    return "site-packages" in os.path.dirname(runstore.__file__)
