"""The one owner of coordinate frames: display canvas <-> original image <-> model input.

Three frames, each a pixel grid of some ``(H, W)``, and the editor's view on top:

- **viewport**: the canvas element as the annotator sees it, zoomed and panned
  (``viewport = zoom * canvas + pan``; zoom 1, pan 0 is the whole canvas): browser input arrives here;
- **canvas**: what the browser shows (the image drawn at some zoom, possibly letter-boxed);
- **original**: the image file's pixels, after EXIF transpose; masks and prompts are stored here;
- **model input**: the image resized so its longest side is ``side`` (SAM's ``ResizeLongestSide``
  rule, 1024 px), top-left aligned, before padding to a square.

Convention, the same in every frame: coordinates are continuous, pixel ``(row i, col j)`` covers
``[j, j + 1) x [i, i + 1)``, so its centre is ``(j + 0.5, i + 0.5)`` and ``floor`` gives the index
of the pixel under a point. Points are ``(x, y)``; boxes are ``XYXY``. With that convention every
change of frame is an axis-aligned affine map ``x' = sx * x + tx``, ``y' = sy * y + ty``, which is
what :class:`Transform` holds; masks are resampled through the same map (pixel centres to pixel
centres), so points, boxes and masks never disagree.

Nothing else in the code base scales coordinates by hand: build a :class:`Frames` (or a single
:class:`Transform`) and go through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Size = tuple[int, int]  # (height, width) in pixels

SAM_SIDE = 1024  # SAM's model-input side


def _check_size(size: Size, what: str) -> Size:
    h, w = (int(v) for v in size)
    if h <= 0 or w <= 0:
        raise ValueError(f"{what} size must be positive (height, width), got {size!r}")
    return h, w


def longest_side_shape(size: Size, side: int = SAM_SIDE) -> Size:
    """``(H, W)`` scaled so the longest side is ``side``, rounded half up (SAM's rule)."""
    h, w = _check_size(size, "image")
    scale = side / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


@dataclass(frozen=True)
class Transform:
    """An axis-aligned affine map from a ``src`` frame to a ``dst`` frame.

    ``x_dst = sx * x_src + tx`` and ``y_dst = sy * y_src + ty`` in continuous coordinates.
    ``src_size`` / ``dst_size`` are the ``(H, W)`` of the two pixel grids (used for masks and
    for clipping).
    """

    sx: float
    sy: float
    tx: float
    ty: float
    src_size: Size
    dst_size: Size

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def resize(cls, src_size: Size, dst_size: Size) -> Transform:
        """Stretch the whole ``src`` grid onto the whole ``dst`` grid (edges to edges)."""
        sh, sw = _check_size(src_size, "source")
        dh, dw = _check_size(dst_size, "destination")
        return cls(dw / sw, dh / sh, 0.0, 0.0, (sh, sw), (dh, dw))

    @classmethod
    def crop(cls, src_size: Size, window: tuple[int, int, int, int]) -> Transform:
        """Into the integer XYXY ``window`` of ``src`` (a crop: shift only, no scaling)."""
        x0, y0, x1, y1 = (int(v) for v in window)
        return cls(
            1.0, 1.0, -float(x0), -float(y0), _check_size(src_size, "source"), (y1 - y0, x1 - x0)
        )

    @classmethod
    def identity(cls, size: Size) -> Transform:
        size = _check_size(size, "image")
        return cls(1.0, 1.0, 0.0, 0.0, size, size)

    # ---- algebra ------------------------------------------------------------------------------
    def inverse(self) -> Transform:
        return Transform(
            1.0 / self.sx,
            1.0 / self.sy,
            -self.tx / self.sx,
            -self.ty / self.sy,
            self.dst_size,
            self.src_size,
        )

    def then(self, other: Transform) -> Transform:
        """This map followed by ``other`` (``other``'s source must be this map's destination)."""
        if tuple(other.src_size) != tuple(self.dst_size):
            raise ValueError(f"cannot chain: {self.dst_size} is not {other.src_size}")
        return Transform(
            other.sx * self.sx,
            other.sy * self.sy,
            other.sx * self.tx + other.tx,
            other.sy * self.ty + other.ty,
            self.src_size,
            other.dst_size,
        )

    # ---- points and boxes ---------------------------------------------------------------------
    def points(self, points) -> np.ndarray:
        """``N x 2`` (x, y) points in the source frame -> ``N x 2`` float64 in the destination."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return np.stack([pts[:, 0] * self.sx + self.tx, pts[:, 1] * self.sy + self.ty], axis=1)

    def point(self, x: float, y: float) -> tuple[float, float]:
        px, py = self.points([[x, y]])[0]
        return float(px), float(py)

    def boxes(self, boxes) -> np.ndarray:
        """``N x 4`` XYXY boxes in the source frame -> ``N x 4`` float64 in the destination."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        corners = self.points(b.reshape(-1, 2)).reshape(-1, 4)
        # A negative scale (never built here, but cheap to honour) would swap the corners.
        x0, x1 = np.minimum(corners[:, 0], corners[:, 2]), np.maximum(corners[:, 0], corners[:, 2])
        y0, y1 = np.minimum(corners[:, 1], corners[:, 3]), np.maximum(corners[:, 1], corners[:, 3])
        return np.stack([x0, y0, x1, y1], axis=1)

    def box(self, box) -> tuple[float, float, float, float]:
        return tuple(float(v) for v in self.boxes([box])[0])  # type: ignore[return-value]

    # ---- rasters ------------------------------------------------------------------------------
    def _cv_matrix(self) -> np.ndarray:
        # cv2 indexes pixels by their centres at integers: index = continuous - 0.5.
        return np.array(
            [
                [self.sx, 0.0, self.tx + 0.5 * self.sx - 0.5],
                [0.0, self.sy, self.ty + 0.5 * self.sy - 0.5],
            ],
            dtype=np.float64,
        )

    def mask(self, mask: np.ndarray) -> np.ndarray:
        """``src_size`` bool mask -> ``dst_size`` bool mask (nearest pixel centre; outside = False)."""
        m = np.asarray(mask)
        if m.shape != tuple(self.src_size):
            raise ValueError(f"mask of shape {m.shape} is not in the source frame {self.src_size}")
        out = cv2.warpAffine(
            (m != 0).astype(np.uint8),
            self._cv_matrix(),
            (self.dst_size[1], self.dst_size[0]),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        return out.astype(bool)

    def raster(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """``src_size (x C)`` float / uint8 array -> ``dst_size (x C)``, bilinear (for logits, images)."""
        v = np.asarray(values)
        if v.shape[:2] != tuple(self.src_size):
            raise ValueError(f"array of shape {v.shape} is not in the source frame {self.src_size}")
        if self == Transform.resize(self.src_size, self.dst_size) and self.sx < 1 and self.sy < 1:
            # A whole-grid shrink: average pixels (as an image should be), same map as below.
            return cv2.resize(v, (self.dst_size[1], self.dst_size[0]), interpolation=cv2.INTER_AREA)
        return cv2.warpAffine(
            v,
            self._cv_matrix(),
            (self.dst_size[1], self.dst_size[0]),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=fill,
        )


# ---- frame helpers used by the editor and the segmenters -----------------------------------------
def clip_points(points, size: Size) -> np.ndarray:
    """Move ``N x 2`` points that fall outside an ``(H, W)`` image onto its nearest pixel centre."""
    h, w = _check_size(size, "image")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.stack([np.clip(pts[:, 0], 0.5, w - 0.5), np.clip(pts[:, 1], 0.5, h - 0.5)], axis=1)


def clip_box(box, size: Size) -> tuple[float, float, float, float]:
    """Clamp an XYXY box to the image ``[0, W] x [0, H]`` and order its corners."""
    h, w = _check_size(size, "image")
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((min(max(x0, 0.0), w), min(max(x1, 0.0), w)))
    y0, y1 = sorted((min(max(y0, 0.0), h), min(max(y1, 0.0), h)))
    return x0, y0, x1, y1


def pixel_index(points, size: Size) -> np.ndarray:
    """``N x 2`` (x, y) points -> ``N x 2`` int (col, row) of the pixel under each, clipped in-image."""
    h, w = _check_size(size, "image")
    pts = np.floor(np.asarray(points, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    return np.stack([np.clip(pts[:, 0], 0, w - 1), np.clip(pts[:, 1], 0, h - 1)], axis=1)


def fit_transform(original: Size, canvas: Size, letterbox: bool = True) -> Transform:
    """original -> canvas map for an image drawn into a canvas.

    ``letterbox=True`` keeps the aspect ratio and centres the image (bars on two sides);
    ``False`` stretches it over the whole canvas (what a canvas sized from the image does, where
    rounding makes the two scales differ slightly).
    """
    oh, ow = _check_size(original, "original")
    ch, cw = _check_size(canvas, "canvas")
    if not letterbox:
        return Transform.resize((oh, ow), (ch, cw))
    s = min(ch / oh, cw / ow)
    return Transform(s, s, (cw - ow * s) / 2.0, (ch - oh * s) / 2.0, (oh, ow), (ch, cw))


def upscaled_size(original: Size, max_size: Size) -> Size:
    """Canvas ``(H, W)`` for an image that fits ``max_size``: enlarged by the largest whole factor
    that still fits, so nearest-neighbour pixels come out square and even (a 96-px image in a
    640-px canvas: 6x, 576 px); an image that does not fit is shrunk (:func:`display_size`)."""
    oh, ow = _check_size(original, "original")
    mh, mw = _check_size(max_size, "canvas")
    if oh > mh or ow > mw:
        return display_size((oh, ow), mw, mh)
    k = max(1, min(mh // oh, mw // ow))
    return oh * k, ow * k


def view_transform(canvas: Size, zoom: float = 1.0, pan: tuple[float, float] = (0.0, 0.0)):
    """viewport -> canvas map of the editor's view (``viewport = zoom * canvas + pan``).

    Args:
        canvas: the canvas ``(H, W)``; the viewport is the same grid (the element's own pixels).
        zoom: >= some positive factor (1 = the whole canvas in view).
        pan: the viewport position of the canvas origin, in viewport pixels.
    """
    size = _check_size(canvas, "canvas")
    if not zoom > 0:
        raise ValueError(f"zoom must be positive, got {zoom!r}")
    tx, ty = (float(v) for v in pan)
    return Transform(1.0 / zoom, 1.0 / zoom, -tx / zoom, -ty / zoom, size, size)


def display_size(original: Size, max_width: int, max_height: int | None = None) -> Size:
    """Canvas ``(H, W)`` that shows the whole image at most ``max_width`` wide (and high), never upscaled."""
    oh, ow = _check_size(original, "original")
    s = min(1.0, max_width / ow, (max_height / oh) if max_height else 1.0)
    return max(1, round(oh * s)), max(1, round(ow * s))


@dataclass(frozen=True)
class Frames:
    """All frames of one displayed image: ``canvas <-> original <-> model``.

    Build with :meth:`for_image`; read the maps as attributes, e.g.
    ``frames.canvas_to_original.points(clicks)`` or ``frames.model_to_original.mask(m)``.
    """

    original_to_canvas: Transform
    original_to_model: Transform

    @classmethod
    def for_image(
        cls,
        original: Size,
        canvas: Size | None = None,
        model_side: int = SAM_SIDE,
        letterbox: bool = False,
    ) -> Frames:
        """Frames for an ``original`` ``(H, W)`` image shown in ``canvas`` (default: same size)."""
        original = _check_size(original, "original")
        to_canvas = (
            Transform.identity(original)
            if canvas is None
            else fit_transform(original, canvas, letterbox)
        )
        return cls(to_canvas, Transform.resize(original, longest_side_shape(original, model_side)))

    @property
    def original_size(self) -> Size:
        return self.original_to_model.src_size

    @property
    def model_input_size(self) -> Size:
        """``(h, w)`` of the resized image inside the square model input (before padding)."""
        return self.original_to_model.dst_size

    @property
    def canvas_size(self) -> Size:
        return self.original_to_canvas.dst_size

    @property
    def canvas_to_original(self) -> Transform:
        return self.original_to_canvas.inverse()

    @property
    def model_to_original(self) -> Transform:
        return self.original_to_model.inverse()

    @property
    def canvas_to_model(self) -> Transform:
        return self.canvas_to_original.then(self.original_to_model)

    def viewport_to_original(
        self, zoom: float = 1.0, pan: tuple[float, float] = (0.0, 0.0)
    ) -> Transform:
        """What the annotator points at, under a zoom and pan, in original pixels."""
        return view_transform(self.canvas_size, zoom, pan).then(self.canvas_to_original)

    def canvas_click(
        self, x: float, y: float, zoom: float = 1.0, pan: tuple[float, float] = (0.0, 0.0)
    ) -> tuple[float, float]:
        """A click at viewport pixel ``(x, y)`` under ``zoom`` / ``pan`` -> original (x, y).

        The click is taken at the centre of the viewport pixel it hit (zoomed in, that is a
        fraction of a canvas pixel, so it lands on the original pixel under the pointer) and the
        result is clipped into the image, so clicks on a letter-box bar land on the nearest
        image pixel.
        """
        to_original = self.viewport_to_original(zoom, pan)
        pt = to_original.points([[np.floor(x) + 0.5, np.floor(y) + 0.5]])
        cx, cy = clip_points(pt, self.original_size)[0]
        return float(cx), float(cy)
