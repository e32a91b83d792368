"""What a set of figures and tables was built from: the corpora (digests of their manifests) and the weights
(file digests), as a line for ``results.md`` and lines for the console; and the mark on every file built from the
small example sets instead of the corpora."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from eqlib.corpora import CorporaLocation, file_sha256, locate_corpora, manifest_digests
from eqlib.runtime import KERNEL_CAPS, repo_root

NUMERICAL_PACKAGES = ("torch", "numpy", "scipy", "librosa", "soxr", "soundfile")  # what the numbers pass through
DIGEST_CHARS = 16  # hex characters of a SHA-256 shown: enough to tell files apart at a glance
EXAMPLES_NOTE = ("built from the small example sets in eqlib/data, not the evaluation corpora "
                 "(numbers not comparable with the README's)")
BANNER_COLOURS = ((255, 244, 204), (153, 0, 0))  # background, text (RGB)
COMPUTED_WITH = re.compile(r"Computed with (.*?\.)(?:\s|$)")  # the sentence computed_with writes
CODE_SPAN = re.compile(r"`([^`\n]*)`")
WIDEST_ISA = ("avx512f", "avx2", "avx")  # the first one a CPU's flags list names it (Linux /proc/cpuinfo)
CPUINFO_LINES = 64  # /proc/cpuinfo lines read: the first processor's fields


def short(digest: str) -> str:
    """The first ``DIGEST_CHARS`` hex characters of a digest."""
    return digest[:DIGEST_CHARS]


def display_path(path: Path) -> str:
    """``path`` relative to the checkout when inside it, else absolute."""
    try:
        return Path(path).resolve().relative_to(repo_root()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def weight_files(system_args: Sequence[str]) -> list[Path]:
    """The checkpoint files behind ``eqlib.evaluate``'s ``--systems`` arguments (shipped weights for model names,
    the file of ``LABEL=PATH.pt``), each once, in order; built-in systems have none."""
    from eqlib.checkpoint import default_weights
    from eqlib.evaluate import parse_system_arg
    from eqlib.inference import SHIPPED_MODELS

    files: list[Path] = []
    for arg in system_args:
        label, path = parse_system_arg(arg)
        name = label.removeprefix("hybrid_").removeprefix("network_")
        path = path if path is not None else default_weights(name) if name in SHIPPED_MODELS else None
        if path is not None and Path(path) not in files:
            files.append(Path(path))
    return files


def _weights_text(weights: Iterable[Path]) -> str:
    parts = [f"`{display_path(p)}` (SHA-256 {short(file_sha256(p))})" if Path(p).is_file()
             else f"`{display_path(p)}` (missing)" for p in weights]
    return "weights " + ", ".join(parts) if parts else "no weights"


def built_from(weights: Iterable[Path], examples: bool, location: CorporaLocation | None = None) -> str:
    """One Markdown line: the corpora (name and ``MANIFEST.tsv`` SHA-256 each) or the example sets, and the weights.

    The corpora's folder is left out on purpose: the same corpora fetched by ``make data`` or read from
    ``../shared/corpora`` give the same line, so regenerated tables can be compared with the committed ones.
    """
    location = None if examples else location or locate_corpora()
    if examples:
        data = EXAMPLES_NOTE
    elif location is None:
        data = "built from no corpora"
    else:
        data = "built from corpora " + ", ".join(f"{name} (MANIFEST.tsv SHA-256 {short(d)})"
                                                 for name, d in manifest_digests(location).items())
    return f"{data[0].upper()}{data[1:]}; {_weights_text(weights)}."


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's maker and widest vector instruction set as far as ``cpuinfo`` says (Linux), e.g. ``AuthenticAMD
    x86_64 avx512f``; else the machine type alone, e.g. ``arm64``. MKL picks its kernels by CPU maker, which the
    kernel caps do not cover (:func:`eqlib.runtime.pin_cpu_kernels`)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        lines = []
    fields: dict[str, str] = {}
    for line in lines[:CPUINFO_LINES]:
        key, colon, value = line.partition(":")
        if colon:
            fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    widest = next((isa for isa in WIDEST_ISA if isa in flags), None)
    return " ".join(part for part in (fields.get("vendor_id"), platform.machine(), widest) if part)


def computed_with() -> str:
    """One Markdown sentence: the numerical packages' versions, the CPU kernel caps in force
    (:func:`eqlib.runtime.pin_cpu_kernels`) and the CPU (:func:`cpu_description`), each in a code span, which
    ``eqlib.figures_check`` leaves out of its comparison: another release or CPU is a reason to look when numbers
    drift (:func:`environment_changes`), not a drift by itself."""
    versions = ", ".join(f"`{name} {importlib.metadata.version(name)}`" for name in NUMERICAL_PACKAGES)
    caps = [f"`{name}={os.environ[name]}`" for name in KERNEL_CAPS if os.environ.get(name)]
    kernels = f"CPU kernels capped by {', '.join(caps)}" if caps else "CPU kernels as the CPU chose them"
    return f"Computed with {versions}; {kernels}; CPU `{cpu_description()}`."


def environment_changes(committed: str, regenerated: str) -> list[str] | None:
    """What differs between the :func:`computed_with` sentences of two Markdown texts: one ``what: old → new`` per
    package, kernel cap or CPU that changed (``—`` where one side has none); ``None`` when either text has no such
    sentence."""
    found = [COMPUTED_WITH.search(text) for text in (committed, regenerated)]
    if not all(found):
        return None
    old, new = (dict(_environment_item(span) for span in CODE_SPAN.findall(m.group(1))) for m in found)
    return [f"{key}: {old.get(key, '—')} → {new.get(key, '—')}" for key in {**old, **new} if old.get(key) != new.get(key)]


def _environment_item(span: str) -> tuple[str, str]:
    """A code span of :func:`computed_with` as (what, value): a package and its version, a kernel cap's variable
    and its value, or ``CPU`` and its description."""
    if "=" in span:
        variable, _, value = span.partition("=")
        return variable, value
    name, _, version = span.partition(" ")
    return (name, version) if name in NUMERICAL_PACKAGES else ("CPU", span)


def console_lines(weights: Iterable[Path], examples: bool) -> list[str]:
    """Lines for the console: where the corpora were found, each manifest's digest and whether it is the committed
    one (``corpora/<name>/MANIFEST.tsv``), and the weights' digests."""
    from eqlib.corpus_lock import lock_dir

    location = None if examples else locate_corpora()
    if location is None:
        lines = [f"data: {EXAMPLES_NOTE}"]
    else:
        lines = [f"corpora: {display_path(location.path)} (from {location.origin})"]
        for name, digest in manifest_digests(location).items():
            committed = lock_dir() / name / "MANIFEST.tsv"
            same = committed.is_file() and file_sha256(committed) == digest
            lines.append(f"  {name}: MANIFEST.tsv SHA-256 {short(digest)} "
                         f"({'as committed in' if same else 'differs from'} {display_path(committed)})")
    lines.append(_weights_text(weights).replace("`", ""))
    return lines


def mark_examples(paths: Iterable[Path]) -> None:
    """Mark files built from the example sets: a banner across the top of every PNG, a first line in every
    Markdown file (unless it already carries ``EXAMPLES_NOTE``)."""
    for path in paths:
        path = Path(path)
        if path.suffix == ".png":
            _add_banner(path, f"Example sets: {EXAMPLES_NOTE}")
        elif path.suffix == ".md":
            text = path.read_text()
            if EXAMPLES_NOTE not in text:
                path.write_text(f"> **Example sets:** {EXAMPLES_NOTE}.\n\n{text}")


def _add_banner(path: Path, text: str) -> None:
    """Rewrite the PNG at ``path`` with ``text`` in a band above it (fitted to the width; no timestamp)."""
    image = Image.open(path)
    image.load()
    mode = image.mode if image.mode in ("RGB", "RGBA") else "RGB"
    image = image.convert(mode)
    size = max(12, image.height // 40)
    font = ImageFont.load_default(size=size)
    while size > 8 and font.getlength(text) > image.width - 2 * size:
        size -= 1
        font = ImageFont.load_default(size=size)
    band = int(size * 1.8)
    background = BANNER_COLOURS[0] + ((255,) if mode == "RGBA" else ())
    marked = Image.new(mode, (image.width, image.height + band), background)
    marked.paste(image, (0, band))
    ImageDraw.Draw(marked).text((size, band // 2), text, fill=BANNER_COLOURS[1], font=font, anchor="lm")
    marked.save(path, format="PNG")

