"""Loaders given files that are not what they claim (issue 16, finding 9).

Every failure is one DatasetError naming the file: no raw UnicodeDecodeError, EmptyDataError or
ParserError, and a folder or FIFO is named as such (never "does not exist", never a hang).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_matopt.data import Dataset, DatasetError, load_dataset, load_pool


def _files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"formula,y\nFe\xe9,1\nCr,2\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("formula,y\nFe,1\nCr,2,3,4\n")
    quote = tmp_path / "quote.csv"
    quote.write_text('formula,y\n"Fe,1\nCr,2\n' + "x" * 10 + "\n")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("formula,y\nFe,1\n".encode("utf-16"))
    return {
        "latin-1": (latin, "UTF-8"),
        "empty": (empty, "empty"),
        "ragged": (ragged, "not valid CSV"),
        "quote": (quote, "CSV"),
        "folder": (folder, "folder"),
        "fifo": (fifo, "not a regular file"),
        "utf-16": (utf16, "UTF-8"),
        "missing": (tmp_path / "missing.csv", "does not exist"),
    }


@pytest.mark.parametrize("kind", ["latin-1", "empty", "ragged", "quote", "folder", "fifo",
                                  "utf-16", "missing"])
def test_from_csv_gives_one_dataset_error_naming_the_file(tmp_path, kind) -> None:
    path, words = _files(tmp_path)[kind]
    with pytest.raises(DatasetError, match=words) as info:
        Dataset.from_csv(path, target="y")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_named_dataset_that_is_a_folder_or_fifo_says_so(tmp_path, kind) -> None:
    target = tmp_path / "matbench_steels.csv"
    if kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(DatasetError, match="folder|regular file") as info:
        load_dataset("matbench_steels", data_dir=tmp_path)
    assert "not found" not in str(info.value)
    fifo_dir = tmp_path / "fifo_dir"
    os.mkfifo(fifo_dir)
    with pytest.raises(DatasetError, match="neither a folder"):
        load_dataset("matbench_steels", data_dir=fifo_dir)


def test_a_pool_file_that_is_not_csv_names_it(tmp_path) -> None:
    from jupyter_matopt.data.pool import POOLS

    name, info = sorted(POOLS.items())[0]
    bad = tmp_path / info.filename
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DatasetError) as err:
        load_pool(name, data_dir=tmp_path)
    assert info.filename in str(err.value)
