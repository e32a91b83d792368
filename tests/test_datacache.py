"""The data cache: built once, read back the same, rebuilt when its key changes or its file is damaged."""

import torch

from eqlib import datacache


def test_built_once_then_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(datacache, "cache_dir", lambda: tmp_path)
    calls = []

    def build():
        calls.append(1)
        return {"power": torch.arange(6.0).reshape(2, 3), "speakers": ["a", "b"]}

    key = {"component": "synth", "seed": 0}
    first = datacache.load_or_build("bank", key, build)
    second = datacache.load_or_build("bank", key, build)
    assert len(calls) == 1
    torch.testing.assert_close(second["power"], first["power"])
    assert second["speakers"] == ["a", "b"]
    datacache.load_or_build("bank", {**key, "seed": 1}, build)  # another key: another file
    assert len(calls) == 2 and len(list(tmp_path.glob("bank-*.pt"))) == 2


def test_a_damaged_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(datacache, "cache_dir", lambda: tmp_path)
    key = {"component": "music"}
    path = datacache.cache_path("bank", key)
    path.write_bytes(b"not a torch file")
    data = datacache.load_or_build("bank", key, lambda: {"power": torch.ones(2)})
    torch.testing.assert_close(data["power"], torch.ones(2))
    assert datacache.load_or_build("bank", key, lambda: {"power": torch.zeros(2)})["power"].sum() == 2


def test_code_digest_follows_the_source_files():
    assert datacache.code_digest(("speech_synth",)) != datacache.code_digest(("music_synth",))
    assert datacache.code_digest(("speech_synth",)) == datacache.code_digest(("speech_synth",))
