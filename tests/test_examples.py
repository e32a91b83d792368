"""The shipped example clips: present, named, mono 44.1 kHz, real audio of the stated length and kind."""

import numpy as np
import pytest
import soundfile as sf

from eqlib.audio import loudness_lufs
from eqlib.examples import DATA_DIR, example_info, example_path, list_examples, load_example


def test_listing_by_kind():
    speech, music = list_examples("speech"), list_examples("music")
    assert len(speech) == 9 and len(music) == 4
    assert sorted(list_examples()) == sorted(speech + music)
    with pytest.raises(ValueError, match="valid kinds: speech, music"):
        list_examples("noise")


def test_unknown_name_lists_valid_names():
    with pytest.raises(KeyError, match="valid names: .*speech-p351-f"):
        load_example("nope")


@pytest.mark.parametrize("name", list_examples())
def test_each_example_is_real_mono_44k(name):
    x, sr = load_example(name)
    info = sf.info(str(example_path(name)))  # independent reader of the header
    assert sr == info.samplerate == 44100 and info.channels == 1
    assert x.dtype == np.float32 and x.ndim == 1 and x.size == info.frames
    limit = 4.0 if example_info(name)["kind"] == "speech" else 6.0
    assert 3.0 <= x.size / sr <= limit + 1e-3
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) < 1.0
    assert -40.0 < loudness_lufs(x, sr) < -10.0  # real programme material, not silence or noise bursts


def test_held_out_speakers_only_and_attribution():
    text = (DATA_DIR / "ATTRIBUTION.md").read_text()
    for name in list_examples():
        src = example_info(name)["source"]
        assert src.split("/")[-1] in text
        if name.startswith("speech"):
            speaker = src.split("/")[1]
            assert speaker in ("vctk-s5", "hifitts-unknown") or 347 <= int(speaker.removeprefix("vctk-p")) <= 376
    total = sum(p.stat().st_size for p in DATA_DIR.iterdir())
    assert total < 5_000_000
