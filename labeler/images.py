"""Safe image decoding at the edge: every image the tool stores is an upright 8-bit RGB picture.

``normalize_image(data)`` applies the EXIF orientation, converts CMYK / 16-bit / palette / alpha /
greyscale to RGB, refuses decompression bombs *before* decoding pixels, and names the problem of
every file it refuses (``InvalidImage``). The content hash is taken over the decoded pixels, so the
same photo saved twice (or re-encoded losslessly) is recognised as a duplicate.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from labeler.errors import InvalidImage
from labeler.limits import MAX_DECODED_BYTES_ENV, max_decoded_bytes

DEFAULT_MAX_PIXELS = 80_000_000
#: Bytes per pixel of a decoded image in each Pillow mode (channels x bytes per sample).
_BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "La": 2,
    "PA": 2,
    "I;16": 2,
    "I;16L": 2,
    "I;16B": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}
#: EXIF orientation tag; values other than 1 mean the pixels must be rotated/flipped to stand upright.
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class NormalizedImage:
    """An upright RGB image ready to store.

    ``data`` is the file to write: the original bytes when they already were an upright RGB JPEG/PNG
    (no re-encoding loss), else a lossless PNG of the converted pixels. ``extension`` matches it.
    """

    data: bytes
    extension: str
    width: int
    height: int
    content_hash: str
    original_mode: str


def content_hash(rgb: np.ndarray) -> str:
    """SHA-256 over the shape and the RGB pixels (``H x W x 3 uint8``)."""
    digest = hashlib.sha256(f"{rgb.shape[0]}x{rgb.shape[1]}:".encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16)
        top = 65535 if mode != "I" or arr.max() > 255 else 255
        scaled = (arr.astype(np.float64) * (255.0 / max(top, 1))).clip(0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = ((arr - lo) / (hi - lo or 1.0) * 255).clip(0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info or mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        # Most CMYK JPEGs from Photoshop are stored inverted (Adobe APP14); Pillow's own conversion
        # handles the flag, so a naive formula is not used here.
        return img.convert("RGB")
    return img.convert("RGB") if mode != "RGB" else img


def normalize_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "image"
) -> NormalizedImage:
    """Decode, check and normalise one image file's bytes. Raises ``InvalidImage`` naming the problem."""
    if not data:
        raise InvalidImage(f"{name}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise InvalidImage(
                    f"{name}: {width} x {height} = {width * height:,} pixels is over the limit of "
                    f"{max_pixels:,} (a possible decompression bomb); raise max_image_pixels to allow it"
                )
            decoded = width * height * _BYTES_PER_PIXEL.get(img.mode, 8)
            limit = max_decoded_bytes()
            if decoded > limit:
                raise InvalidImage(
                    f"{name}: {width} x {height} {img.mode} pixels would decode into "
                    f"{decoded:,} bytes, over the limit of {limit:,} "
                    f"(labeler.limits.MAX_DECODED_BYTES; raise it with ${MAX_DECODED_BYTES_ENV})"
                )
            img.load()
    except InvalidImage:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"{name}: not an image (no known image format)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"{name}: decompression bomb refused ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"{name}: corrupt or truncated image ({exc})") from exc
    if width == 0 or height == 0:
        raise InvalidImage(f"{name}: image has no pixels ({width} x {height})")

    original_mode, fmt = img.mode, (img.format or "").upper()
    oriented = img.getexif().get(_ORIENTATION, 1) not in (1, None)
    try:
        upright = ImageOps.exif_transpose(img) if oriented else img
        rgb_img = _to_rgb(upright)
    except (OSError, ValueError) as exc:
        raise InvalidImage(f"{name}: cannot convert {original_mode} pixels to RGB ({exc})") from exc
    rgb = np.asarray(rgb_img, dtype=np.uint8)
    digest = content_hash(rgb)

    keep_original = not oriented and original_mode == "RGB" and fmt in ("JPEG", "PNG")
    if keep_original:
        return NormalizedImage(
            data,
            ".jpg" if fmt == "JPEG" else ".png",
            rgb.shape[1],
            rgb.shape[0],
            digest,
            original_mode,
        )
    buffer = io.BytesIO()
    rgb_img.save(buffer, format="PNG", optimize=False, compress_level=3)
    return NormalizedImage(
        buffer.getvalue(), ".png", rgb.shape[1], rgb.shape[0], digest, original_mode
    )


def load_rgb(path) -> np.ndarray:
    """A stored (already normalised) image as ``H x W x 3 uint8``."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


# Truncated files must fail loudly rather than come back half grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
