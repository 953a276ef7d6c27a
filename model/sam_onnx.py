"""SAM's prompt encoder + mask decoder as an ONNX Runtime session: the per-click pass on the CPU.

Why: a click in the editor runs only this pass, and in eager PyTorch on a 2-core CPU it costs
115-200 ms (SAM ViT-B, one thread; a second thread barely helps: the time goes to element-wise ops
and copies, not matrix products). The same graph in ONNX Runtime takes ~90 ms on one thread and
~46 ms on two (``bench/bench_editing.py``), with PyTorch's masks (up to the odd pixel whose logit
sits on the threshold: the runtimes round differently). SAM's authors ship the decoder this way
too (``segment_anything.utils.onnx``, used by their web demo).

The graph is exported from the *loaded* module at start-up (about 1.5 s for ViT-B, in memory, no
file), so it always has the weights of the checkpoint in use. :class:`DecoderGraph` is SAM's own
``SamOnnxModel`` with two changes: the choice between the single mask and the best of three is an
explicit input, so both backends follow the same rule (``model.sam_segmenter``), and the graph
stops at the low-resolution logits. The upscaling to the image stays in PyTorch
(``Sam.postprocess_masks``, a few ms): traced, its crop to the image's aspect would be frozen at
the example's size.

    decoder = OnnxSamDecoder.export(sam, threads=2)
    low_res_logits, score = decoder(features, coords, labels, mask_input, multimask)
"""

from __future__ import annotations

import io
import os
import threading
import warnings

import numpy as np
import torch
from segment_anything.utils.onnx import SamOnnxModel

from model.errors import ConfigError

INPUTS = (
    "image_embeddings",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
    "multimask",
)
OUTPUTS = ("low_res_logits", "score")
OPSET = 17


class DecoderGraph(SamOnnxModel):
    """SAM's traceable decoder pass (``SamOnnxModel``), choosing masks like ``SamSegmenter``.

    Inputs (batch of one):
        image_embeddings: ``1 x 256 x 64 x 64`` float32.
        point_coords: ``1 x N x 2`` float32 in the model-input frame, pixel-index convention
            (SAM adds 0.5); box corners come last with labels 2 and 3; without a box a padding
            point labelled -1 ends the list, as ``PromptEncoder`` does.
        point_labels: ``1 x N`` float32 (1 object, 0 background, -1 padding, 2 / 3 box corners).
        mask_input: ``1 x 1 x 256 x 256`` previous low-res logits; ``has_mask_input``: ``[0.]``
            (none: SAM's no-mask embedding) or ``[1.]``.
        multimask: ``[1.]`` keeps the best-scored of masks 1-3, ``[0.]`` mask 0 (SAM's advice:
            three only when the prompt is ambiguous).

    Outputs: ``low_res_logits`` ``1 x 1 x 256 x 256`` of the chosen mask, ``score`` ``1 x 1`` its
    predicted IoU.
    """

    def __init__(self, sam) -> None:
        super().__init__(sam, return_single_mask=True)

    @torch.no_grad()
    def forward(
        self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, multimask
    ):
        masks, scores = self.model.mask_decoder.predict_masks(
            image_embeddings=image_embeddings,
            image_pe=self.model.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=self._embed_points(point_coords, point_labels),
            dense_prompt_embeddings=self._embed_masks(mask_input, has_mask_input),
        )
        # Mask 0 is SAM's single-mask answer, 1-3 its multimask ones: +-1000 on mask 0 picks
        # either without control flow in the graph.
        first = torch.tensor([[1000.0] + [0.0] * (self.model.mask_decoder.num_mask_tokens - 1)])
        best = torch.argmax(scores + (1.0 - 2.0 * multimask) * first, dim=1)
        rows = torch.arange(masks.shape[0])
        return masks[rows, best].unsqueeze(1), scores[rows, best].unsqueeze(1)


def export_decoder(sam) -> bytes:
    """The ONNX model of :class:`DecoderGraph` for this SAM module, as bytes."""
    graph = DecoderGraph(sam).eval()
    example = (
        torch.zeros(1, 256, *sam.prompt_encoder.image_embedding_size),
        torch.zeros(1, 2, 2),
        torch.tensor([[1.0, -1.0]]),
        torch.zeros(1, 1, *sam.prompt_encoder.mask_input_size),
        torch.tensor([0.0]),
        torch.tensor([1.0]),
    )
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated in favour of dynamo (which cannot
        # trace SamOnnxModel's embedding arithmetic here); the graph has no size arithmetic left.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example,
            buffer,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes={"point_coords": {1: "points"}, "point_labels": {1: "points"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxSamDecoder:
    """An ONNX Runtime session of :class:`DecoderGraph`; thread-safe (one serves every user).

    Args:
        model: the ONNX model bytes (:func:`export_decoder`).
        threads: intra-op threads. Spinning is off: on a small machine shared with a browser,
            busy-waiting threads would take the cores the browser needs.
    """

    def __init__(self, model: bytes, threads: int = 2):
        if threads < 1:
            raise ConfigError(f"decoder threads must be >= 1, got {threads}")
        self.session = _cpu_session(model, threads)
        # "no previous mask" is an all-zero mask input (has_mask_input = 0 ignores its values)
        self._no_mask = np.zeros(
            self.session.get_inputs()[INPUTS.index("mask_input")].shape, dtype=np.float32
        )

    @classmethod
    def export(cls, sam, threads: int = 2) -> OnnxSamDecoder:
        return cls(export_decoder(sam), threads=threads)

    def __call__(
        self,
        features: np.ndarray,
        coords: np.ndarray,
        labels: np.ndarray,
        mask_input: np.ndarray | None,
        multimask: bool,
    ) -> tuple[np.ndarray, float]:
        """``(low_res_logits 256 x 256 float32, score)`` for one prompt set (``features``
        ``256 x 64 x 64``; ``coords`` / ``labels`` as :class:`DecoderGraph` takes them)."""
        has_mask = mask_input is not None
        feeds = {
            "image_embeddings": np.ascontiguousarray(features, dtype=np.float32)[None],
            "point_coords": np.asarray(coords, dtype=np.float32)[None],
            "point_labels": np.asarray(labels, dtype=np.float32)[None],
            "mask_input": (
                np.asarray(mask_input, dtype=np.float32)[None, None] if has_mask else self._no_mask
            ),
            "has_mask_input": np.array([float(has_mask)], dtype=np.float32),
            "multimask": np.array([float(multimask)], dtype=np.float32),
        }
        low_res, score = self.session.run(list(OUTPUTS), feeds)
        return low_res[0, 0], float(score[0, 0])


# ---- the image encoder -----------------------------------------------------------------------------
def export_encoder(sam) -> bytes:
    """The ONNX model of SAM's image encoder (``1 x 3 x S x S`` preprocessed input ->
    ``1 x 256 x 64 x 64`` features), as bytes."""
    encoder = sam.image_encoder.eval()
    side = encoder.img_size
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            encoder,
            (torch.zeros(1, 3, side, side),),
            buffer,
            input_names=["image"],
            output_names=["features"],
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


class OnnxSamEncoder:
    """SAM's image encoder in ONNX Runtime on the CPU (thread-safe; one serves every user).

    Why: on a 2-core machine shared with a browser and other work, eager PyTorch's OpenMP threads
    spin and the MobileSAM encoder took 4-11 s per image where ONNX Runtime (spinning off) took
    1.2-5 s, measured side by side under the same load (same features to ~1e-6). Exporting costs
    tens of seconds, so the graph is kept on disk (:meth:`cached`), keyed by the weights.
    """

    def __init__(self, model: bytes | str, threads: int = 2):
        if threads < 1:
            raise ConfigError(f"encoder threads must be >= 1, got {threads}")
        self._model = model
        self.session = _cpu_session(model, threads)
        self._background_session = None  # one thread, made on first use (see __call__)
        self._lock = threading.Lock()

    @classmethod
    def cached(cls, sam, path, threads: int = 2) -> OnnxSamEncoder:
        """The encoder graph stored at ``path`` (a name that identifies the weights), exported
        and written there first when it is not (atomically: a reader never sees half a file)."""
        from pathlib import Path

        path = Path(path)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(export_encoder(sam))
            os.replace(tmp, path)
        return cls(str(path), threads=threads)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """``1 x 3 x S x S`` float32 (``Sam.preprocess``'d) -> ``1 x 256 x 64 x 64`` float32.

        A caller whose thread runs at a lowered priority (the app's background embeddings, see
        ``pipelines.services.jobs.BACKGROUND_NICE``) is served by a one-thread session on that
        thread alone: the shared session's helper threads run at normal priority and would take
        the core a click needs.
        """
        session = self._background() if _thread_lowered() else self.session
        (features,) = session.run(
            ["features"], {"image": np.ascontiguousarray(image, dtype=np.float32)}
        )
        return features

    def _background(self):
        with self._lock:
            if self._background_session is None:
                self._background_session = _cpu_session(self._model, 1)
            return self._background_session


def _cpu_session(model: bytes | str, threads: int):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and spinning off (on a small
    machine shared with a browser, busy-waiting threads take the cores the browser needs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _thread_lowered() -> bool:
    """Whether the calling thread runs below the process's priority (Linux: nice per thread)."""
    if not hasattr(os, "getpriority"):
        return False
    try:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return mine > os.getpriority(os.PRIO_PROCESS, os.getpid())
    except OSError:
        return False
