"""Clean one image in a process of its own, under a memory limit (finding 4).

Run by ``attachments.clean_image`` as ``python -I image_worker.py FORMAT MAX_PIXELS
MAX_BYTES``: the image arrives on standard input, the cleaned image leaves on standard
output. Before any pixel is decoded the header gives width × height × bands; an image
over ``MAX_PIXELS`` or whose decoding would need more than ``MAX_BYTES`` is refused
(exit 2). The address space is limited (``RLIMIT_AS``) to what that decoding needs plus
the interpreter, so a decoder that misbehaves (a bug, a crafted file) fails in this
process with a MemoryError and the server keeps its memory. No core file is written.

Imports nothing of Kuager (``-I``: no current folder, no user site) and only Pillow;
Windows has no ``resource`` module: there the limits are the pixel and byte checks alone.
"""

from __future__ import annotations

import io
import sys

#: The interpreter, Pillow and its codecs, before any image (measured at about 60 MB of
#: address space; generous, since an allocator reserves arenas ahead).
BASE_ADDRESS_SPACE = 256 * 1024 * 1024
#: Copies of the pixels alive at once while cleaning: the decoded image and the new one
#: (and a third for a moment while an EXIF orientation is applied).
PIXEL_COPIES = 3
EXIT_REFUSED = 2

_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 92, "optimize": True},
    "PNG": {"optimize": False},
    "WEBP": {"quality": 90},
}


def _limit(resource_name: str, value: int) -> None:
    try:
        import resource
    except ImportError:  # Windows
        return
    limit = getattr(resource, resource_name)
    _soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, hard))


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE=0 (Linux): ``/proc/PID/mem`` and ptrace of this worker become
    root-only, as for the serving process (exec made this one dumpable again). A worker
    runs isolated, importing nothing of Kuager, so this is its own copy of the call."""
    if not sys.platform.startswith("linux"):
        return
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # 4: PR_SET_DUMPABLE


def decoded_bytes(width: int, height: int, bands: int) -> int:
    """Memory one decoded copy takes: Pillow keeps 1, 2 or 4 bytes a pixel per band group."""
    per_pixel = 1 if bands == 1 else 4 * ((bands + 3) // 4)
    return width * height * per_pixel


def clean(data: bytes, fmt: str, max_pixels: int, max_bytes: int) -> bytes:
    """Rebuild the image from its pixels: no EXIF, XMP, IPTC, comments or thumbnails survive.

    The EXIF orientation is applied first so that a photo does not turn on its side.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = max_pixels
    with Image.open(io.BytesIO(data), formats=[fmt]) as source:
        if source.format != fmt:
            raise ValueError("content does not match its signature")
        # P/PA become RGBA below: count them as four bands.
        bands = 4 if source.mode in ("P", "PA") else len(source.getbands())
        cost = decoded_bytes(source.width, source.height, bands)
        if source.width * source.height > max_pixels or cost > max_bytes:
            raise ValueError("too many pixels to decode safely")
        _limit("RLIMIT_AS", BASE_ADDRESS_SPACE + len(data) * 3 + PIXEL_COPIES * cost)
        ImageOps.exif_transpose(source, in_place=True)
        pixels = source.convert("RGBA") if source.mode in ("P", "PA") else source
        if fmt == "JPEG" and pixels.mode not in ("RGB", "L", "CMYK"):
            pixels = pixels.convert("RGB")
        clean_image = Image.new(pixels.mode, pixels.size)
        clean_image.paste(pixels)  # a new image: none of the source's info or metadata
        del pixels
    out = io.BytesIO()
    clean_image.save(out, format=fmt, **_SAVE_OPTIONS[fmt])
    return out.getvalue()


def _report_peak() -> None:
    """``peak_rss=BYTES`` on standard error (the resident memory this worker ever used).

    Linux: ``VmHWM`` of this program's own memory; ``ru_maxrss`` would also count the
    server's memory at the moment it started the worker (kept across fork and exec).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    sys.stderr.write(f"peak_rss={int(line.split()[1]) * 1024}\n")
                    return
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    factor = 1 if sys.platform == "darwin" else 1024
    sys.stderr.write(f"peak_rss={kib * factor}\n")


def main(argv: list[str]) -> int:
    _limit("RLIMIT_CORE", 0)
    _not_dumpable()
    fmt, max_pixels, max_bytes = argv[0], int(argv[1]), int(argv[2])
    data = sys.stdin.buffer.read()
    try:
        cleaned = clean(data, fmt, max_pixels, max_bytes)
    except Exception:  # too large, not an image, MemoryError, anything a decoder raises
        _report_peak()
        return EXIT_REFUSED
    sys.stdout.buffer.write(cleaned)
    sys.stdout.buffer.flush()
    _report_peak()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
